// thp_swap_test.cc: reclaim swapping a large folio out whole (THP_SWAP, as
// Linux 6.18's shrink_folio_list, folio_alloc_swap and try_to_unmap do),
// under every design: one reverse-map walk per folio, 2^order contiguous
// swap slots, the split fallback when the swap area has no such range,
// MADV_PAGEOUT of whole and partial folios, swap-in by 4 KiB pages, and of
// a whole mTHP where Linux does it on zram.
// Every test ends with CheckInvariants() (the fixture's TearDown), which
// also asserts that no large folio stays in the swap cache.
#include "core/design_kernel_test_util.h"

namespace rmaplab {
namespace {

class ThpSwapTest : public DesignKernelTest {
 protected:
  static constexpr int kRW = kProtRead | kProtWrite;
  static constexpr uint64_t k2M = 2ULL << 20;
  static constexpr int kThpPages = 512;

  // Value written to page i.
  static uint64_t V(int64_t i) { return 0x1000 + i; }

  // Boots with `swap_pages` slots and maps a 2M hugepage vma at kBase
  // whose PMD-mapped THP has page i holding V(i).
  void BootWithThp(uint64_t swap_pages = 1ULL << 20) {
    SimOptions opts;
    opts.swap_pages = swap_pages;
    Boot(opts);
    ASSERT_EQ(k_->Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
    ASSERT_EQ(k_->Madvise(mm(), kBase, k2M, Advice::kHugepage), Errno::kOk);
    for (int i = 0; i < kThpPages; ++i)
      ASSERT_EQ(k_->WritePage(mm(), P(i), V(i)), Errno::kOk);
    ASSERT_TRUE(mm().pt.Get(kBase).pmd());
  }
  // Reclaim until nothing is resident (a mapped folio is young from its
  // fault: the first look keeps it).
  void ReclaimAll() {
    for (int i = 0; i < 4 && k_->resident_pages() > 0; ++i)
      k_->Reclaim(kThpPages);
    ASSERT_EQ(k_->resident_pages(), 0u);
  }
  int Swapped(uint32_t pid, int64_t from, int64_t n) {
    int swapped = 0;
    for (int64_t i = from; i < from + n; ++i)
      swapped += k_->PagemapOf(mm(pid), P(i)).state == PageState::kSwapped;
    return swapped;
  }
  // Reads every page back by a fault and checks its value.
  void ReadBackAll(uint32_t pid) {
    for (int i = 0; i < kThpPages; ++i) {
      ASSERT_EQ(k_->ReadPage(mm(pid), P(i)), Errno::kOk);
      PagemapEntry e = k_->PagemapOf(mm(pid), P(i));
      ASSERT_EQ(e.state, PageState::kPresent) << "page " << i;
      EXPECT_FALSE(e.thp) << "page " << i;  // swap-in by 4 KiB pages
      EXPECT_EQ(e.value, V(i)) << "page " << i;
    }
  }
};

TEST_P(ThpSwapTest, ReclaimSwapsAThpOutWholeWithOneWalkPerLook) {
  BootWithThp();
  k_->Reclaim(kThpPages);  // looks twice: young, then reclaimed
  Stats s = k_->Stats();
  EXPECT_EQ(k_->resident_pages(), 0u);
  EXPECT_EQ(s.thp_swpout, 1u);
  EXPECT_EQ(s.thp_swpout_fallback, 0u);
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(s.thp_split_pmd, 1u);  // TTU_SPLIT_HUGE_PMD
  EXPECT_EQ(s.pswpout, uint64_t{kThpPages});
  EXPECT_EQ(s.pgsteal, uint64_t{kThpPages});
  // folio_referenced twice (young, then old) and try_to_unmap once: three
  // walks for 512 pages, where 4 KiB pages take at least one each.
  EXPECT_EQ(s.reclaim_rmap_walks, 3u);
  EXPECT_EQ(s.swap_slots_used, uint64_t{kThpPages});
  EXPECT_EQ(Swapped(1, 0, kThpPages), kThpPages);
  ReadBackAll(1);
  EXPECT_EQ(k_->Stats().pswpin, uint64_t{kThpPages});
  EXPECT_EQ(k_->Stats().swap_slots_used, 0u);
}

TEST_P(ThpSwapTest, NoAlignedSlotRangeSplitsTheThpAndSwapsItsPages) {
  // 768 slots: once slot 0 holds a 4 KiB page, no 512 aligned free slots
  // are left (the first cluster has one in use, the second is cut short).
  BootWithThp(768);
  ASSERT_EQ(k_->Mmap(mm(), P(2048), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(2048), 0x77), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), P(2048), kPageSize, Advice::kPageout),
            Errno::kOk);
  ASSERT_EQ(k_->Stats().swap_slots_used, 1u);
  ReclaimAll();
  Stats s = k_->Stats();
  EXPECT_EQ(s.thp_swpout, 0u);
  EXPECT_EQ(s.thp_swpout_fallback, 1u);
  EXPECT_EQ(s.thp_split_page, 1u);
  EXPECT_EQ(s.pswpout, 1u + kThpPages);
  EXPECT_EQ(Swapped(1, 0, kThpPages), kThpPages);
  ReadBackAll(1);
  uint64_t v = 0;
  ASSERT_EQ(k_->Peek(mm(), P(2048), &v), Errno::kOk);
  EXPECT_EQ(v, 0x77u);
}

TEST_P(ThpSwapTest, NoSwapAtAllSplitsTheThpAndKeepsEveryPage) {
  BootWithThp(0);
  k_->Reclaim(kThpPages);
  k_->Reclaim(kThpPages);
  Stats s = k_->Stats();
  EXPECT_EQ(s.thp_swpout, 0u);
  EXPECT_EQ(s.thp_swpout_fallback, 1u);
  EXPECT_EQ(s.pswpout, 0u);
  EXPECT_EQ(k_->resident_pages(), uint64_t{kThpPages});
  ReadBackAll(1);
}

TEST_P(ThpSwapTest, ASharedThpGoesWholeAndOneWalkFindsBothMms) {
  BootWithThp();
  ASSERT_EQ(k_->Fork(mm(), 2), Errno::kOk);
  k_->Reclaim(kThpPages);
  Stats s = k_->Stats();
  EXPECT_EQ(k_->resident_pages(), 0u);
  EXPECT_EQ(s.thp_swpout, 1u);
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(s.thp_split_pmd, 2u);  // each mm's PMD
  EXPECT_EQ(s.pswpout, uint64_t{kThpPages});
  EXPECT_EQ(s.reclaim_rmap_walks, 3u);
  EXPECT_EQ(s.swap_slots_used, uint64_t{kThpPages});  // one slot, two PTEs
  EXPECT_EQ(Swapped(1, 0, kThpPages), kThpPages);
  EXPECT_EQ(Swapped(2, 0, kThpPages), kThpPages);
  // The child writes one page; both read every page back.
  ASSERT_EQ(k_->WritePage(mm(2), P(3), 0x99), Errno::kOk);
  uint64_t v = 0;
  ASSERT_EQ(k_->Peek(mm(2), P(3), &v), Errno::kOk);
  EXPECT_EQ(v, 0x99u);
  ReadBackAll(1);
}

TEST_P(ThpSwapTest, PageoutOfAWholeThpSwapsItWholeWithoutLookingAtYoung) {
  BootWithThp();
  ASSERT_EQ(k_->Madvise(mm(), kBase, k2M, Advice::kPageout), Errno::kOk);
  Stats s = k_->Stats();
  EXPECT_EQ(s.thp_swpout, 1u);
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(s.reclaim_rmap_walks, 1u);  // try_to_unmap only
  EXPECT_EQ(Swapped(1, 0, kThpPages), kThpPages);
  ReadBackAll(1);
}

TEST_P(ThpSwapTest, PageoutOfPartOfAThpSplitsIt) {
  BootWithThp();
  ASSERT_EQ(k_->Madvise(mm(), kBase, 2 * kPageSize, Advice::kPageout),
            Errno::kOk);
  Stats s = k_->Stats();
  EXPECT_EQ(s.thp_swpout, 0u);
  EXPECT_EQ(s.thp_split_page, 1u);
  EXPECT_EQ(s.pswpout, 2u);
  EXPECT_EQ(Swapped(1, 0, kThpPages), 2);
  EXPECT_TRUE(k_->folios().empty());
  ReadBackAll(1);
}

TEST_P(ThpSwapTest, PageoutSkipsAThpAnotherMmMaps) {
  BootWithThp();
  ASSERT_EQ(k_->Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), kBase, k2M, Advice::kPageout), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), kBase, 2 * kPageSize, Advice::kPageout),
            Errno::kOk);
  Stats s = k_->Stats();
  EXPECT_EQ(s.pswpout, 0u);
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_TRUE(k_->PagemapOf(mm(), kBase).thp);
}

