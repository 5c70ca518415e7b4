// migrate_test.cc: migration (core/migrate.cc) per trace format version
// 2 under every design: untouched, zero-page and unmapped addresses are
// skipped, a pinned page fails the op with EBUSY after the others moved,
// and KSM pages migrate through their stable node (rmap_walk_ksm,
// folio_migrate_ksm), plain or as dups of a chain.  The whole-state
// checker runs after each test: every mapping of a moved page is found by
// its reverse map, no frame leaks.
#include "core/design_kernel_test_util.h"

namespace rmaplab {
namespace {

constexpr int kRW = kProtRead | kProtWrite;

class MigrateTest : public DesignKernelTest {
 protected:
  void SetUp() override { Boot(256); }
  void Boot(uint32_t max_page_sharing) {
    SimOptions opts;
    opts.ksm_max_page_sharing = max_page_sharing;
    DesignKernelTest::Boot(opts);
  }
  int NodeAt(uint32_t pid, int64_t page) {
    return k_->page(PfnAt(pid, page)).node();
  }
  uint64_t Value(uint32_t pid, int64_t page) {
    uint64_t v = 0;
    EXPECT_EQ(k_->Peek(mm(pid), P(page), &v), Errno::kOk);
    return v;
  }
};

//   * 0123 4567 89
//   1 wz.w ....        (w written, z zero page, . untouched; 4..7 a hole)
TEST_P(MigrateTest, SkipsUntouchedZeroAndUnmappedPages) {
  ASSERT_EQ(k_->Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(0), 1), Errno::kOk);
  ASSERT_EQ(k_->ReadPage(mm(), P(1)), Errno::kOk);
  ASSERT_EQ(k_->WritePage(mm(), P(3), 3), Errno::kOk);
  EXPECT_EQ(k_->MigratePages(mm(), P(0), 10 * kPageSize, 1), Errno::kOk);
  EXPECT_EQ(NodeAt(1, 0), 1);
  EXPECT_EQ(NodeAt(1, 3), 1);
  EXPECT_EQ(PfnAt(1, 1), kZeroPfn);
  EXPECT_TRUE(mm().pt.Get(P(2)).none());
  EXPECT_EQ(k_->stats().pgmigrate_success, 2u);
  EXPECT_EQ(k_->stats().pgmigrate_fail, 0u);
  EXPECT_EQ(Value(1, 3), 3u);
  EXPECT_EQ(k_->MigratePages(mm(), P(0), kPageSize, 2), Errno::kENODEV);
}

// A pinned page cannot move (the device writes into it): EBUSY, but only
// after the pages around it moved.
TEST_P(MigrateTest, PinnedPageFailsWithEbusyAfterTheOthersMoved) {
  ASSERT_EQ(k_->Mmap(mm(), P(0), 3 * kPageSize, kRW, false), Errno::kOk);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(k_->WritePage(mm(), P(i), 10 + i), Errno::kOk);
  ASSERT_EQ(k_->PinPages(mm(), P(1), kPageSize), Errno::kOk);
  Pfn pinned = PfnAt(1, 1);
  EXPECT_EQ(k_->MigratePages(mm(), P(0), 3 * kPageSize, 1), Errno::kEBUSY);
  EXPECT_EQ(NodeAt(1, 0), 1);
  EXPECT_EQ(PfnAt(1, 1), pinned);
  EXPECT_EQ(NodeAt(1, 1), 0);
  EXPECT_EQ(NodeAt(1, 2), 1);
  EXPECT_EQ(k_->stats().pgmigrate_fail, 1u);
  ASSERT_EQ(k_->UnpinPages(mm(), P(1), kPageSize), Errno::kOk);
}

// Two processes share a KSM page: it moves with both mappings, stays a
// KSM page of the same stable node, and a write still copies it.
TEST_P(MigrateTest, KsmPageMovesWithItsStableNode) {
  ASSERT_EQ(k_->Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
  ASSERT_EQ(k_->Fork(mm(), 2), Errno::kOk);
  for (uint32_t pid : {1u, 2u}) {
    for (int i = 0; i < 2; ++i)
      ASSERT_EQ(k_->WritePage(mm(pid), P(i), 0x4d), Errno::kOk);
    ASSERT_EQ(k_->Madvise(mm(pid), P(0), 2 * kPageSize, Advice::kMergeable),
              Errno::kOk);
  }
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  Pfn old = PfnAt(1, 0);
  ASSERT_TRUE(k_->page(old).Test(PG_ksm));
  uint32_t node_id = k_->page(old).mapping;
  uint64_t walks = k_->stats().migrate_walks;
  EXPECT_EQ(k_->MigratePages(mm(2), P(0), 2 * kPageSize, 1), Errno::kOk);
  Pfn moved = PfnAt(1, 0);
  EXPECT_NE(moved, old);
  EXPECT_EQ(k_->page(old).refcount, 0);  // freed
  const Page& page = k_->page(moved);
  EXPECT_TRUE(page.Test(PG_ksm));
  EXPECT_EQ(page.node(), 1);
  EXPECT_EQ(page.mapping, node_id);
  EXPECT_EQ(page.mapcount, 4);
  EXPECT_EQ(k_->ksm().FindNode(node_id)->kpfn, moved);
  for (uint32_t pid : {1u, 2u})
    for (int i = 0; i < 2; ++i) EXPECT_EQ(PfnAt(pid, i), moved);
  EXPECT_EQ(k_->stats().migrate_walks, walks + 2);  // old page's and new page's
  EXPECT_EQ(k_->stats().pgmigrate_success, 1u);
  EXPECT_EQ(k_->ksm().pages_shared(), 1u);
  EXPECT_EQ(k_->ksm().pages_sharing(), 3u);
  ASSERT_EQ(k_->WritePage(mm(2), P(1), 0x99), Errno::kOk);
  EXPECT_EQ(Value(1, 1), 0x4du);
  EXPECT_EQ(k_->page(moved).mapcount, 3);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);  // the scanner finds it in place
  EXPECT_EQ(PfnAt(1, 0), moved);
}

// The dups of a chain migrate one by one; the chain is the same after.
TEST_P(MigrateTest, KsmDupsOfAChainMigrate) {
  Boot(2);
  ASSERT_EQ(k_->Mmap(mm(), P(0), 4 * kPageSize, kRW, false), Errno::kOk);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(k_->WritePage(mm(), P(i), 7), Errno::kOk);
  ASSERT_EQ(k_->Madvise(mm(), P(0), 4 * kPageSize, Advice::kMergeable),
            Errno::kOk);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  ASSERT_EQ(k_->ksm().stable_node_dups(), 2u);
  EXPECT_EQ(k_->MigratePages(mm(), P(0), 4 * kPageSize, 1), Errno::kOk);
  EXPECT_EQ(k_->stats().pgmigrate_success, 2u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(NodeAt(1, i), 1) << i;
  EXPECT_EQ(k_->ksm().stable_node_chains(), 1u);
  EXPECT_EQ(k_->ksm().stable_node_dups(), 2u);
  ASSERT_EQ(k_->KsmFull(), Errno::kOk);
  EXPECT_EQ(k_->ksm().pages_shared(), 2u);
  EXPECT_EQ(k_->ksm().pages_sharing(), 2u);
  EXPECT_EQ(k_->resident_pages(), 2u);
}

INSTANTIATE_TEST_SUITE_P(AllDesigns, MigrateTest,
                         testing::ValuesIn(DesignNames()), DesignTestName);

}  // namespace
}  // namespace rmaplab
