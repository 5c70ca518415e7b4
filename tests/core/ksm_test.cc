// ksm_test.cc: KSM in the model (core/ksm.cc): the two-pass merge, seed
// 003's pinned-page refusal, COW of a KSM page, MADV_UNMERGEABLE, and KSM
// through fork, mremap, reclaim, swap-in and swapoff under every design
// with the checker after every op.
#include <sstream>

#include "core/kernel_test_util.h"

namespace rmaplab {
namespace {

constexpr int kRW = kProtRead | kProtWrite;

class KsmTest : public KernelTest {
 protected:
  // Processes 1 and 2 (forked before writing), each with pages 0..n-1 of
  // value v in a mergeable range:
  //
  //   * 0123
  //   1 vvvv     (pid 1's own pages)
  //   2 vvvv     (pid 2's own pages)
  void TwoProcessesSameContent(int n, uint64_t v) {
    ASSERT_EQ(k_.Mmap(mm(), P(0), n * kPageSize, kRW, false), Errno::kOk);
    ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
    for (uint32_t pid : {1u, 2u}) {
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(k_.WritePage(mm(pid), P(i), v), Errno::kOk);
      ASSERT_EQ(k_.Madvise(mm(pid), P(0), n * kPageSize, Advice::kMergeable),
                Errno::kOk);
    }
  }
  bool IsKsm(uint32_t pid, int page) {
    return k_.PagemapOf(mm(pid), P(page)).ksm;
  }
};

TEST_P(KsmTest, MergesAcrossProcessesOnTheSecondPass) {
  TwoProcessesSameContent(2, 0x5151);
  ASSERT_EQ(k_.KsmScan(100), Errno::kOk);  // pass 1: checksums only
  EXPECT_FALSE(IsKsm(1, 0));
  EXPECT_EQ(k_.resident_pages(), 4u);
  ASSERT_EQ(k_.KsmScan(100), Errno::kOk);  // pass 2: unstable tree, then merge
  Pfn kpfn = PfnAt(1, 0);
  for (uint32_t pid : {1u, 2u})
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(IsKsm(pid, i));
      EXPECT_EQ(PfnAt(pid, i), kpfn);
    }
  EXPECT_EQ(k_.resident_pages(), 1u);
  EXPECT_EQ(k_.ksm().pages_shared(), 1u);
  EXPECT_EQ(k_.ksm().pages_sharing(), 3u);
  EXPECT_EQ(k_.page(kpfn).mapcount, 4);
}

TEST_P(KsmTest, FullRunsAtLeastTwoPasses) {
  TwoProcessesSameContent(1, 7);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  EXPECT_TRUE(IsKsm(1, 0));
  EXPECT_GE(k_.ksm().full_scans(), 2u);
}

// Seed 003: a page with references beyond its mappings (a pin, O_DIRECT)
// is never write-protected for merging, and DMA through the pin still
// reaches the process.
TEST_P(KsmTest, PinnedPageIsRefused) {
  TwoProcessesSameContent(1, 0x42);
  ASSERT_EQ(k_.PinPages(mm(1), P(0), kPageSize), Errno::kOk);
  Pfn pinned = PfnAt(1, 0);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  EXPECT_EQ(PfnAt(1, 0), pinned);
  EXPECT_FALSE(IsKsm(1, 0));
  EXPECT_FALSE(IsKsm(2, 0));
  EXPECT_EQ(k_.ksm().pages_shared(), 0u);
  ASSERT_EQ(k_.DmaWrite(mm(1), P(0), kPageSize, 0x43), Errno::kOk);
  uint64_t v;
  ASSERT_EQ(k_.Peek(mm(1), P(0), &v), Errno::kOk);
  EXPECT_EQ(v, 0x43u);
  ASSERT_EQ(k_.UnpinPages(mm(1), P(0), kPageSize), Errno::kOk);
}

TEST_P(KsmTest, WriteCopiesAndTheOtherKeepsTheKsmPage) {
  TwoProcessesSameContent(1, 0x77);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  Pfn kpfn = PfnAt(1, 0);
  ASSERT_EQ(k_.WritePage(mm(2), P(0), 0x78), Errno::kOk);
  EXPECT_NE(PfnAt(2, 0), kpfn);
  EXPECT_FALSE(IsKsm(2, 0));
  EXPECT_TRUE(IsKsm(1, 0));
  EXPECT_TRUE(k_.PagemapOf(mm(1), P(0)).exclusive);  // mapcount 1, still KSM
  EXPECT_EQ(k_.stats().cow_copies, 1u);
  // The last mapper writes: still a copy, never reuse of a KSM page.
  ASSERT_EQ(k_.WritePage(mm(1), P(0), 0x79), Errno::kOk);
  EXPECT_NE(PfnAt(1, 0), kpfn);
  EXPECT_EQ(k_.page(kpfn).refcount, 0);  // freed
}

TEST_P(KsmTest, UnmergeableBreaksSharingAndSplits) {
  TwoProcessesSameContent(4, 0x61);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(1), P(2), 2 * kPageSize, Advice::kUnmergeable),
            Errno::kOk);
  //   0123
  //   AABB   A: mergeable, B: not (split)
  EXPECT_EQ(LayoutOf(1), (VmaLayout{{0, 2, 0}, {2, 4, 2}}));
  EXPECT_TRUE(IsKsm(1, 0));
  EXPECT_FALSE(IsKsm(1, 2));
  EXPECT_TRUE(k_.PagemapOf(mm(1), P(2)).exclusive);
  EXPECT_TRUE(IsKsm(2, 2));
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);  // not mergeable any more
  EXPECT_FALSE(IsKsm(1, 3));
}