TEST_P(ThpSwapTest, PageoutOfAWholeMthpSwapsItWholeAndPartOfOneSplitsIt) {
  Boot(SimOptions{});
  k_->SetThp(4, ThpMode::kAlways);  // 64K
  ASSERT_EQ(k_->Mmap(mm(), kBase, 128 * 1024, kRW, false), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(0), 0x1), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(16), 0x2), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(17), 0x3), Errno::kOk);
  ASSERT_EQ(k_->page(PfnAt(1, 0)).order(), 4);
  ASSERT_EQ(k_->Madvise(mm(), kBase, 16 * kPageSize, Advice::kPageout),
            Errno::kOk);
  Stats s = k_->Stats();
  EXPECT_EQ(s.pswpout, 16u);    // whole, zero-filled pages too
  EXPECT_EQ(s.thp_swpout, 0u);  // only PMD-sized folios count there
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(Swapped(1, 0, 16), 16);
  // Half of the second one: split, its zero-filled pages become the zero
  // page, the written one in range goes.
  ASSERT_EQ(k_->Madvise(mm(), P(16), 8 * kPageSize, Advice::kPageout),
            Errno::kOk);
  EXPECT_EQ(k_->Stats().pswpout, 18u);
  EXPECT_EQ(Swapped(1, 16, 16), 2);
  EXPECT_TRUE(k_->PagemapOf(mm(), P(18)).zero);
  uint64_t v = 0;
  ASSERT_EQ(k_->ReadPage(mm(), P(17)), Errno::kOk);
  ASSERT_EQ(k_->Peek(mm(), P(17), &v), Errno::kOk);
  EXPECT_EQ(v, 0x3u);
}

