// cow_context_test.cc: what the COW context design must show: walk steps
// (contexts visited + vmas looked at) grow with fork depth for a page
// shared down a fork chain and stay at one context and one vma for an
// exclusive page; contexts of exited mms live while they have children;
// exec gives a fresh context; and the proof of concept's rules
// (cow_context-poc) miss the mappings of tests/traces/cow-context-poc-*.
//
// Fork chain of depth D (pid 1 forks 2, 2 forks 3, ...), one page at A:
//
//   pid 1 ── pid 2 ── ... ── pid D+1      A: one page, shared by all
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "check/invariants.h"
#include "core/kernel.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

constexpr uint64_t kA = 0x100000000;

struct WalkTally {
  uint64_t yielded;  // vmas handed to rmap_one (rmap_walk_steps)
  uint64_t total;    // contexts visited + vmas looked at
};

// One counted walk of the page pid maps at addr; it must find `want`.
WalkTally Walk(Kernel& k, uint32_t pid, uint64_t addr, int want) {
  Pfn pfn = k.FindMm(pid)->pt.Get(addr).pfn();
  uint64_t steps = k.stats().rmap_walk_steps;
  uint64_t wasted = k.rmap().stats().wasted_steps;
  int found = 0;
  k.RmapWalk(pfn, true, [&](Vma&, uint64_t, Pte&) { return ++found, true; });
  EXPECT_EQ(found, want);
  uint64_t yielded = k.stats().rmap_walk_steps - steps;
  // Yielded vmas that map another page are wasted in the core's count too.
  uint64_t core_wasted = yielded - found;
  return {yielded,
          yielded + k.rmap().stats().wasted_steps - wasted - core_wasted};
}

// pid 1 writes A, then a fork chain of depth `depth`.
std::unique_ptr<Kernel> ForkChain(int depth) {
  auto k = std::make_unique<Kernel>(CreateDesign("cow_context"), SimOptions{});
  Mm& mm = *k->FindMm(1);
  EXPECT_EQ(k->Mmap(mm, kA, kPageSize, kProtRead | kProtWrite, false),
            Errno::kOk);
  EXPECT_EQ(k->WritePage(mm, kA, 7), Errno::kOk);
  for (int d = 1; d <= depth; ++d)
    EXPECT_EQ(k->Fork(*k->FindMm(d), d + 1), Errno::kOk);
  return k;
}

TEST(CowContextTest, SharedPageWalkGrowsWithForkDepth) {
  uint64_t prev = 0;
  for (int depth : {1, 2, 4, 8}) {
    auto k = ForkChain(depth);
    WalkTally c = Walk(*k, 1, kA, depth + 1);
    EXPECT_GT(c.total, prev) << "depth " << depth;
    EXPECT_GE(c.total, 2u * (depth + 1));  // every context, every vma
    prev = c.total;
    EXPECT_TRUE(CheckInvariants(*k).ok());
  }
}

TEST(CowContextTest, ExclusivePageWalkStaysOneStepWhateverTheDepth) {
  for (int depth : {1, 2, 4, 8}) {
    auto k = ForkChain(depth);
    // The parent's write copies A into a page only it maps.
    ASSERT_EQ(k->WritePage(*k->FindMm(1), kA, 9), Errno::kOk);
    WalkTally root = Walk(*k, 1, kA, 1);
    EXPECT_EQ(root.yielded, 1u) << "depth " << depth;
    EXPECT_EQ(root.total, 2u) << "one context, one vma";
    // The deepest child's write: its copy lives in its own context.
    uint32_t leaf = depth + 1;
    ASSERT_EQ(k->WritePage(*k->FindMm(leaf), kA, 10), Errno::kOk);
    WalkTally deep = Walk(*k, leaf, kA, 1);
    EXPECT_EQ(deep.yielded, 1u);
    EXPECT_EQ(deep.total, 2u);
    EXPECT_TRUE(CheckInvariants(*k).ok());
  }
}

