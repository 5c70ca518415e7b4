// ksm_chain_test.cc: KSM's max_page_sharing (core/ksm.cc, mm/ksm.c since
// 4.13): stable_node_chain and stable_node_dup, chain pruning and
// collapse, the fork bypass, and use_zero_pages, under every design with
// the whole-state checker after each test.
#include <map>

#include "core/design_kernel_test_util.h"

namespace rmaplab {
namespace {

constexpr int kRW = kProtRead | kProtWrite;

class KsmChainTest : public DesignKernelTest {
 protected:
  void Boot(uint32_t max_page_sharing, bool use_zero_pages = false) {
    SimOptions opts;
    opts.ksm_max_page_sharing = max_page_sharing;
    opts.ksm_use_zero_pages = use_zero_pages;
    DesignKernelTest::Boot(opts);
  }
  // Pages [0, n) of pid 1 hold `value`, in one mergeable vma.
  void IdenticalPages(int n, uint64_t value) {
    ASSERT_EQ(k_->Mmap(mm(), P(0), n * kPageSize, kRW, false), Errno::kOk);
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(k_->WritePage(mm(), P(i), value), Errno::kOk);
    ASSERT_EQ(k_->Madvise(mm(), P(0), n * kPageSize, Advice::kMergeable),
              Errno::kOk);
  }
  // KSM pages mapped in [0, n) of pid, with their number of mappers there.
  std::map<Pfn, int> KsmPagesOf(int n, uint32_t pid = 1) {
    std::map<Pfn, int> out;
    for (int i = 0; i < n; ++i) {
      Pte pte = mm(pid).pt.Get(P(i));
      if (pte.present() && k_->PagemapOf(mm(pid), P(i)).ksm) out[pte.pfn()]++;
    }
    return out;
  }
};

// Linux: 1000 identical pages, max_page_sharing 256: pages_shared 4,
// pages_sharing 996 (256 + 256 + 256 + 232 mappers), one chain of 4 dups.
TEST_P(KsmChainTest, ThousandIdenticalPagesMakeFourKsmPages) {
  Boot(256);
  IdenticalPages(1000, 0x1234);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().pages_shared(), 4u);
  EXPECT_EQ(k_->ksm().pages_sharing(), 996u);
  EXPECT_EQ(k_->ksm().stable_node_chains(), 1u);
  EXPECT_EQ(k_->ksm().stable_node_dups(), 4u);
  std::map<Pfn, int> pages = KsmPagesOf(1000);
  ASSERT_EQ(pages.size(), 4u);
  int total = 0;
  for (auto [pfn, mappers] : pages) {
    EXPECT_LE(mappers, 256);
    EXPECT_EQ(k_->page(pfn).mapcount, mappers);
    total += mappers;
  }
  EXPECT_EQ(total, 1000);
  EXPECT_EQ(k_->resident_pages(), 4u);
}

// With every dup full, a page waits in the unstable tree for a twin to
// start a new dup with; the fifth of five pages (limit 2) finds none.
TEST_P(KsmChainTest, FullDupsLeaveAPageWithoutTwinUnshared) {
  Boot(2);
  IdenticalPages(5, 7);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().pages_shared(), 2u);
  EXPECT_EQ(k_->ksm().pages_sharing(), 2u);
  EXPECT_EQ(k_->ksm().pages_unshared(), 1u);
  EXPECT_EQ(k_->ksm().stable_node_chains(), 1u);
  EXPECT_EQ(k_->ksm().stable_node_dups(), 2u);
  EXPECT_EQ(KsmPagesOf(5).size(), 2u);
}

// A dup whose page was freed goes when the scanner next meets its
// rmap_items; the next search of the content collapses a chain of one dup
// back into a plain stable node.
TEST_P(KsmChainTest, StaleDupIsPrunedAndTheChainCollapses) {
  Boot(2);
  IdenticalPages(4, 7);  // dups {0,1} and {2,3}
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  ASSERT_EQ(k_->ksm().stable_node_dups(), 2u);
  Pfn first = mm().pt.Get(P(0)).pfn();
  int freed = 0;  // the pages of one dup get a new value: that KSM page goes
  for (int i = 0; i < 4; ++i) {
    if (mm().pt.Get(P(i)).pfn() != first) continue;
    ASSERT_EQ(k_->WritePage(mm(), P(i), 8), Errno::kOk);
    freed++;
  }
  ASSERT_EQ(freed, 2);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().stable_node_chains(), 1u);  // 7's chain, one dup left
  EXPECT_EQ(k_->ksm().stable_node_dups(), 1u);
  EXPECT_EQ(k_->ksm().pages_shared(), 2u);  // one page of 7, a new one of 8
  EXPECT_EQ(k_->ksm().pages_sharing(), 2u);
  // A page of 7 searched for: the chain of 7 has one live dup left, full.
  ASSERT_EQ(k_->Mmap(mm(), P(8), kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(8), 7), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), P(8), kPageSize, Advice::kMergeable), Errno::kOk);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().stable_node_chains(), 0u);
  EXPECT_EQ(k_->ksm().stable_node_dups(), 0u);
  EXPECT_EQ(k_->ksm().pages_unshared(), 1u);  // no room, no twin
}

