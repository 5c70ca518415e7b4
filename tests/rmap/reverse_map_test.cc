// reverse_map_test.cc: the ReverseMap contract (rmaplab/rmap.h) tested on
// the interface itself, over every registered design: a walk stops when
// rmap_one returns false; the checker's walk counts nothing; a copied vma
// carries no design state; metadata returns to zero when every process
// has exited; the walk is complete after every op kind.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <utility>

#include "core/kernel_test_util.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

constexpr int kRW = kProtRead | kProtWrite;

class ReverseMapTest : public KernelTest {
 protected:
  // One page, mapped by pid 1 and its children 2..n (forked, never written).
  Pfn SharedPage(uint32_t n) {
    EXPECT_EQ(k_.Mmap(mm(), P(0), kPageSize, kRW, false), Errno::kOk);
    EXPECT_EQ(k_.WritePage(mm(), P(0), 7), Errno::kOk);
    for (uint32_t pid = 2; pid <= n; ++pid)
      EXPECT_EQ(k_.Fork(mm(), pid), Errno::kOk);
    return PfnAt(1, 0);
  }
};

TEST_P(ReverseMapTest, WalkStopsWhenRmapOneReturnsFalse) {
  Pfn pfn = SharedPage(4);
  int calls = 0;
  WalkCost cost;
  k_.rmap().Walk(
      pfn, k_.page(pfn), [&](Vma&, uint64_t) { return ++calls, false; }, cost);
  EXPECT_EQ(calls, 1);
  // Through the core's walk, which skips candidates that do not map the
  // page: stop after the first and after the second real mapping.
  for (int stop_at : {1, 2}) {
    int found = 0;
    k_.RmapWalk(pfn, true,
                [&](Vma&, uint64_t, Pte&) { return ++found < stop_at; });
    EXPECT_EQ(found, stop_at);
  }
  int all = 0;
  k_.RmapWalk(pfn, true, [&](Vma&, uint64_t, Pte&) { return ++all, true; });
  EXPECT_EQ(all, 4);
}

TEST_P(ReverseMapTest, CheckerWalkCountsNothing) {
  Pfn pfn = SharedPage(3);
  ASSERT_EQ(k_.WritePage(mm(2), P(0), 8), Errno::kOk);  // a COW copy: waste
  RmapStats before = k_.rmap().stats();
  uint64_t walks = k_.stats().rmap_walks, steps = k_.stats().rmap_walk_steps;
  int found = 0;
  std::as_const(k_).RmapWalk(
      pfn, [&](const Vma&, uint64_t, const Pte&) { return ++found, true; });
  EXPECT_EQ(found, 2);
  const RmapStats& after = k_.rmap().stats();
  EXPECT_EQ(after.wasted_steps, before.wasted_steps);
  EXPECT_EQ(after.lock_acquisitions, before.lock_acquisitions);
  EXPECT_EQ(k_.stats().rmap_walks, walks);
  EXPECT_EQ(k_.stats().rmap_walk_steps, steps);
  // A counted walk does count.
  k_.RmapWalk(pfn, true, [](Vma&, uint64_t, Pte&) { return true; });
  EXPECT_EQ(k_.stats().rmap_walks, walks + 1);
  EXPECT_GE(k_.stats().rmap_walk_steps, steps + 2);
}

TEST_P(ReverseMapTest, CopiedVmaCarriesNoDesignState) {
  SharedPage(2);
  const Vma& vma = *mm(2).VmaLookup(P(0));
  ASSERT_TRUE(vma.anon_vma);
  Vma copy(vma);
  EXPECT_FALSE(copy.anon_vma);
  EXPECT_FALSE(copy.rmap);
  EXPECT_EQ(copy.start, vma.start);
  EXPECT_EQ(copy.pgoff, vma.pgoff);
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(ReverseMapTest);

// Generated traces of every profile, op by op under the checker (whose
// CheckRmap walks every mapped anonymous page and must find exactly its
// PTEs), then every process exits.
class ReverseMapTraceTest : public testing::TestWithParam<std::string> {
 protected:
  // Replays `text`; returns the op kinds it applied, adds its failures.
  std::set<OpKind> ReplayChecked(const std::string& text,
                                 const std::string& what,
                                 std::map<std::string, uint64_t>* stats) {
    std::set<OpKind> kinds;
    SimOptions opts;
    opts.design = GetParam();
    opts.check = true;
    opts.mem_pages = 64;  // reclaim and swap-in happen too
    opts.swap_pages = 4096;
    auto sim = Simulator::Create(opts);
    EXPECT_TRUE(sim.ok()) << sim.status().message();
    Result<Trace> trace = ParseTrace(text, what);
    EXPECT_TRUE(trace.ok()) << trace.status().message();
    if (!sim.ok() || !trace.ok()) return kinds;
    std::ostringstream out;
    for (const Op& op : trace.value().ops) {
      (void)sim.value()->Apply(op, out);  // refused ops are part of the trace
      Status s = sim.value()->Check();
      EXPECT_TRUE(s.ok()) << what << ":" << op.line << ": " << s.message();
      if (!s.ok()) break;
      kinds.insert(op.kind);
    }
    *stats = StatsMap(sim.value()->Stats());
    return kinds;
  }
};

TEST_P(ReverseMapTraceTest, WalkCompleteAfterEveryOpKindAndNothingLeftAtExit) {
  std::set<OpKind> kinds;
  for (const std::string& profile : GenProfiles()) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      std::string what = profile + "-" + std::to_string(seed);
      std::map<std::string, uint64_t> stats;
      for (OpKind k :
           ReplayChecked(GeneratedTrace(seed, profile, 150), what, &stats))
        kinds.insert(k);
      EXPECT_EQ(stats["rmap_bytes"], 0u) << what;
      EXPECT_EQ(stats["rmap_bytes_i386"], 0u) << what;
      EXPECT_EQ(stats["pages_resident"], 0u) << what;
    }
  }
  for (OpKind k : {OpKind::kMmap,    OpKind::kMunmap,  OpKind::kMprotect,
                   OpKind::kMremap,  OpKind::kMadvise, OpKind::kRead,
                   OpKind::kWrite,   OpKind::kExpect,  OpKind::kFork,
                   OpKind::kExit,    OpKind::kPin,     OpKind::kDmaWrite,
                   OpKind::kUnpin,   OpKind::kMigrate, OpKind::kMaps,
                   OpKind::kPagemap, OpKind::kKsm,     OpKind::kReclaim,
                   OpKind::kSwapoff, OpKind::kStats})
    EXPECT_TRUE(kinds.count(k))
        << "no generated trace applied op kind " << static_cast<int>(k);
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(ReverseMapTraceTest);

}  // namespace
}  // namespace rmaplab
