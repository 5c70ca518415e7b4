// fault_test.cc: faults, COW after fork, the zero page, pins, and that
// nothing leaks when every process exits.
#include "core/kernel_test_util.h"

namespace rmaplab {
namespace {

class FaultTest : public KernelTest {};
constexpr int kRW = kProtRead | kProtWrite;

TEST_P(FaultTest, ReadMapsZeroPageWithoutAllocating) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.ReadPage(mm(), P(0)), Errno::kOk);
  EXPECT_EQ(PfnAt(1, 0), kZeroPfn);
  EXPECT_EQ(k_.resident_pages(), 0u);
  PagemapEntry e = k_.PagemapOf(mm(), P(0));
  EXPECT_TRUE(e.zero);
  EXPECT_FALSE(e.exclusive);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 9), Errno::kOk);
  EXPECT_NE(PfnAt(1, 0), kZeroPfn);
  EXPECT_EQ(k_.resident_pages(), 1u);
}

// After fork the parent writes first: the parent gets the new page and
// the child keeps the old one, now exclusive (mapcount 1).
TEST_P(FaultTest, ParentWritingFirstGetsTheCopy) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 1), Errno::kOk);
  Pfn orig = PfnAt(1, 0);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_EQ(PfnAt(2, 0), orig);
  EXPECT_FALSE(k_.PagemapOf(mm(1), P(0)).exclusive);
  ASSERT_EQ(k_.WritePage(mm(1), P(0), 2), Errno::kOk);
  EXPECT_NE(PfnAt(1, 0), orig);
  EXPECT_EQ(PfnAt(2, 0), orig);
  EXPECT_TRUE(k_.PagemapOf(mm(2), P(0)).exclusive);
  EXPECT_EQ(k_.stats().cow_copies, 1u);
  // The child's write now reuses its page in place.
  ASSERT_EQ(k_.WritePage(mm(2), P(0), 3), Errno::kOk);
  EXPECT_EQ(PfnAt(2, 0), orig);
  EXPECT_EQ(k_.stats().cow_reuses, 1u);
  uint64_t v;
  ASSERT_EQ(k_.Peek(mm(1), P(0), &v), Errno::kOk);
  EXPECT_EQ(v, 2u);
}

// A pinned exclusive page is copied at fork: DMA through the pin must not
// reach the child.
TEST_P(FaultTest, ForkCopiesPinnedPage) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(), P(0), kPageSize), Errno::kOk);
  Pfn pinned = PfnAt(1, 0);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  EXPECT_NE(PfnAt(2, 0), pinned);
  EXPECT_EQ(k_.stats().fork_copies, 1u);
  ASSERT_EQ(k_.DmaWrite(mm(), P(0), kPageSize, 0xd), Errno::kOk);
  uint64_t v;
  ASSERT_EQ(k_.Peek(mm(2), P(0), &v), Errno::kOk);
  EXPECT_EQ(v, 0u);
  ASSERT_EQ(k_.Peek(mm(1), P(0), &v), Errno::kOk);
  EXPECT_EQ(v, 0xdu);
}

TEST_P(FaultTest, PinOfReadOnlyRangeFailsAndUndoes) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Mmap(mm(), P(1), kPageSize, kProtRead, false), Errno::kOk);
  EXPECT_EQ(k_.PinPages(mm(), P(0), 2 * kPageSize), Errno::kEFAULT);
  EXPECT_TRUE(mm().pins.empty());
  EXPECT_EQ(k_.page(PfnAt(1, 0)).refcount, 1);  // faulted, but not pinned
}

TEST_P(FaultTest, EverythingIsFreedWhenAllExit) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 8 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Mmap(mm(), P(20), 4 * kPageSize, kRW, true), Errno::kOk);
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(k_.WritePage(mm(), P(i), i), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(20), 1), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(2), 3), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(3), P(1), 5), Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(3), P(2), kPageSize), Errno::kOk);
  EXPECT_GT(k_.rmap().MetadataBytes(Layout::kX86_64), 0u);
  k_.Exit(mm(2));
  k_.Exit(mm(1));
  k_.Exit(mm(3));
  EXPECT_EQ(k_.resident_pages(), 0u);
  EXPECT_TRUE(k_.shmem().empty());
  EXPECT_EQ(k_.rmap().MetadataBytes(Layout::kX86_64), 0u);
}

// The checker must notice a broken state: each corruption below breaks
// exactly one invariant.
TEST_P(FaultTest, CheckerCatchesCorruption) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 1), Errno::kOk);
  Page& page = KernelTestPeer::Frame(k_, PfnAt(1, 0));
  ASSERT_TRUE(CheckInvariants(k_).ok());
  page.mapcount++;
  EXPECT_NE(CheckInvariants(k_).message().find("mapcount"), std::string::npos);
  page.mapcount--;
  page.refcount++;
  EXPECT_NE(CheckInvariants(k_).message().find("refcount"), std::string::npos);
  page.refcount--;
  // The design forgets the mapping (as if it were a KSM page) while the
  // PTE stays: the rmap walk can no longer find it.
  Vma& vma = *mm().VmaLookup(P(0));
  k_.rmap().RemoveRmap(PfnAt(1, 0), page, vma, P(0));
  k_.rmap().SetStableNode(PfnAt(1, 0), page);
  EXPECT_NE(CheckInvariants(k_).message().find("rmap walk"), std::string::npos);
  k_.rmap().AddNewAnonRmap(PfnAt(1, 0), page, vma, P(0), true);
  EXPECT_TRUE(CheckInvariants(k_).ok());
}

// Migration finds every mapping through the reverse map: after fork both
// processes map the new frame, on the new node; a pinned page stays put.
TEST_P(FaultTest, MigrationMovesEveryMappingButNotPins) {
  constexpr int kRW = kProtRead | kProtWrite;
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 1), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(1), 2), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_.PinPages(mm(2), P(1), kPageSize),
            Errno::kOk);  // COW: child's own page
  Pfn shared = PfnAt(1, 0), pinned = PfnAt(2, 1);
  ASSERT_EQ(k_.MigratePages(mm(1), P(0), 2 * kPageSize, 1), Errno::kOk);
  // the pin holds it: EBUSY (trace format v2)
  ASSERT_EQ(k_.MigratePages(mm(2), P(1), kPageSize, 1), Errno::kEBUSY);
  EXPECT_NE(PfnAt(1, 0), shared);
  EXPECT_EQ(PfnAt(1, 0), PfnAt(2, 0));  // still one page, shared
  EXPECT_EQ(k_.page(PfnAt(1, 0)).node(), 1);
  EXPECT_EQ(PfnAt(2, 1), pinned);  // refused: the pin holds it
  EXPECT_EQ(k_.stats().pgmigrate_fail, 1u);
  EXPECT_GE(k_.stats().migrate_walks, 2u);
  EXPECT_EQ(k_.MigratePages(mm(1), P(0), kPageSize, 7), Errno::kENODEV);
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(FaultTest);

}  // namespace
}  // namespace rmaplab
