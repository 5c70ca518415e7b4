// vma_test.cc: VMA split and merge scenarios, each drawn as in
// tools/testing/vma (one column per page from kBase; letters are vmas, '*'
// the range the op touches).  Every layout here was confirmed on Linux 6.18
// with the same ops run natively (tests/traces/*.trace hold the traces).
#include "core/kernel_test_util.h"

namespace rmaplab {
namespace {

class VmaTest : public KernelTest {};
constexpr int kRW = kProtRead | kProtWrite;

// 0123
// AA*B   mmap page 2 -> AAAA (one vma, pgoff from the address)
TEST_P(VmaTest, NewRangeMergesBothSides) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Mmap(mm(), P(3), kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 2, 0}, {3, 4, 3}}));
  ASSERT_EQ(k_.Mmap(mm(), P(2), kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 4, 0}}));
  EXPECT_EQ(k_.stats().vma_merges, 1u);  // one merge: expand A, remove B
}

// 0123
// A*AA   mprotect r-- -> ABCC; then rw -> AAAA
TEST_P(VmaTest, MprotectSplitsAndMerges) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(1), 7), Errno::kOk);
  ASSERT_EQ(k_.Mprotect(mm(), P(1), kPageSize, kProtRead), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 1, 0}, {1, 2, 1}, {2, 4, 2}}));
  ASSERT_EQ(k_.Mprotect(mm(), P(1), kPageSize, kRW), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 4, 0}}));
}

// A faulted vma that never had write permission refused: VM_ACCOUNT.
// 01
// AB   A r-- unfaulted, B rw faulted then r--: flags differ in VM_ACCOUNT
TEST_P(VmaTest, FaultedAccountedVmaKeepsApart) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), kPageSize, kProtRead, false), Errno::kOk);
  ASSERT_EQ(k_.Mmap(mm(), P(1), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(1), 1), Errno::kOk);
  ASSERT_EQ(k_.Mprotect(mm(), P(1), kPageSize, kProtRead), Errno::kOk);
  EXPECT_EQ(LayoutOf().size(), 2u);
  EXPECT_TRUE(mm().VmaLookup(P(1))->flags & VM_ACCOUNT);
}

// parent: AAAA faulted; fork; child: AAAA|BB does not merge where A is a
// fork child (anon_vma_chain: its chain has the parent's anon_vma), and
// merges under a design without that rule; parent: merges.
TEST_P(VmaTest, ForkChildRefusesFreshNeighbour) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(k_.WritePage(mm(), P(i), i), Errno::kOk);
  ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
  bool fork_child = k_.rmap().IsForkChild(*mm(2).VmaLookup(P(0)));
  if (GetParam() == "anon_vma_chain") {
    EXPECT_TRUE(fork_child);
  }
  ASSERT_EQ(k_.Mmap(mm(2), P(4), 2 * kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(LayoutOf(2), fork_child ? (VmaLayout{{0, 4, 0}, {4, 6, 4}})
                                    : (VmaLayout{{0, 6, 0}}));
  ASSERT_EQ(k_.Mmap(mm(1), P(4), 2 * kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(LayoutOf(1), (VmaLayout{{0, 6, 0}}));
}

// 0123        0123
// AA*A  ->    AA.A + Z (moved away, pgoff kept)  ->  AAAA (moved back)
TEST_P(VmaTest, MremapAwayAndBackRemerges) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(k_.WritePage(mm(), P(i), i + 1), Errno::kOk);
  ASSERT_EQ(k_.Mremap(mm(), P(2), kPageSize, kPageSize, true, P(100)),
            Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 2, 0}, {3, 4, 3}, {100, 101, 2}}));
  ASSERT_EQ(k_.Mremap(mm(), P(100), kPageSize, kPageSize, true, P(2)),
            Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 4, 0}}));
  uint64_t v;
  ASSERT_EQ(k_.Peek(mm(), P(2), &v), Errno::kOk);
  EXPECT_EQ(v, 3u);
}

// An unfaulted vma takes its pgoff from the new address (copy_vma).
TEST_P(VmaTest, MremapOfUnfaultedVmaResetsPgoff) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Mremap(mm(), P(0), 2 * kPageSize, 2 * kPageSize, true, P(10)),
            Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{10, 12, 10}}));
  ASSERT_EQ(k_.Mmap(mm(), P(12), kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{10, 13, 10}}));
}

// A faulted vma keeps its pgoff, so it does not merge at its new place.
TEST_P(VmaTest, MremapOfFaultedVmaKeepsPgoff) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.WritePage(mm(), P(0), 1), Errno::kOk);
  ASSERT_EQ(k_.Mremap(mm(), P(0), 2 * kPageSize, 2 * kPageSize, true, P(10)),
            Errno::kOk);
  ASSERT_EQ(k_.Mmap(mm(), P(12), kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{10, 12, 0}, {12, 13, 12}}));
}

// 0123
// A**A  munmap -> A..A: the upper piece's pgoff follows its address.
TEST_P(VmaTest, MunmapSplitsWithPgoff) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_.Munmap(mm(), P(1), 2 * kPageSize), Errno::kOk);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 1, 0}, {3, 4, 3}}));
}

// A shared mapping's pieces keep their offset into the shmem object.
TEST_P(VmaTest, SharedSplitKeepsObjectOffset) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 4 * kPageSize, kRW, true), Errno::kOk);
  ASSERT_EQ(k_.Mprotect(mm(), P(2), kPageSize, kProtRead), Errno::kOk);
  std::vector<MapsEntry> maps = k_.Maps(mm());
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[1].offset, 2 * kPageSize);
  EXPECT_EQ(maps[2].offset, 3 * kPageSize);
  EXPECT_TRUE(maps[1].shared);
}

// vm.max_map_count: a split beyond it is ENOMEM, as Linux says.
TEST_P(VmaTest, SplitBeyondMapCountIsEnomem) {
  const int n = kMaxMapCount + 2;
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * n * kPageSize, kRW, false), Errno::kOk);
  Errno last = Errno::kOk;
  for (int i = 0; i < n && last == Errno::kOk; ++i)
    last = k_.Mprotect(mm(), P(2 * i + 1), kPageSize, kProtRead);
  EXPECT_EQ(last, Errno::kENOMEM);
  EXPECT_LE(mm().map_count(), static_cast<size_t>(kMaxMapCount) + 1);
}

TEST_P(VmaTest, OverlappingMmapIsEexist) {
  ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
  EXPECT_EQ(k_.Mmap(mm(), P(1), 2 * kPageSize, kRW, false), Errno::kEEXIST);
  EXPECT_EQ(LayoutOf(), (VmaLayout{{0, 2, 0}}));
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(VmaTest);

}  // namespace
}  // namespace rmaplab