// A KSM page is linked into the stable tree only once its twin merged
// too (stable_tree_insert after try_to_merge_two_pages): a pinned twin
// that refuses leaves no new dup and no chain behind.
//
//   * 0123
//   1 AApt     (A: one full KSM page; p pinned; t its twin)
TEST_P(KsmChainTest, ARefusedTwinLeavesNoChain) {
  Boot(2);
  IdenticalPages(2, 7);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  ASSERT_EQ(k_->Mmap(mm(), P(2), 2 * kPageSize, kRW, false), Errno::kOk);
  for (int i = 2; i < 4; ++i)
    ASSERT_EQ(k_->WritePage(mm(), P(i), 7), Errno::kOk);
  ASSERT_EQ(k_->PinPages(mm(), P(2), kPageSize), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), P(2), 2 * kPageSize, Advice::kMergeable),
            Errno::kOk);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().stable_node_chains(), 0u);
  EXPECT_EQ(k_->ksm().stable_node_dups(), 0u);
  EXPECT_EQ(k_->ksm().pages_shared(), 1u);
  EXPECT_EQ(KsmPagesOf(4).size(), 1u);
  ASSERT_EQ(k_->UnpinPages(mm(), P(2), kPageSize), Errno::kOk);
}

// A forked KSM mapping joins its own page's node even when that node is
// full (max_page_sharing_bypass): no copy, no new dup.
TEST_P(KsmChainTest, ForkGoesOverTheLimit) {
  Boot(2);
  IdenticalPages(2, 9);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  Pfn kpfn = mm().pt.Get(P(0)).pfn();
  ASSERT_EQ(k_->Fork(mm(), 2), Errno::kOk);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().pages_shared(), 1u);
  EXPECT_EQ(k_->ksm().pages_sharing(), 3u);
  EXPECT_EQ(k_->ksm().stable_node_dups(), 0u);
  EXPECT_EQ(mm(2).pt.Get(P(1)).pfn(), kpfn);
  EXPECT_EQ(k_->page(kpfn).mapcount, 4);
}

// use_zero_pages: an empty page becomes the zero page, not a KSM page; a
// write copies it; MADV_UNMERGEABLE unshares it into an exclusive page.
TEST_P(KsmChainTest, UseZeroPagesMapsTheZeroPage) {
  Boot(256, true);
  IdenticalPages(3, 0);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  for (int i = 0; i < 3; ++i) {
    PagemapEntry e = k_->PagemapOf(mm(), P(i));
    EXPECT_TRUE(e.zero && !e.ksm && !e.exclusive) << i;
  }
  EXPECT_EQ(k_->resident_pages(), 0u);
  EXPECT_EQ(k_->ksm().pages_shared(), 0u);
  ASSERT_EQ(k_->WritePage(mm(), P(1), 5), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), P(0), kPageSize, Advice::kUnmergeable),
            Errno::kOk);
  PagemapEntry e = k_->PagemapOf(mm(), P(0));
  EXPECT_TRUE(e.exclusive && !e.zero && e.value == 0);
  EXPECT_TRUE(k_->PagemapOf(mm(), P(2)).zero);
  EXPECT_EQ(k_->resident_pages(), 2u);
}

TEST_P(KsmChainTest, WithoutUseZeroPagesEmptyPagesMergeIntoAKsmPage) {
  Boot(256);
  IdenticalPages(3, 0);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_TRUE(k_->PagemapOf(mm(), P(0)).ksm);
  EXPECT_EQ(k_->ksm().pages_shared(), 1u);
  EXPECT_EQ(k_->resident_pages(), 1u);
}

INSTANTIATE_TEST_SUITE_P(AllDesigns, KsmChainTest,
                         testing::ValuesIn(DesignNames()), DesignTestName);

}  // namespace
}  // namespace rmaplab