TEST(CowContextTest, ExitedParentsContextLivesWhileChildrenMapItsPages) {
  auto k = ForkChain(2);  // 1 -> 2 -> 3
  uint64_t before = k->rmap().MetadataBytes(Layout::kX86_64);
  EXPECT_EQ(before, 3u * 96);  // three contexts, no remaps
  k->Exit(*k->FindMm(2));      // 2's context stays: 3 is its child
  EXPECT_EQ(k->rmap().MetadataBytes(Layout::kX86_64), before);
  WalkTally c = Walk(*k, 1, kA, 2);
  EXPECT_EQ(c.yielded, 2u);
  k->Exit(*k->FindMm(3));  // 3 and then 2 are freed, upward
  EXPECT_EQ(k->rmap().MetadataBytes(Layout::kX86_64), 96u);
  EXPECT_TRUE(CheckInvariants(*k).ok());
}

TEST(CowContextTest, MremapRecordsARemapRangeAndTheWalkFollowsIt) {
  auto k = ForkChain(1);
  Mm& mm = *k->FindMm(1);
  uint64_t base = k->rmap().MetadataBytes(Layout::kX86_64);
  ASSERT_EQ(k->Mremap(mm, kA, kPageSize, kPageSize, true, 2 * kA), Errno::kOk);
  EXPECT_EQ(k->rmap().MetadataBytes(Layout::kX86_64), base + 16);  // one range
  EXPECT_EQ(Walk(*k, 1, 2 * kA, 2).yielded, 2u);  // parent at 2A, child at A
  ASSERT_EQ(k->Munmap(mm, 2 * kA, kPageSize), Errno::kOk);
  EXPECT_EQ(k->rmap().MetadataBytes(Layout::kX86_64), base);
  EXPECT_TRUE(CheckInvariants(*k).ok());
}

// exec (trace format version 2) is MmExit then MmInit on the same mm: a
// fresh context with no parent; the old one goes (it had no children).
TEST(CowContextTest, ExecGivesAFreshParentlessContext) {
  auto k = ForkChain(1);
  Mm& child = *k->FindMm(2);
  ASSERT_EQ(k->Munmap(child, kA, kPageSize), Errno::kOk);
  k->rmap().MmExit(child);
  k->rmap().MmInit(child);
  EXPECT_EQ(k->rmap().MetadataBytes(Layout::kX86_64), 2u * 96);
  ASSERT_EQ(k->Mmap(child, kA, kPageSize, kProtRead | kProtWrite, false),
            Errno::kOk);
  ASSERT_EQ(k->WritePage(child, kA, 3), Errno::kOk);
  // The parent's page no longer has a child context to search.
  EXPECT_EQ(Walk(*k, 1, kA, 1).total, 2u);
  EXPECT_EQ(Walk(*k, 2, kA, 1).total, 2u);
  EXPECT_TRUE(CheckInvariants(*k).ok());
}

// Replays tests/traces/NAME under --check with `design`.
ReplayResult ReplayCheck(const std::string& design, const std::string& name) {
  std::ifstream in(std::string(RMAPLAB_SOURCE_DIR) + "/tests/traces/" + name);
  std::stringstream text;
  text << in.rdbuf();
  Result<Trace> t = ParseTrace(text.str(), name);
  EXPECT_TRUE(t.ok());
  SimOptions opts;
  opts.design = design;
  opts.check = true;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  EXPECT_TRUE(sim.ok());
  std::ostringstream out;
  return Replay(t.value(), *sim.value(), out);
}

TEST(CowContextTest, PocRulesMissTheCounterexamplesCowContextDoesNot) {
  for (const char* name :
       {"cow-context-poc-mremap.trace", "cow-context-poc-fork.trace",
        "cow-context-poc-swap.trace"}) {
    SCOPED_TRACE(name);
    ReplayResult poc = ReplayCheck("cow_context-poc", name);
    EXPECT_FALSE(poc.check.ok());  // the checker finds the missed mapping
    EXPECT_EQ(poc.ops_failed, 0);
    ReplayResult fixed = ReplayCheck("cow_context", name);
    EXPECT_TRUE(fixed.ok()) << fixed.check.message();
  }
}

}  // namespace
}  // namespace rmaplab
