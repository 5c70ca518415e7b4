// gen_test.cc: the trace generator is deterministic, writes traces that
// parse, keeps to its window, and never writes an `expect` the model (under
// the checker) finds wrong: its own picture of memory matches Linux rules.
#include "rmaplab/gen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "cli.h"                    // GenCommand
#include "core/kernel_test_util.h"  // RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS
#include "rmaplab/gen.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

std::string Gen(uint64_t seed, const std::string& profile, int ops = 60) {
  GenOptions o;
  o.seed = seed;
  o.ops = ops;
  o.procs = 4;
  o.profile = profile;
  Result<std::string> t = GenerateTrace(o);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? t.value() : "";
}

TEST(GenerateTrace, SameSeedSameTrace) {
  EXPECT_EQ(Gen(7, "default"), Gen(7, "default"));
  EXPECT_NE(Gen(7, "default"), Gen(8, "default"));
  EXPECT_NE(Gen(7, "default"), Gen(7, "vma"));
}

TEST(GenerateTrace, RejectsBadOptions) {
  GenOptions o;
  o.profile = "nope";
  EXPECT_FALSE(GenerateTrace(o).ok());
  o.profile = "default";
  o.procs = 0;
  EXPECT_FALSE(GenerateTrace(o).ok());
}

TEST(GenerateTrace, TracesParseStayInWindowAndExpectsHold) {
  for (const std::string& profile : GenProfiles()) {
    for (uint64_t seed = 1; seed <= 25; ++seed) {
      std::string text = Gen(seed, profile);
      Result<Trace> trace = ParseTrace(text, "gen");
      ASSERT_TRUE(trace.ok()) << trace.status().message();
      for (const Op& op : trace.value().ops) {
        if (op.pid == 0) continue;
        if (op.kind == OpKind::kMaps || op.kind == OpKind::kFork ||
            op.kind == OpKind::kExit || op.kind == OpKind::kExec)
          continue;
        EXPECT_GE(op.addr, 0x100000000u);
        EXPECT_LT(op.addr + op.len, 0x200000000000u);
      }
      SimOptions so;
      so.check = true;
      Result<std::unique_ptr<Simulator>> sim = Simulator::Create(so);
      ASSERT_TRUE(sim.ok());
      std::ostringstream out;
      ReplayOptions ro;
      ro.keep_going = true;
      ReplayResult r = Replay(trace.value(), *sim.value(), out, ro);
      EXPECT_TRUE(r.check.ok())
          << profile << " seed " << seed << ": " << r.check.message();
      EXPECT_EQ(out.str().find("errno=EXPECT"), std::string::npos)
          << profile << " seed " << seed << "\n"
          << text;
      EXPECT_EQ(out.str().find("errno=ENOSYS"), std::string::npos)
          << profile << " seed " << seed;
    }
  }
}

TEST(GenerateTrace, ForkProfileExecsAndOthersDoNot) {
  int execs = 0;
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    for (const std::string profile : {"default", "fork", "vma", "pins"}) {
      Result<Trace> trace = ParseTrace(Gen(seed, profile), "gen");
      ASSERT_TRUE(trace.ok());
      for (const Op& op : trace.value().ops) {
        if (op.kind != OpKind::kExec) continue;
        EXPECT_EQ(profile, "fork") << "seed " << seed;
        ++execs;
      }
    }
  }
  EXPECT_GT(execs, 5);
}

// The `ksm` profile exists so that KSM finds pages to merge: its writes
// repeat a few values inside mergeable ranges.
TEST(GenerateTrace, KsmProfileMerges) {
  int merging = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Result<Trace> trace = ParseTrace(Gen(seed, "ksm", 200), "gen");
    ASSERT_TRUE(trace.ok()) << trace.status().message();
    SimOptions so;
    so.check = true;
    auto sim = Simulator::Create(so);
    ASSERT_TRUE(sim.ok());
    std::ostringstream out;
    uint64_t most = 0;
    for (const Op& op : trace.value().ops) {
      (void)sim.value()->Apply(op, out);
      most = std::max(most, sim.value()->Stats().ksm_pages_sharing);
    }
    merging += most > 0;
  }
  EXPECT_GE(merging, 2) << "KSM merged in " << merging << " of 10 ksm traces";
}

// The `thp` profile, under every design with the checker on: a few small
// traces replay with every `expect` holding, and they really make large
// folios (PMD THPs or 64 KiB mTHPs), so the folio paths are what ran.
class GenThpProfile : public testing::TestWithParam<std::string> {};

TEST_P(GenThpProfile, ReplaysCheckedAndMakesLargeFolios) {
  uint64_t pmd = 0, mthp = 0;
  for (uint64_t seed : {1, 2, 3, 4}) {
    std::string text = Gen(seed, "thp", 80);
    Result<Trace> trace = ParseTrace(text, "gen");
    ASSERT_TRUE(trace.ok()) << trace.status().message();
    SimOptions so;
    so.design = GetParam();
    so.check = true;
    Result<std::unique_ptr<Simulator>> sim = Simulator::Create(so);
    ASSERT_TRUE(sim.ok()) << sim.status().message();
    std::ostringstream out;
    ReplayOptions ro;
    ro.keep_going = true;
    ReplayResult r = Replay(trace.value(), *sim.value(), out, ro);
    EXPECT_TRUE(r.check.ok()) << "seed " << seed << ": " << r.check.message();
    EXPECT_EQ(out.str().find("errno=EXPECT"), std::string::npos)
        << "seed " << seed << "\n"
        << text;
    EXPECT_EQ(out.str().find("errno=ENOSYS"), std::string::npos)
        << "seed " << seed;
    pmd += sim.value()->Stats().thp_fault_alloc;
    mthp += sim.value()->Stats().anon_fault_alloc_64kB;
  }
  EXPECT_GT(pmd, 0u) << "no PMD THP was faulted in";
  EXPECT_GT(mthp, 0u) << "no 64 KiB mTHP was faulted in";
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(GenThpProfile);

TEST(GenCommand, UsageErrorsExitTwo) {
  std::ostringstream out, err;
  EXPECT_EQ(GenCommand({"--ops", "5"}, out, err), 2);  // no seed
  EXPECT_EQ(GenCommand({"--seed", "x"}, out, err), 2);
  EXPECT_EQ(GenCommand({"--seed", "1", "--bogus", "2"}, out, err), 2);
  std::ostringstream ok;
  EXPECT_EQ(GenCommand({"--seed", "1", "--ops", "5", "--procs", "2"}, ok, err),
            0);
  EXPECT_NE(ok.str().find("maps"), std::string::npos);
}

}  // namespace
}  // namespace rmaplab
