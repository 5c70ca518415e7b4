// folio_test.cc: large folios under every design: the entire and large
// mapcounts and mm_id exclusivity of a PMD-mapped THP and a PTE-mapped
// mTHP folio through fork, COW and exit; PMD splits and moves; the
// deferred split queue; a walk per folio finding every mapping (reclaim
// of a whole folio: thp_swap_test.cc; pins and migration of a whole folio:
// folio_pin_test.cc).
// Every test ends with CheckInvariants() (the fixture's TearDown), which
// audits each folio (check/invariants.cc (10)).
#include "core/kernel_test_util.h"

namespace rmaplab {
namespace {

class FolioTest : public KernelTest {
 protected:
  static constexpr int kRW = kProtRead | kProtWrite;
  static constexpr uint64_t k2M = 2ULL << 20;

  // A 2M hugepage vma at kBase with a PMD-mapped THP written at page 0.
  void MapThp() {
    ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
    ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kHugepage), Errno::kOk);
    ASSERT_EQ(k_.WritePage(mm(), kBase, 0x5), Errno::kOk);
    ASSERT_TRUE(mm().pt.Get(kBase).pmd());
  }
  const FolioInfo& Folio(Pfn pfn) {
    Pfn head = pfn & ~((Pfn{1} << k_.page(pfn).order()) - 1);
    return k_.folios().at(head);
  }
  // The mappings a walk per folio yields for the folio of `pfn`.
  size_t FolioWalkCount(Pfn pfn) {
    Pfn head = pfn & ~((Pfn{1} << k_.page(pfn).order()) - 1);
    size_t n = 0;
    k_.RmapWalkFolio(head, [&](const Vma&, uint64_t, const Pte&) {
      n++;
      return true;
    });
    return n;
  }
};

TEST_P(FolioTest, PmdMappingCountsOnceInEntireAndLargeMapcount) {
  MapThp();
  Pfn pfn = PfnAt(1, 0);
  EXPECT_EQ(k_.page(pfn).order(), kPmdOrder);
  EXPECT_EQ(k_.folios().size(), 1u);
  EXPECT_EQ(Folio(pfn).entire_mapcount, 1);
  EXPECT_EQ(Folio(pfn).large_mapcount, 1);
  EXPECT_FALSE(Folio(pfn).maybe_mapped_shared);
  EXPECT_EQ(k_.FolioRefCount(pfn), 1);  // one reference per PMD, as Linux
  EXPECT_EQ(k_.page(pfn + 7).mapcount, 1);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_EQ(Folio(pfn).entire_mapcount, 2);
  EXPECT_EQ(Folio(pfn).large_mapcount, 2);
  EXPECT_TRUE(Folio(pfn).maybe_mapped_shared);
  EXPECT_FALSE(k_.PagemapOf(mm(), kBase).exclusive);
  EXPECT_EQ(FolioWalkCount(pfn), 2u * kPmdPages);
  k_.Exit(mm(2));
  EXPECT_FALSE(Folio(pfn).maybe_mapped_shared);
  EXPECT_TRUE(k_.PagemapOf(mm(), kBase).exclusive);
}

TEST_P(FolioTest, CowOfASharedPmdSplitsTheWritersPmdAndCopiesOnePage) {
  MapThp();
  Pfn pfn = PfnAt(1, 0);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(2), P(1), 0x7), Errno::kOk);
  EXPECT_FALSE(mm(2).pt.Get(P(0)).pmd());
  EXPECT_TRUE(mm().pt.Get(P(0)).pmd());
  EXPECT_NE(PfnAt(2, 1), pfn + 1);  // the copy
  EXPECT_EQ(PfnAt(2, 2), pfn + 2);  // the rest still shared
  Stats s = k_.Stats();
  EXPECT_EQ(s.thp_split_pmd, 1u);
  EXPECT_EQ(s.cow_copies, 1u);
  EXPECT_EQ(Folio(pfn).entire_mapcount, 1);
  EXPECT_EQ(Folio(pfn).large_mapcount, 1 + kPmdPages - 1);
  EXPECT_EQ(k_.page(pfn + 1).mapcount, 1);
  EXPECT_EQ(k_.page(pfn + 2).mapcount, 2);
  EXPECT_EQ(FolioWalkCount(pfn), kPmdPages + kPmdPages - 1u);
  uint64_t v = 0;
  ASSERT_EQ(k_.Peek(mm(), P(1), &v), Errno::kOk);
  EXPECT_EQ(v, 0u);
  ASSERT_EQ(k_.Peek(mm(2), P(1), &v), Errno::kOk);
  EXPECT_EQ(v, 0x7u);
  // The child goes: the parent's write reuses the whole PMD in place.
  k_.Exit(mm(2));
  ASSERT_EQ(k_.WritePage(mm(), P(3), 0x9), Errno::kOk);
  EXPECT_TRUE(mm().pt.Get(P(3)).write());
  EXPECT_EQ(PfnAt(1, 3), pfn + 3);
}