TEST_P(KsmTest, SharedMappingIgnoresTheAdvice) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, true), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 1), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(1), 1), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), P(0), 2 * kPageSize, Advice::kMergeable),
            Errno::kOk);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  EXPECT_FALSE(IsKsm(1, 0));
  EXPECT_EQ(k_.ksm().full_scans(), 0u);  // no mm was registered
}

// A fork child's mapping of a KSM page is found by the KSM walk before
// the scanner gave it an rmap_item, and reclaim swaps the page out through
// that walk; swap-in brings back ordinary pages.
TEST_P(KsmTest, ForkThenReclaimThroughTheKsmWalk) {
  TwoProcessesSameContent(2, 0x33);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(2), 3), Errno::kOk);
  Pfn kpfn = PfnAt(3, 1);
  EXPECT_EQ(k_.page(kpfn).mapcount, 6);
  EXPECT_TRUE(CheckInvariants(k_).ok());
  EXPECT_EQ(k_.Reclaim(8), 1u);
  EXPECT_EQ(k_.PagemapOf(mm(3), P(0)).state, PageState::kSwapped);
  ASSERT_EQ(k_.ReadPage(mm(3), P(0)), Errno::kOk);
  ASSERT_EQ(k_.ReadPage(mm(1), P(1)), Errno::kOk);
  EXPECT_FALSE(IsKsm(3, 0));
  EXPECT_NE(PfnAt(3, 0), PfnAt(1, 1));  // ksm_might_need_to_copy()
  ASSERT_EQ(k_.Swapoff(), Errno::kOk);
  uint64_t v;
  for (uint32_t pid : {1u, 2u, 3u}) {
    ASSERT_EQ(k_.Peek(mm(pid), P(1), &v), Errno::kOk);
    EXPECT_EQ(v, 0x33u);
  }
}

// KSM mixed into the pressure workload (the generator's `ksm` profile:
// merging, COW, fork, mremap, unmergeable, reclaim, swap-in, swapoff and
// exit), under every design, with the content oracle and the invariants
// after every op.
class KsmDesignTest : public testing::TestWithParam<std::string> {};

TEST_P(KsmDesignTest, KsmForkReclaimSwapoffStayConsistent) {
  uint64_t merged = 0;
  for (unsigned seed = 1; seed <= 10; ++seed) {
    SimOptions opts;
    opts.design = GetParam();
    opts.check = true;
    opts.mem_pages = 24;
    opts.swap_pages = 4096;
    Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
    ASSERT_TRUE(sim.ok()) << sim.status().message();
    std::string text = GeneratedTrace(seed, "ksm", 200);
    Result<Trace> trace = ParseTrace(text, "ksm");
    ASSERT_TRUE(trace.ok()) << trace.status().message();
    std::ostringstream out;
    // Apply op by op to see KSM at work before the final exits.
    for (const Op& op : trace.value().ops) {
      (void)sim.value()->Apply(op, out);
      Status s = sim.value()->Check();
      ASSERT_TRUE(s.ok()) << "seed " << seed << " line " << op.line << ": "
                          << s.message() << "\n"
                          << text;
      merged = std::max(merged, sim.value()->Stats().ksm_pages_sharing);
    }
    Stats stats = sim.value()->Stats();
    EXPECT_EQ(stats.pages_resident, 0u) << "seed " << seed;
    EXPECT_EQ(stats.swap_slots_used, 0u) << "seed " << seed;
  }
  EXPECT_GT(merged, 0u) << "KSM never merged anything";
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(KsmTest);
RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(KsmDesignTest);

}  // namespace
}  // namespace rmaplab
