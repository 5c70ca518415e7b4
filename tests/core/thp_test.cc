// thp_test.cc: the THP policy (`* thp`), the vma flags MADV_HUGEPAGE and
// MADV_NOHUGEPAGE set, and which folio a fault maps under them (the
// folios themselves: folio_test.cc).  The vma layouts were confirmed on
// Linux 6.18 (tests/traces/thp-advice.trace).
#include "core/kernel_test_util.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

class ThpTest : public KernelTest {};
constexpr int kRW = kProtRead | kProtWrite;
constexpr uint64_t k2M = 2ULL << 20;
constexpr int64_t kPagesPer2M = 512;

uint32_t FlagsAt(Mm& mm, uint64_t addr) { return mm.VmaLookup(addr)->flags; }

TEST(ThpPolicy, StartsAsTheMachineDefault) {
  ThpPolicy p;
  Vma plain, advised;
  advised.flags = VM_HUGEPAGE;
  EXPECT_EQ(p.AllowedOrders(plain), 0u);
  EXPECT_EQ(p.AllowedOrders(advised), 1u << kPmdOrder);  // 2M inherits madvise
  p.Set(4, ThpMode::kAlways);
  p.Set(3, ThpMode::kInherit);  // inherits the top level: madvise
  p.Set(kPmdOrder, ThpMode::kNever);
  EXPECT_EQ(p.AllowedOrders(plain), 1u << 4);
  EXPECT_EQ(p.AllowedOrders(advised), (1u << 4) | (1u << 3));
  Vma refused;
  refused.flags = VM_NOHUGEPAGE;
  EXPECT_EQ(p.AllowedOrders(refused), 0u);
}

TEST(ThpPolicy, NamesSizesAsSysfsDoes) {
  EXPECT_EQ(ThpSizeName(2), "16K");
  EXPECT_EQ(ThpSizeName(8), "1M");
  EXPECT_EQ(ThpSizeName(kPmdOrder), "2M");
}

// 0123
// A**A   hugepage -> ABBA' (three vmas); nohugepage on one page -> ABCB';
//        hugepage again -> ABBA' merges back; hugepage on all -> one vma.
TEST_P(ThpTest, HugepageAdviceSplitsAndMergesVmas) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), P(1), 2 * kPageSize, Advice::kHugepage),
            Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 1, 0}, {1, 3, 1}, {3, 4, 3}}));
  EXPECT_TRUE(FlagsAt(mm(), P(1)) & VM_HUGEPAGE);
  EXPECT_FALSE(FlagsAt(mm(), P(0)) & (VM_HUGEPAGE | VM_NOHUGEPAGE));
  ASSERT_EQ(k_.Madvise(mm(), P(1), kPageSize, Advice::kNohugepage), Errno::kOk);
  EXPECT_EQ(LayoutOf(),
            (VmaLayout{{0, 1, 0}, {1, 2, 1}, {2, 3, 2}, {3, 4, 3}}));
  EXPECT_EQ(FlagsAt(mm(), P(1)) & (VM_HUGEPAGE | VM_NOHUGEPAGE), VM_NOHUGEPAGE);
  ASSERT_EQ(k_.Madvise(mm(), P(1), kPageSize, Advice::kHugepage), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 1, 0}, {1, 3, 1}, {3, 4, 3}}));
  ASSERT_EQ(k_.Madvise(mm(), P(0), 4 * kPageSize, Advice::kHugepage),
            Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 4, 0}}));
  // mprotect keeps the flag: the pieces still merge.
  ASSERT_EQ(k_.Mprotect(mm(), P(2), kPageSize, kProtRead), Errno::kOk);
  ASSERT_EQ(k_.Mprotect(mm(), P(2), kPageSize, kRW), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 4, 0}}));
  EXPECT_TRUE(FlagsAt(mm(), P(0)) & VM_HUGEPAGE);
}

TEST_P(ThpTest, HugepageOverAHoleAdvisesTheMappedPartThenFailsWithEnomem) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Mmap(mm(), P(2), kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(k_.Madvise(mm(), P(0), 3 * kPageSize, Advice::kHugepage),
            Errno::kENOMEM);
  EXPECT_TRUE(FlagsAt(mm(), P(0)) & VM_HUGEPAGE);
  EXPECT_TRUE(FlagsAt(mm(), P(2)) & VM_HUGEPAGE);
}

