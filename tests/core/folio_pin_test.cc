// folio_pin_test.cc: pins and migration of a large folio without splitting
// it, under every design (core/fork.cc, core/migrate.cc, huge_memory.cc's
// split refusal), as Linux 6.18 does: a pin counts in the folio's
// _pincount; fork copies the exclusive pages of a maybe-pinned folio for
// the child after splitting the parent's PMD (copy_huge_pmd -EAGAIN,
// copy_present_page); reclaim, MADV_PAGEOUT, KSM and the deferred-split
// shrinker leave a pinned folio whole, MADV_COLLAPSE skips a block with a
// pinned page; migration moves a folio whole (a
// PMD mapping stays one), splits it only when no folio of its order is
// free, and fails a pinned one with EBUSY after the others moved.  Every
// test ends with CheckInvariants(), which audits each folio's pincount.
#include "core/design_kernel_test_util.h"
#include "core/kernel_test_util.h"

namespace rmaplab {
namespace {

constexpr int kRW = kProtRead | kProtWrite;
constexpr uint64_t k2M = 2ULL << 20;
constexpr uint64_t kThpPages = kPmdPages;

class FolioPinTest : public KernelTest {
 protected:
  // A 2M hugepage vma at kBase with a PMD-mapped THP: page 0 holds 0x5,
  // page 3 0x7.
  void MapThp() {
    ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
    ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kHugepage), Errno::kOk);
    ASSERT_EQ(k_.WritePage(mm(), P(0), 0x5), Errno::kOk);
    ASSERT_EQ(k_.WritePage(mm(), P(3), 0x7), Errno::kOk);
    ASSERT_TRUE(mm().pt.Get(kBase).pmd());
  }
  Pfn Head(uint32_t pid, int64_t page) {
    Pfn pfn = PfnAt(pid, page);
    return pfn & ~((Pfn{1} << k_.page(pfn).order()) - 1);
  }
  const FolioInfo& Folio(uint32_t pid, int64_t page) {
    return k_.folios().at(Head(pid, page));
  }
  uint64_t Value(uint32_t pid, int64_t page) {
    uint64_t v = 0;
    EXPECT_EQ(k_.Peek(mm(pid), P(page), &v), Errno::kOk);
    return v;
  }
};

TEST_P(FolioPinTest, PinningAThpKeepsItWhole) {
  MapThp();
  ASSERT_EQ(k_.PinPages(mm(), P(2), 2 * kPageSize), Errno::kOk);
  EXPECT_EQ(k_.folios().size(), 1u);
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_TRUE(k_.PagemapOf(mm(), P(2)).thp);
  EXPECT_EQ(Folio(1, 2).pincount, 2);
  EXPECT_TRUE(k_.FolioMaybeDmaPinned(PfnAt(1, 100)));
  // One reference per pinned page, not GUP_PIN_COUNTING_BIAS.
  EXPECT_EQ(k_.page(PfnAt(1, 2)).refcount, 2);
  EXPECT_EQ(k_.FolioRefCount(Head(1, 0)), 3);
  Stats s = k_.Stats();
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(s.thp_split_pmd, 0u);
  ASSERT_EQ(k_.UnpinPages(mm(), P(2), 2 * kPageSize), Errno::kOk);
  EXPECT_EQ(Folio(1, 2).pincount, 0);
  EXPECT_FALSE(k_.FolioMaybeDmaPinned(PfnAt(1, 2)));
}

// FOLL_WRITE breaks COW first: a shared PMD splits and one page is copied;
// the shared folio stays unpinned.
TEST_P(FolioPinTest, PinOfASharedPmdCopiesOnePageFirst) {
  MapThp();
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  Pfn shared = PfnAt(1, 3);
  ASSERT_EQ(k_.PinPages(mm(), P(3), kPageSize), Errno::kOk);
  EXPECT_NE(PfnAt(1, 3), shared);
  EXPECT_FALSE(k_.page(PfnAt(1, 3)).large());
  EXPECT_EQ(k_.Stats().thp_split_pmd, 1u);
  EXPECT_EQ(k_.Stats().cow_copies, 1u);
  EXPECT_EQ(Folio(2, 3).pincount, 0);
  EXPECT_TRUE(mm(2).pt.Get(kBase).pmd());
  EXPECT_EQ(Value(1, 3), 0x7u);
}