// A page unmapped while a PMD still maps the folio leaves it whole in
// Linux's eyes (__folio_remove_rmap: nothing is "partially mapped" while
// ENTIRELY_MAPPED): no deferred split until the last PMD goes.
//
//   parent: PMD  0123...   child: PTEs 0.23...  (1 is the child's copy)
TEST_P(FolioTest, CowUnderASharedPmdQueuesTheFolioOnlyWhenNoPmdMapsIt) {
  MapThp();
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(2), P(1), 0x7), Errno::kOk);
  EXPECT_EQ(k_.Stats().thp_deferred_split_page, 0u);
  // The parent's COW splits its PMD and copies page 2: every page of the
  // folio is still mapped (page 1 by the parent, page 2 by the child).
  ASSERT_EQ(k_.WritePage(mm(), P(2), 0x8), Errno::kOk);
  EXPECT_EQ(k_.Stats().thp_split_pmd, 2u);
  EXPECT_EQ(k_.Stats().thp_deferred_split_page, 0u);
  // The child's exit unmaps page 2 for good: now partly mapped.
  k_.Exit(mm(2));
  EXPECT_EQ(k_.Stats().thp_deferred_split_page, 1u);
}

TEST_P(FolioTest, PteMappedFolioIsReusedOnlyWhenThisMmHoldsEveryReference) {
  k_.SetThp(4, ThpMode::kAlways);  // 64K
  ASSERT_EQ(k_.Mmap(mm(), kBase, 16 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 1), Errno::kOk);
  Pfn pfn = PfnAt(1, 0);
  EXPECT_EQ(k_.page(pfn).order(), 4);
  EXPECT_EQ(Folio(pfn).large_mapcount, 16);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_TRUE(Folio(pfn).maybe_mapped_shared);
  ASSERT_EQ(k_.WritePage(mm(2), P(1), 2), Errno::kOk);  // copied
  ASSERT_EQ(k_.WritePage(mm(), P(2), 3), Errno::kOk);   // copied: shared
  EXPECT_NE(PfnAt(1, 2), pfn + 2);
  EXPECT_EQ(k_.Stats().cow_copies, 2u);
  k_.Exit(mm(2));
  EXPECT_FALSE(Folio(pfn).maybe_mapped_shared);
  ASSERT_EQ(k_.WritePage(mm(), P(5), 4), Errno::kOk);  // reused
  EXPECT_EQ(PfnAt(1, 5), pfn + 5);
  EXPECT_EQ(k_.Stats().cow_copies, 2u);
}

TEST_P(FolioTest, MprotectOfOnePageSplitsThePmdNotTheFolio) {
  MapThp();
  Pfn pfn = PfnAt(1, 0);
  ASSERT_EQ(k_.Mprotect(mm(), P(1), kPageSize, kProtRead), Errno::kOk);
  EXPECT_FALSE(mm().pt.Get(P(0)).pmd());
  EXPECT_EQ(k_.page(pfn).order(), kPmdOrder);
  EXPECT_EQ(Folio(pfn).entire_mapcount, 0);
  EXPECT_EQ(Folio(pfn).large_mapcount, kPmdPages);
  EXPECT_TRUE(k_.PagemapOf(mm(), P(1)).thp);
  EXPECT_EQ(k_.Stats().thp_split_pmd, 1u);
}

TEST_P(FolioTest, MremapToAnAlignedAddressMovesTheWholePmd) {
  MapThp();
  Pfn pfn = PfnAt(1, 0);
  uint64_t to = kBase + 8 * k2M;
  ASSERT_EQ(k_.Mremap(mm(), kBase, k2M, k2M, true, to), Errno::kOk);
  EXPECT_TRUE(mm().pt.Get(to).pmd());
  EXPECT_EQ(mm().pt.Get(to + kPageSize).pfn(), pfn + 1);
  EXPECT_EQ(Folio(pfn).entire_mapcount, 1);
  EXPECT_EQ(k_.Stats().thp_split_pmd, 0u);
  uint64_t v = 0;
  ASSERT_EQ(k_.Peek(mm(), to, &v), Errno::kOk);
  EXPECT_EQ(v, 0x5u);
  // Misaligned, the PMD splits.
  ASSERT_EQ(k_.Mremap(mm(), to, k2M, k2M, true, kBase + kPageSize), Errno::kOk);
  EXPECT_FALSE(mm().pt.Get(kBase + kPageSize).pmd());
  EXPECT_EQ(k_.Stats().thp_split_pmd, 1u);
  EXPECT_EQ(FolioWalkCount(pfn), size_t{kPmdPages});
}