TEST_P(ThpTest, ForkCopiesTheFlag) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), P(0), kPageSize, Advice::kHugepage), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_TRUE(FlagsAt(mm(2), P(0)) & VM_HUGEPAGE);
}

// The default policy maps 4 KiB pages in a 2M-aligned region not advised.
TEST_P(ThpTest, DefaultPolicyFaultsSmallPagesOutsideHugepageRegions) {
  ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), kBase, 1), Errno::kOk);
  EXPECT_EQ(k_.ReadPage(mm(), kBase + k2M / 2), Errno::kOk);
  EXPECT_FALSE(k_.PagemapOf(mm(), kBase).thp);
}

TEST_P(ThpTest, PmdFaultInAHugepageRegionMapsATHPOrTheHugeZeroPage) {
  ASSERT_EQ(k_.Mmap(mm(), kBase, 2 * k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase, 2 * k2M, Advice::kHugepage), Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), kBase, 1), Errno::kOk);
  EXPECT_EQ(k_.resident_pages(), uint64_t{kPagesPer2M});
  PagemapEntry e = k_.PagemapOf(mm(), kBase + k2M - kPageSize);
  EXPECT_TRUE(e.thp && e.exclusive && !e.zero);
  EXPECT_EQ(k_.ReadPage(mm(), kBase + k2M), Errno::kOk);
  e = k_.PagemapOf(mm(), kBase + k2M + kPageSize);
  EXPECT_TRUE(e.thp && e.zero);
  EXPECT_EQ(k_.resident_pages(), uint64_t{kPagesPer2M});  // zero: no frame
  Stats s = k_.Stats();
  EXPECT_EQ(s.thp_fault_alloc, 1u);
  EXPECT_EQ(s.anon_fault_alloc_2048kB, 1u);
}
// A 2M block that does not fit in the vma, or whose page table exists
// already, falls back to 4 KiB (no mTHP size is enabled by default).
TEST_P(ThpTest, PmdFaultFallsBackWhereNoPmdFits) {
  ASSERT_EQ(k_.Mmap(mm(), kBase + kPageSize, k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase + kPageSize, k2M, Advice::kHugepage),
            Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), kBase + kPageSize, 1), Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), kBase + k2M, 2), Errno::kOk);
}

// MADV_DONTNEED frees the page table of each 2 MiB block it zaps whole
// (CONFIG_PT_RECLAIM), so a later fault there is a PMD fault again; a
// partial zap keeps the table, and the fault falls back to 4 KiB.
TEST_P(ThpTest, DontneedOfAWholeBlockFreesItsPageTable) {
  ASSERT_EQ(k_.Mmap(mm(), kBase, 2 * k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase, 1), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase + k2M, 1), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase, k2M + k2M / 2, Advice::kDontneed),
            Errno::kOk);
  EXPECT_EQ(mm().pt.leaf_count(), 1u);
  ASSERT_EQ(k_.Madvise(mm(), kBase, 2 * k2M, Advice::kHugepage), Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), kBase + k2M + kPageSize, 2), Errno::kOk);
  EXPECT_FALSE(k_.PagemapOf(mm(), kBase + k2M + kPageSize).thp);
  EXPECT_EQ(k_.WritePage(mm(), kBase + kPageSize, 2), Errno::kOk);
  EXPECT_TRUE(k_.PagemapOf(mm(), kBase + kPageSize).thp);
}

// alloc_anon_folio(): the largest enabled order whose aligned block lies in
// the vma with no PTE; a block with one falls back to 4 KiB.
TEST_P(ThpTest, MthpWriteFaultTakesTheBlockUnlessItHasAPte) {
  k_.SetThp(4, ThpMode::kAlways);  // 64K
  ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.ReadPage(mm(), P(0)), Errno::kOk);      // the 4 KiB zero page
  EXPECT_EQ(k_.WritePage(mm(), P(1), 1), Errno::kOk);  // block 0 has a PTE
  EXPECT_FALSE(k_.PagemapOf(mm(), P(1)).thp);
  EXPECT_EQ(k_.WritePage(mm(), P(17), 1), Errno::kOk);
  for (int i = 16; i < 32; ++i) EXPECT_TRUE(k_.PagemapOf(mm(), P(i)).thp) << i;
  EXPECT_EQ(k_.Stats().anon_fault_alloc_64kB, 1u);
  ASSERT_EQ(k_.Madvise(mm(), P(32), 16 * kPageSize, Advice::kNohugepage),
            Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), P(32), 1), Errno::kOk);
  EXPECT_FALSE(k_.PagemapOf(mm(), P(32)).thp);
  k_.SetThp(4, ThpMode::kNever);
  EXPECT_EQ(k_.WritePage(mm(), P(kPagesPer2M - 16), 1), Errno::kOk);
  EXPECT_FALSE(k_.PagemapOf(mm(), P(kPagesPer2M - 16)).thp);
}

