// anon_vma_lazy_test.cc: what ANON_VMA_LAZY must show: a vma that never
// forks keeps no anon_vma (zero rmap bytes) through split, merge and
// mremap, its pages found in one step; lazy neighbours merge as Linux
// merges vmas sharing an anon_vma; the first fork upgrades the parent's
// vma and the child borrows until it writes; and it costs less than
// anon_vma_chain after a fork.  Every test ends under CheckInvariants (the
// walk finds every mapping).
//
//   page  0   1   2   3
//         A   A   A   A     one vma, written, never forked
#include <gtest/gtest.h>

#include <string>

#include "check/invariants.h"
#include "core/kernel.h"

namespace rmaplab {
namespace {

constexpr uint64_t kBase = 0x100000000;
uint64_t P(int n) { return kBase + uint64_t(n) * kPageSize; }
constexpr int kRw = kProtRead | kProtWrite;

class AnonVmaLazyTest : public ::testing::Test {
 protected:
  Kernel& Make(const std::string& design) {
    kernels_.push_back(
        std::make_unique<Kernel>(CreateDesign(design), SimOptions{}));
    return *kernels_.back();
  }
  void TearDown() override {
    for (auto& k : kernels_) {
      Status s = CheckInvariants(*k);
      EXPECT_TRUE(s.ok()) << k->rmap().name() << ": " << s.message();
    }
  }
  static uint64_t Bytes(const Kernel& k) {
    return k.rmap().MetadataBytes(Layout::kX86_64);
  }
  // Yielded vmas and design-counted wasted steps of one walk that finds
  // `want` mappings.
  static std::pair<uint64_t, uint64_t> WalkCost(Kernel& k, uint32_t pid,
                                                uint64_t addr, int want = 1) {
    Pfn pfn = k.FindMm(pid)->pt.Get(addr).pfn();
    uint64_t steps = k.stats().rmap_walk_steps,
             wasted = k.rmap().stats().wasted_steps;
    int found = 0;
    k.RmapWalk(pfn, true, [&](Vma&, uint64_t, Pte&) { return ++found, true; });
    EXPECT_EQ(found, want);
    return {k.stats().rmap_walk_steps - steps,
            k.rmap().stats().wasted_steps - wasted};
  }
  static void MapAndWrite(Kernel& k, int pages) {
    Mm& mm = *k.FindMm(1);
    ASSERT_EQ(k.Mmap(mm, P(0), pages * kPageSize, kRw, false), Errno::kOk);
    for (int i = 0; i < pages; ++i)
      ASSERT_EQ(k.WritePage(mm, P(i), i + 1), Errno::kOk);
  }
  std::vector<std::unique_ptr<Kernel>> kernels_;
};

TEST_F(AnonVmaLazyTest, NeverForkedVmaKeepsNoAnonVmaThroughSplitMergeMremap) {
  Kernel& k = Make("anon_vma_lazy");
  Kernel& chain = Make("anon_vma_chain");
  for (Kernel* kk : {&k, &chain}) {
    MapAndWrite(*kk, 4);
    Mm& mm = *kk->FindMm(1);
    ASSERT_EQ(kk->Mprotect(mm, P(1), kPageSize, kProtRead),
              Errno::kOk);  // split
    ASSERT_EQ(kk->Mremap(mm, P(2), 2 * kPageSize, 2 * kPageSize, true, P(16)),
              Errno::kOk);  // move
    ASSERT_EQ(kk->Mprotect(mm, P(1), kPageSize, kRw),
              Errno::kOk);  // merge back
    ASSERT_TRUE(CheckInvariants(*kk).ok()) << CheckInvariants(*kk).message();
  }
  EXPECT_EQ(Bytes(k), 0u);
  EXPECT_GT(Bytes(chain), 0u);
  // One step each; page 1's vma was merged away, so its pointer is
  // forwarded (one stale look, then the vma by address).
  for (uint64_t a : {P(0), P(1), P(16), P(17)}) {
    auto [yielded, wasted] = WalkCost(k, 1, a);
    EXPECT_EQ(yielded, 1u);
    EXPECT_EQ(wasted, a == P(1) ? 1u : 0u) << std::hex << a;
  }
}

//   0 1          0 1             0 1
//   A B    ->    A B (B r-x)  -> AAA   (mprotect B rw: merged)
// A and B were faulted separately; Linux gives B A's anon_vma
// (find_mergeable_anon_vma), so they merge; lazy vmas share the marker.
TEST_F(AnonVmaLazyTest, SeparatelyFaultedNeighboursMergeAsInLinux) {
  for (const char* d : {"anon_vma_lazy", "anon_vma_chain"}) {
    Kernel& k = Make(d);
    Mm& mm = *k.FindMm(1);
    ASSERT_EQ(k.Mmap(mm, P(0), kPageSize, kRw, false), Errno::kOk);
    ASSERT_EQ(k.Mmap(mm, P(1), kPageSize, kRw | kProtExec, false), Errno::kOk);
    ASSERT_EQ(k.WritePage(mm, P(0), 1), Errno::kOk);
    ASSERT_EQ(k.WritePage(mm, P(1), 2), Errno::kOk);
    EXPECT_EQ(mm.map_count(), 2u) << d;
    ASSERT_EQ(k.Mprotect(mm, P(1), kPageSize, kRw), Errno::kOk);
    EXPECT_EQ(mm.map_count(), 1u) << d;
  }
  // The merged-away vma's page is found through its forwarded pointer.
  auto [yielded, wasted] = WalkCost(*kernels_[0], 1, P(1));
  EXPECT_EQ(yielded, 1u);
  EXPECT_LE(wasted, 1u);
}

TEST_F(AnonVmaLazyTest, FirstForkUpgradesParentAndChildBorrowsUntilItWrites) {
  Kernel& k = Make("anon_vma_lazy");
  Kernel& chain = Make("anon_vma_chain");
  for (Kernel* kk : {&k, &chain}) {
    MapAndWrite(*kk, 4);
    ASSERT_EQ(kk->Fork(*kk->FindMm(1), 2), Errno::kOk);
  }
  EXPECT_EQ(Bytes(k), 96u + 2 * 64);  // the parent's anon_vma, two avcs
  EXPECT_LT(Bytes(k), Bytes(chain));  // chain: the child's anon_vma too
  EXPECT_EQ(WalkCost(k, 1, P(3), 2).first, 2u);  // parent and child
  uint64_t before = Bytes(k);
  ASSERT_EQ(k.WritePage(*k.FindMm(2), P(0), 9), Errno::kOk);  // child COWs
  EXPECT_EQ(Bytes(k), before + 96 + 64);  // now it needs its own
  EXPECT_EQ(WalkCost(k, 2, P(0)).first, 1u);
}

TEST_F(AnonVmaLazyTest, ManyNeverForkedVmasCostNothingUnlikeAnonVmaChain) {
  Kernel& k = Make("anon_vma_lazy");
  Kernel& chain = Make("anon_vma_chain");
  for (Kernel* kk : {&k, &chain}) {
    Mm& mm = *kk->FindMm(1);
    for (int i = 0; i < 16; ++i) {  // separate vmas: a gap after each
      ASSERT_EQ(kk->Mmap(mm, P(2 * i), kPageSize, kRw, false), Errno::kOk);
      ASSERT_EQ(kk->WritePage(mm, P(2 * i), i), Errno::kOk);
    }
  }
  EXPECT_EQ(Bytes(k), 0u);
  EXPECT_EQ(Bytes(chain), 16u * (96 + 64));
}

}  // namespace
}  // namespace rmaplab