// copy_huge_pmd() refuses to share a maybe-pinned exclusive THP: the
// parent's PMD splits, every exclusive page is copied for the child, the
// parent keeps its (PTE-mapped) folio and the pin.
TEST_P(FolioPinTest, ForkWithAPinnedThpCopiesItsExclusivePages) {
  MapThp();
  ASSERT_EQ(k_.PinPages(mm(), P(2), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  Stats s = k_.Stats();
  EXPECT_EQ(s.thp_split_pmd, 1u);
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(s.fork_copies, kThpPages);
  EXPECT_FALSE(mm().pt.Get(kBase).pmd());
  EXPECT_TRUE(k_.PagemapOf(mm(), P(2)).thp);
  EXPECT_TRUE(k_.PagemapOf(mm(), P(2)).exclusive);
  EXPECT_EQ(Folio(1, 0).pincount, 1);
  for (int64_t i : {0, 2, 3, 511}) {
    EXPECT_NE(PfnAt(2, i), PfnAt(1, i)) << i;
    EXPECT_FALSE(k_.PagemapOf(mm(2), P(i)).thp) << i;
  }
  EXPECT_EQ(k_.resident_pages(), 2 * kThpPages);
  // The device writes through the pin: the parent sees it, the child
  // keeps what the page held at fork.
  ASSERT_EQ(k_.DmaWrite(mm(), P(2), kPageSize, 0x42), Errno::kOk);
  EXPECT_EQ(Value(1, 2), 0x42u);
  EXPECT_EQ(Value(2, 2), 0x0u);
  EXPECT_EQ(Value(2, 0), 0x5u);
  EXPECT_EQ(Value(2, 3), 0x7u);
  // The parent's pages stayed exclusive: its write reuses them.
  ASSERT_EQ(k_.WritePage(mm(), P(3), 0x8), Errno::kOk);
  EXPECT_EQ(k_.Stats().cow_copies, 0u);
  EXPECT_EQ(Value(2, 3), 0x7u);
  ASSERT_EQ(k_.UnpinPages(mm(), P(2), kPageSize), Errno::kOk);
}

TEST_P(FolioPinTest, ForkWithAPinnedMthpCopiesItsExclusivePages) {
  k_.SetThp(4, ThpMode::kAlways);  // 64K
  ASSERT_EQ(k_.Mmap(mm(), kBase, 16 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(1), 0x9), Errno::kOk);
  ASSERT_EQ(k_.page(PfnAt(1, 1)).order(), 4);
  ASSERT_EQ(k_.PinPages(mm(), P(5), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_EQ(k_.Stats().fork_copies, 16u);
  EXPECT_EQ(k_.page(PfnAt(1, 1)).order(), 4);
  EXPECT_NE(PfnAt(2, 1), PfnAt(1, 1));
  EXPECT_EQ(Value(2, 1), 0x9u);
  ASSERT_EQ(k_.DmaWrite(mm(), P(5), kPageSize, 0x43), Errno::kOk);
  EXPECT_EQ(Value(1, 5), 0x43u);
  EXPECT_EQ(Value(2, 5), 0x0u);
}

// MMF_HAS_PINNED stays, but an unpinned folio is shared again.
TEST_P(FolioPinTest, ForkAfterUnpinSharesThePmd) {
  MapThp();
  ASSERT_EQ(k_.PinPages(mm(), P(2), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.UnpinPages(mm(), P(2), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_EQ(k_.Stats().thp_split_pmd, 0u);
  EXPECT_EQ(PfnAt(2, 2), PfnAt(1, 2));
  EXPECT_TRUE(mm(2).pt.Get(kBase).pmd());
}

// Reclaim cannot split (or swap) a pinned THP; it goes on reclaiming
// other pages, and once unpinned the THP goes to swap too.
TEST_P(FolioPinTest, ReclaimLeavesAPinnedThpAloneUntilUnpinned) {
  MapThp();
  ASSERT_EQ(k_.Mmap(mm(), kBase + 2 * k2M, 4 * kPageSize, kRW, false),
            Errno::kOk);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(k_.WritePage(mm(), kBase + 2 * k2M + i * kPageSize, 0x10 + i),
              Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  for (int i = 0; i < 4; ++i) k_.Reclaim(4096);
  EXPECT_EQ(k_.resident_pages(), kThpPages);  // the small pages went
  EXPECT_EQ(k_.folios().size(), 1u);
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_EQ(k_.Stats().thp_split_page, 0u);
  ASSERT_EQ(k_.DmaWrite(mm(), P(1), kPageSize, 0x44), Errno::kOk);
  EXPECT_EQ(Value(1, 1), 0x44u);
  ASSERT_EQ(k_.UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
  for (int i = 0; i < 4 && k_.resident_pages() > 0; ++i) k_.Reclaim(4096);
  EXPECT_EQ(k_.resident_pages(), 0u);
  EXPECT_EQ(Value(1, 0), 0x5u);
  EXPECT_EQ(Value(1, 1), 0x44u);
  uint64_t v = 0;
  ASSERT_EQ(k_.Peek(mm(), kBase + 2 * k2M + 3 * kPageSize, &v), Errno::kOk);
  EXPECT_EQ(v, 0x13u);
}

TEST_P(FolioPinTest, PageoutLeavesAPinnedThpAlone) {
  MapThp();
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kPageout), Errno::kOk);
  EXPECT_EQ(k_.resident_pages(), kThpPages);
  EXPECT_EQ(k_.Stats().pswpout, 0u);
  EXPECT_TRUE(k_.PagemapOf(mm(), P(0)).thp);
  EXPECT_EQ(Value(1, 0), 0x5u);
}

// KSM's split_huge_page() fails on a pinned folio, so none of its pages
// merges; once unpinned, KSM splits it and merges.
TEST_P(FolioPinTest, KsmLeavesAPinnedThpAloneUntilUnpinned) {
  MapThp();
  ASSERT_EQ(k_.WritePage(mm(), P(4), 0x5), Errno::kOk);  // twin of page 0
  ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kMergeable), Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  EXPECT_EQ(k_.Stats().thp_split_page, 0u);
  EXPECT_EQ(k_.Stats().ksm_pages_sharing, 0u);
  EXPECT_TRUE(k_.PagemapOf(mm(), P(0)).thp);
  ASSERT_EQ(k_.UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.KsmFull(), Errno::kOk);
  EXPECT_EQ(k_.Stats().thp_split_page, 1u);
  EXPECT_GT(k_.Stats().ksm_pages_sharing, 0u);
  EXPECT_EQ(Value(1, 0), 0x5u);
  EXPECT_EQ(Value(1, 4), 0x5u);
}

// The deferred-split shrinker skips a pinned, partly mapped folio.
TEST_P(FolioPinTest, DeferredSplitKeepsAPinnedFolioQueued) {
  MapThp();
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.Munmap(mm(), kBase + k2M / 2, k2M / 2), Errno::kOk);
  ASSERT_TRUE(Folio(1, 0).partially_mapped);
  k_.Reclaim(0);
  EXPECT_EQ(k_.Stats().thp_split_page, 0u);
  EXPECT_EQ(k_.folios().size(), 1u);
  ASSERT_EQ(k_.UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
  k_.Reclaim(0);
  EXPECT_EQ(k_.Stats().thp_split_page, 1u);
  EXPECT_EQ(Value(1, 3), 0x7u);
}

// A THP migrates whole: the same order on the target node, PMD-mapped in
// both processes, one walk of the folio (and one of the new folio).
TEST_P(FolioPinTest, MigratingAThpKeepsItWholeAndPmdMapped) {
  MapThp();
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  Pfn old = Head(1, 0);
  ASSERT_EQ(k_.MigratePages(mm(), kBase, k2M, 1), Errno::kOk);
  Pfn head = Head(1, 0);
  EXPECT_NE(head, old);
  EXPECT_EQ(k_.page(head).order(), kPmdOrder);
  EXPECT_EQ(k_.page(PfnAt(1, 511)).node(), 1);
  EXPECT_EQ(PfnAt(2, 7), PfnAt(1, 7));
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_TRUE(mm(2).pt.Get(kBase).pmd());
  EXPECT_EQ(Folio(1, 0).entire_mapcount, 2);
  EXPECT_TRUE(k_.PagemapOf(mm(2), P(9)).thp);
  EXPECT_EQ(k_.folios().size(), 1u);  // the old folio is free
  EXPECT_EQ(k_.resident_pages(), kThpPages);
  Stats s = k_.Stats();
  EXPECT_EQ(s.pgmigrate_success, kThpPages);
  EXPECT_EQ(s.migrate_rmap_walks, 2u);  // try_to_migrate + remove_migration
  EXPECT_EQ(s.thp_split_page, 0u);
  EXPECT_EQ(s.thp_split_pmd, 0u);
  EXPECT_EQ(Value(2, 0), 0x5u);
  EXPECT_EQ(Value(1, 3), 0x7u);
  // Still shared COW after the move.
  ASSERT_EQ(k_.WritePage(mm(2), P(3), 0x8), Errno::kOk);
  EXPECT_EQ(Value(1, 3), 0x7u);
}

TEST_P(FolioPinTest, MigratingAPteMappedMthpKeepsItsOrder) {
  k_.SetThp(4, ThpMode::kAlways);  // 64K
  ASSERT_EQ(k_.Mmap(mm(), kBase, 16 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(2), 0x9), Errno::kOk);
  ASSERT_EQ(k_.Munmap(mm(), P(15), kPageSize), Errno::kOk);  // partly mapped
  Pfn old = Head(1, 0);
  ASSERT_EQ(k_.MigratePages(mm(), P(4), kPageSize, 1), Errno::kOk);
  EXPECT_NE(Head(1, 0), old);
  EXPECT_EQ(k_.page(PfnAt(1, 14)).order(), 4);
  EXPECT_EQ(k_.page(PfnAt(1, 0)).node(), 1);
  EXPECT_EQ(PfnAt(1, 14), Head(1, 0) + 14);
  EXPECT_FALSE(mm().pt.Get(P(0)).pmd());
  EXPECT_TRUE(Folio(1, 0).partially_mapped);
  EXPECT_EQ(k_.Stats().pgmigrate_success, 16u);
  EXPECT_EQ(Value(1, 2), 0x9u);
}

// A pinned THP cannot move: EBUSY after the small pages beside it moved;
// its 512 addresses try it once; DMA through the pin still lands.
TEST_P(FolioPinTest, MigratingAPinnedThpFailsWithEbusyAfterTheOthersMoved) {
  MapThp();
  ASSERT_EQ(k_.Mmap(mm(), kBase + k2M, 2 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), kBase + k2M, 0x11), Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  Pfn head = Head(1, 0);
  EXPECT_EQ(k_.MigratePages(mm(), kBase, k2M + 2 * kPageSize, 1),
            Errno::kEBUSY);
  EXPECT_EQ(Head(1, 0), head);
  EXPECT_EQ(k_.page(head).node(), 0);
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_EQ(k_.page(mm().pt.Get(kBase + k2M).pfn()).node(), 1);
  Stats s = k_.Stats();
  EXPECT_EQ(s.pgmigrate_fail, kThpPages);
  EXPECT_EQ(s.pgmigrate_success, 1u);
  EXPECT_EQ(s.thp_split_page, 0u);
  ASSERT_EQ(k_.DmaWrite(mm(), P(1), kPageSize, 0x45), Errno::kOk);
  EXPECT_EQ(Value(1, 1), 0x45u);
  EXPECT_EQ(Value(1, 0), 0x5u);
  ASSERT_EQ(k_.UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.MigratePages(mm(), kBase, k2M, 1), Errno::kOk);
  EXPECT_EQ(k_.page(PfnAt(1, 1)).node(), 1);
  EXPECT_EQ(Value(1, 1), 0x45u);
}

// MADV_COLLAPSE leaves a block holding a pinned page (SCAN_PAGE_COUNT:
// EAGAIN), so the device's write still lands in the page mapped there.
TEST_P(FolioPinTest, CollapseSkipsABlockWithAPinnedPage) {
  ASSERT_EQ(k_.Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 0x1), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(1), 0x2), Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  Pfn pinned = PfnAt(1, 1);
  EXPECT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kCollapse), Errno::kEAGAIN);
  EXPECT_EQ(PfnAt(1, 1), pinned);
  EXPECT_EQ(k_.Stats().thp_collapse_alloc, 0u);
  ASSERT_EQ(k_.DmaWrite(mm(), P(1), kPageSize, 0x46), Errno::kOk);
  EXPECT_EQ(Value(1, 1), 0x46u);
  ASSERT_EQ(k_.UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_EQ(k_.Madvise(mm(), kBase, k2M, Advice::kCollapse), Errno::kOk);
  EXPECT_TRUE(mm().pt.Get(kBase).pmd());
  EXPECT_EQ(Value(1, 1), 0x46u);
}

// The checker audits a folio's pins: its _pincount against the pins the
// mms hold, and the one reference each pin adds to its page.
TEST_P(FolioPinTest, CheckerAuditsTheFolioPinCount) {
  MapThp();
  ASSERT_EQ(k_.PinPages(mm(), P(1), kPageSize), Errno::kOk);
  ASSERT_TRUE(CheckInvariants(k_).ok());
  FolioInfo& f = KernelTestPeer::Folio(k_, Head(1, 0));
  f.pincount++;
  Status s = CheckInvariants(k_);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pincount"), std::string::npos) << s.message();
  f.pincount--;
  Page& page = KernelTestPeer::Frame(k_, PfnAt(1, 1));
  page.refcount--;
  s = CheckInvariants(k_);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("refcount"), std::string::npos) << s.message();
  page.refcount++;
  ASSERT_EQ(k_.UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(FolioPinTest);

// Short of memory for a second THP, migration splits the folio and moves
// its pages one by one; Linux counts the folio as not migrated (EBUSY).
class FolioMigrateShortTest : public DesignKernelTest {};

TEST_P(FolioMigrateShortTest, SplitsOnlyWhenNoFolioOfItsOrderIsFree) {
  SimOptions opts;
  opts.mem_pages = kThpPages + 100;
  Boot(opts);
  ASSERT_EQ(k_->Mmap(mm(), kBase, k2M, kRW, false), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), kBase, k2M, Advice::kHugepage), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(0), 0x5), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(300), 0x6), Errno::kOk);
  EXPECT_EQ(k_->MigratePages(mm(), kBase, k2M, 1), Errno::kEBUSY);
  EXPECT_TRUE(k_->folios().empty());
  EXPECT_EQ(k_->Stats().thp_split_page, 1u);
  EXPECT_EQ(k_->Stats().pgmigrate_success, kThpPages);
  for (int64_t i : {0, 300, 511}) {
    EXPECT_EQ(k_->page(PfnAt(1, i)).node(), 1) << i;
    EXPECT_EQ(k_->page(PfnAt(1, i)).order(), 0) << i;
  }
  uint64_t v = 0;
  ASSERT_EQ(k_->Peek(mm(), P(300), &v), Errno::kOk);
  EXPECT_EQ(v, 0x6u);
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(FolioMigrateShortTest);

}  // namespace
}  // namespace rmaplab