TEST_P(ThpTest, SharedMappingsIgnoreTheAnonPolicy) {
  k_.SetThp(4, ThpMode::kAlways);
  ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, true), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kHugepage), Errno::kOk);
  EXPECT_EQ(k_.WritePage(mm(), kBase, 1), Errno::kOk);
}

// MADV_COLLAPSE (tests/traces/thp-collapse*.trace for the native runs):
// a touched block becomes a new PMD-mapped THP with the old contents and
// zero-filled holes, counted as thp_collapse_alloc; an untouched block is
// EINVAL, but the blocks before and after it still collapse.
TEST_P(ThpTest, CollapseCopiesABlockIntoANewThpAndSkipsAnUntouchedOne) {
  ASSERT_EQ(k_.Mmap(mm(), kBase, 3 * k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase, 7), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase + 2 * k2M + kPageSize, 9), Errno::kOk);
  EXPECT_EQ(k_.Madvise(mm(), kBase, 3 * k2M, Advice::kCollapse),
            Errno::kEINVAL);
  PagemapEntry e = k_.PagemapOf(mm(), kBase);
  EXPECT_TRUE(e.thp && e.exclusive);
  EXPECT_EQ(e.value, 7u);
  e = k_.PagemapOf(mm(), kBase + 2 * k2M + kPageSize);
  EXPECT_TRUE(e.thp);
  EXPECT_EQ(e.value, 9u);
  e = k_.PagemapOf(mm(), kBase + 2 * k2M + 2 * kPageSize);
  EXPECT_TRUE(e.thp && !e.zero);
  EXPECT_EQ(e.value, 0u);
  EXPECT_EQ(k_.PagemapOf(mm(), kBase + k2M).state, PageState::kNone);
  EXPECT_EQ(k_.resident_pages(), uint64_t{2 * kPagesPer2M});
  Stats s = k_.Stats();
  EXPECT_EQ(s.thp_collapse_alloc, 2u);
  EXPECT_EQ(s.thp_fault_alloc, 0u);
  // Already PMD-mapped: nothing to do; no whole block: 0, as Linux 6.18.
  EXPECT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kCollapse), Errno::kOk);
  EXPECT_EQ(k_.Madvise(mm(), kBase + k2M, k2M / 2, Advice::kCollapse),
            Errno::kOk);
  EXPECT_EQ(k_.Stats().thp_collapse_alloc, 2u);
}

TEST_P(ThpTest, CollapseOfASharedMappingIsEnosys) {
  ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, true), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase, 1), Errno::kOk);
  EXPECT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kCollapse), Errno::kENOSYS);
  EXPECT_NE(k_.last_message().find("shmem"), std::string::npos);
}

// Short of memory, MADV_COLLAPSE allocates the THP before it lets the old
// pages go (alloc_charge_folio): ENOMEM, and the block reads as before
// (the bug model_soak_thp found: docs/verification.md).
TEST_P(ThpTest, CollapseShortOfMemoryFailsAndKeepsEveryPage) {
  SimOptions opts;
  opts.design = GetParam();
  opts.check = true;
  opts.mem_pages = 32;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  ASSERT_TRUE(sim.ok()) << sim.status().message();
  Result<Trace> t = ParseTrace(
      "1 mmap 0x100000000 4M rw\n"
      "1 write 0x100001000 12K =0x5\n"
      "1 madvise 0x100000000 2M collapse\n"
      "1 expect 0x100001000 12K =0x5\n",
      "collapse-enomem");
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::ostringstream out;
  ReplayOptions keep_going;
  keep_going.keep_going = true;  // on to the expect after the ENOMEM
  ReplayResult r = Replay(t.value(), *sim.value(), out, keep_going);
  EXPECT_TRUE(r.check.ok()) << r.check.message();
  EXPECT_EQ(r.ops_failed, 1) << out.str();
  EXPECT_NE(out.str().find("line=3 op=madvise errno=ENOMEM"), std::string::npos)
      << out.str();
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(ThpTest);

}  // namespace
}  // namespace rmaplab