// alloc_swap_folio() on zram: a fault on an entry only this mm holds brings
// the whole mTHP back when the block is all swap entries of consecutive
// slots; a shared entry, or a size no longer enabled, comes in by 4 KiB.
TEST_P(ThpSwapTest, MthpSwapInBringsTheWholeFolioBackWhereLinuxDoes) {
  Boot(SimOptions{});
  k_->SetThp(4, ThpMode::kAlways);  // 64K
  ASSERT_EQ(k_->Mmap(mm(), kBase, 128 * 1024, kRW, false), Errno::kOk);
  for (int i = 0; i < 32; ++i)
    ASSERT_EQ(k_->WritePage(mm(), P(i), V(i)), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), kBase, 32 * kPageSize, Advice::kPageout),
            Errno::kOk);
  ASSERT_EQ(Swapped(1, 0, 32), 32);
  ASSERT_EQ(k_->ReadPage(mm(), P(5)), Errno::kOk);
  EXPECT_EQ(k_->Stats().pswpin, 16u);
  EXPECT_EQ(k_->page(PfnAt(1, 0)).order(), 4);
  for (int i = 0; i < 16; ++i) {
    PagemapEntry e = k_->PagemapOf(mm(), P(i));
    EXPECT_TRUE(e.thp && e.exclusive) << "page " << i;
    EXPECT_EQ(e.value, V(i)) << "page " << i;
  }
  EXPECT_EQ(Swapped(1, 16, 16), 16);
  // Shared with a child: the entry has two references, 4 KiB through the
  // swap cache.
  ASSERT_EQ(k_->Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_->ReadPage(mm(2), P(16)), Errno::kOk);
  EXPECT_EQ(k_->Stats().pswpin, 17u);
  EXPECT_FALSE(k_->PagemapOf(mm(2), P(16)).thp);
  k_->Exit(mm(2));
  // 64K disabled: 4 KiB again.
  k_->SetThp(4, ThpMode::kNever);
  ASSERT_EQ(k_->ReadPage(mm(), P(17)), Errno::kOk);
  EXPECT_EQ(k_->Stats().pswpin, 18u);
  EXPECT_FALSE(k_->PagemapOf(mm(), P(17)).thp);
  uint64_t v = 0;
  ASSERT_EQ(k_->Peek(mm(), P(17), &v), Errno::kOk);
  EXPECT_EQ(v, V(17));
}

TEST_P(ThpSwapTest, ColdKeepsAThpWholeAndDeactivatesIt) {
  BootWithThp();
  ASSERT_EQ(k_->Madvise(mm(), kBase, k2M, Advice::kCold), Errno::kOk);
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_EQ(k_->Stats().thp_split_page, 0u);
  // Old now: the first look reclaims it.
  k_->Reclaim(kThpPages);
  EXPECT_EQ(k_->Stats().thp_swpout, 1u);
  EXPECT_EQ(k_->Stats().reclaim_rmap_walks, 2u);
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(ThpSwapTest);

}  // namespace
}  // namespace rmaplab