TEST_P(FolioTest, PartialUnmapQueuesTheFolioAndReclaimSplitsIt) {
  MapThp();
  ASSERT_EQ(k_.Munmap(mm(), kBase + k2M / 2, k2M / 2), Errno::kOk);
  Stats s = k_.Stats();
  EXPECT_EQ(s.thp_split_pmd, 1u);
  EXPECT_EQ(s.thp_deferred_split_page, 1u);
  EXPECT_EQ(k_.resident_pages(), uint64_t{kPmdPages});  // still whole
  ASSERT_EQ(k_.WritePage(mm(), P(1), 0x6), Errno::kOk);
  k_.Reclaim(0);  // the deferred-split shrinker
  EXPECT_EQ(k_.Stats().thp_split_page, 1u);
  EXPECT_TRUE(k_.folios().empty());
  EXPECT_FALSE(k_.PagemapOf(mm(), kBase).thp);
  // The split maps zero-filled pages to the shared zero page: two written
  // pages are left of 512.
  EXPECT_EQ(k_.resident_pages(), 2u);
  EXPECT_TRUE(k_.PagemapOf(mm(), P(2)).zero);
  uint64_t v = 0;
  ASSERT_EQ(k_.Peek(mm(), P(1), &v), Errno::kOk);
  EXPECT_EQ(v, 0x6u);
}

TEST_P(FolioTest, ReclaimSwapsASharedThpWholeAndSwapInIsBy4KPages) {
  MapThp();
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  for (int i = 0; i < 4 && k_.resident_pages() > 0; ++i) k_.Reclaim(2048);
  EXPECT_EQ(k_.Stats().thp_split_page, 0u);
  EXPECT_EQ(k_.Stats().thp_swpout, 1u);  // more: thp_swap_test.cc
  EXPECT_EQ(k_.resident_pages(), 0u);
  uint64_t v = 0;
  ASSERT_EQ(k_.Peek(mm(2), kBase, &v), Errno::kOk);
  EXPECT_EQ(v, 0x5u);
  ASSERT_EQ(k_.ReadPage(mm(2), kBase), Errno::kOk);
  EXPECT_FALSE(k_.PagemapOf(mm(2), kBase).thp);  // swap-in by 4 KiB pages
}

TEST_P(FolioTest, ExitFreesEveryFolioWhole) {
  k_.SetThp(2, ThpMode::kAlways);
  MapThp();
  ASSERT_EQ(k_.Mmap(mm(), kBase + 4 * k2M, 8 * kPageSize, kRW, false),
            Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase + 4 * k2M, 1), Errno::kOk);
  EXPECT_EQ(k_.folios().size(), 2u);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  k_.Exit(mm(2));
  Pfn frames = k_.frame_count();
  ASSERT_EQ(k_.Munmap(mm(), kBase, 8 * k2M), Errno::kOk);
  EXPECT_TRUE(k_.folios().empty());
  EXPECT_EQ(k_.resident_pages(), 0u);
  // The freed blocks are reused whole.
  ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kHugepage), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase, 1), Errno::kOk);
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_EQ(k_.frame_count(), frames);  // no new frame
}

// One walk per folio: an object-based design yields one range per vma for
// a folio of consecutive indexes; a per-page design (or one whose folio
// pages differ) a one-page range per mapping.  Either way every mapping is
// found (the checker compares them after every test).
TEST_P(FolioTest, AWalkPerFolioYieldsRangesOrPages) {
  MapThp();
  Pfn pfn = PfnAt(1, 0);
  size_t ranges = 0;
  WalkCost cost;
  k_.rmap().WalkFolio(
      pfn, &k_.page(pfn), kPmdPages,
      [&](Vma&, uint64_t start, uint64_t end) {
        ranges++;
        EXPECT_LT(start, end);
        return true;
      },
      cost);
  // anon_vma_lazy: its pages name a lazy vma until the first fork.
  static const std::set<std::string> kPerPage = {"pte_chain", "anon_vma-direct",
                                                 "cow_context", "global_list",
                                                 "anon_vma_lazy"};
  EXPECT_EQ(ranges, kPerPage.count(GetParam()) ? size_t{kPmdPages} : 1u);
  EXPECT_EQ(FolioWalkCount(pfn), size_t{kPmdPages});
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(FolioTest);

}  // namespace
}  // namespace rmaplab
