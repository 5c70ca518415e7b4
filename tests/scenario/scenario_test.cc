// scenario_test.cc: the scenario library (scenario.h): the registry is
// well formed, generators are deterministic and bounded, and every
// scenario, at a small size, runs under every design with the checker on
// after every op and no refused op.  Plus the direction fork-server must
// show (2.6.34): anon_vma's walk per reclaimed page grows with the
// children, anon_vma_chain's does not.
#include "rmaplab/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

// A recorded program's small size: a prefix of its recording, shorter than
// the whole (so that the size shows in the text).
Overrides RecordedPrefix(const Scenario& s) {
  uint64_t all = 0;
  for (const ScenarioParam& p : s.params)
    if (p.name == "ops") all = std::stoull(p.default_value);
  return {{"ops", std::to_string(std::min<uint64_t>(800, all - 1))}};
}

// Small sizes: each scenario's shape, in a few hundred ops.  A new
// generated scenario must add itself here (EveryScenarioHasASmallSize); a
// new recording comes in with a prefix of itself.
std::map<std::string, Overrides> MakeSmallSizes() {
  std::map<std::string, Overrides> m = {
      {"fork-server", {{"children", "5"}, {"pages", "8"}}},
      {"fork-server-thp", {{"children", "2"}, {"pages", "512"}}},
      {"swap-storm", {{"procs", "6"}, {"chunk", "12"}, {"mem", "256K"}}},
      {"swap-storm-thp",
       {{"procs", "3"}, {"chunk", "512"}, {"mem", "2M"}, {"folio", "64K"}}},
      {"vma-churn", {{"procs", "3"}, {"pages", "32"}, {"steps", "120"}}},
      {"mremap-after-fork",
       {{"children", "3"}, {"pages", "8"}, {"moves", "7"}}},
      {"kvm-guests", {{"guests", "3"}, {"pages", "20"}}},
      {"fork-tree-migrate",
       {{"depth", "2"}, {"fanout", "2"}, {"pages", "8"}, {"migrations", "4"}}},
      {"deep-fork-tree",
       {{"depth", "2"},
        {"fanout", "2"},
        {"pages", "8"},
        {"private_pages", "4"}}},
      {"app-launch",
       {{"apps", "4"}, {"vmas", "5"}, {"pages", "2"}, {"fork_every", "2"}}},
      {"forking-task", {{"rounds", "20"}, {"pages", "4"}}},
      {"swapoff", {{"procs", "4"}, {"chunk", "8"}}},
  };
  for (const Scenario& s : Scenarios())
    if (!s.recorded.empty()) m[s.name] = RecordedPrefix(s);
  return m;
}

const std::map<std::string, Overrides>& SmallSizes() {
  static const std::map<std::string, Overrides> m = MakeSmallSizes();
  return m;
}

// The counters by name (rmaplab::Stats through its one field table).
std::map<std::string, uint64_t> Counters(const Simulator& sim) {
  std::map<std::string, uint64_t> c;
  for (const auto& [k, v] : StatsEntries(sim.Stats())) c[k] = v;
  return c;
}

ScenarioTrace Generate(const std::string& name, const Overrides& o) {
  const Scenario* s = FindScenario(name);
  EXPECT_NE(s, nullptr) << name;
  if (!s) return {};
  Result<ScenarioArgs> args = ResolveScenarioArgs(*s, o);
  EXPECT_TRUE(args.ok()) << args.status().message();
  if (!args.ok()) return {};
  return GenerateScenario(*s, args.value());
}

TEST(ScenarioRegistry, WellFormed) {
  std::set<std::string> names;
  for (const Scenario& s : Scenarios()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_TRUE(static_cast<bool>(s.generate)) << s.name;
    EXPECT_FALSE(s.summary.empty()) << s.name;
    EXPECT_FALSE(s.reading.empty()) << s.name;
    EXPECT_FALSE(s.headline.empty()) << s.name;
    std::set<std::string> params;
    for (const ScenarioParam& p : s.params)
      EXPECT_TRUE(params.insert(p.name).second) << s.name << " " << p.name;
    // Every default lies inside its bounds (registry.cc (2)).
    EXPECT_TRUE(ResolveScenarioArgs(s, {}).ok()) << s.name;
  }
  for (const char* n :
       {"fork-server", "swap-storm", "vma-churn", "mremap-after-fork",
        "kvm-guests", "fork-tree-migrate", "deep-fork-tree", "app-launch",
        "forking-task", "redis-bgsave", "python-pool", "make-j2", "sqlite3",
        "thp-madvise"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(ScenarioRegistry, EveryScenarioHasASmallSize) {
  for (const Scenario& s : Scenarios())
    EXPECT_TRUE(SmallSizes().count(s.name)) << s.name;
}

TEST(ScenarioArgs, BadOverridesSayWhich) {
  const Scenario* s = FindScenario("fork-server");
  ASSERT_NE(s, nullptr);
  Result<ScenarioArgs> unknown = ResolveScenarioArgs(*s, {{"nope", "1"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("nope"), std::string::npos);
  Result<ScenarioArgs> range = ResolveScenarioArgs(*s, {{"children", "0"}});
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("children=0"), std::string::npos);
  EXPECT_FALSE(ResolveScenarioArgs(*s, {{"pages", "12x"}}).ok());
  EXPECT_FALSE(ResolveScenarioArgs(*s, {{"pages", ""}}).ok());
  EXPECT_FALSE(
      ResolveScenarioArgs(*FindScenario("swap-storm"), {{"mem", "3K"}}).ok());
  EXPECT_FALSE(ParseParamAssignment("children").ok());
  EXPECT_FALSE(ParseParamAssignment("=4").ok());
  Result<ScenarioArgs> last =
      ResolveScenarioArgs(*s, {{"children", "3"}, {"children", "4"}});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last.value().Get("children"), 4u);
}

// The folio parameter: 4K writes a version-1 trace, a THP size enables
// that size, anything else is refused naming the parameter.
TEST(ScenarioArgs, FolioSizes) {
  const Scenario* s = FindScenario("fork-server");
  ASSERT_NE(s, nullptr);
  for (const char* bad : {"8K", "48K", "4M", "1K", "3"}) {
    Result<ScenarioArgs> r = ResolveScenarioArgs(*s, {{"folio", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("folio=") + bad),
              std::string::npos);
  }
  EXPECT_EQ(Generate("fork-server", {}).text.find("thp"), std::string::npos);
  EXPECT_NE(Generate("fork-server", {{"folio", "64K"}})
                .text.find("\n* thp 64K always\n"),
            std::string::npos);
  EXPECT_NE(Generate("swap-storm-thp", {}).text.find("\n* thp 2M always\n"),
            std::string::npos);
}

TEST(ScenarioGenerate, DeterministicAndParameterised) {
  for (const auto& [name, o] : SmallSizes()) {
    ScenarioTrace a = Generate(name, o), b = Generate(name, o);
    EXPECT_EQ(a.text, b.text) << name;
    EXPECT_EQ(a.mem_pages, b.mem_pages) << name;
    EXPECT_NE(a.text, Generate(name, {}).text) << name << ": sizes ignored";
  }
}

// scenario.h (2): every scenario (a recorded one: a prefix of it), every
// design, the checker after every op, and not one refused op.
TEST(ScenarioGenerate, EveryScenarioRunsUnderEveryDesignChecked) {
  for (const auto& [name, o] : SmallSizes()) {
    ScenarioTrace t = Generate(name, o);
    Result<Trace> trace = ParseTrace(t.text, name);
    ASSERT_TRUE(trace.ok()) << trace.status().message();
    for (const std::string& design : DesignNames()) {
      SimOptions so;
      so.design = design;
      so.check = true;
      if (t.mem_pages) so.mem_pages = t.mem_pages;
      Result<std::unique_ptr<Simulator>> sim = Simulator::Create(so);
      ASSERT_TRUE(sim.ok()) << design;
      std::ostringstream out;
      ReplayResult r = Replay(trace.value(), *sim.value(), out);
      EXPECT_TRUE(r.ok()) << name << " under " << design << ":\n"
                          << out.str() << r.check.message();
    }
  }
}

// The memory pressure a scenario declares makes reclaim walk the
// reverse map.
TEST(ScenarioGenerate, PressureReclaims) {
  ScenarioTrace t = Generate("fork-server", SmallSizes().at("fork-server"));
  ASSERT_GT(t.mem_pages, 0u);
  Result<Trace> trace = ParseTrace(t.text, "fork-server");
  ASSERT_TRUE(trace.ok());
  SimOptions so;
  so.mem_pages = t.mem_pages;
  auto sim = Simulator::Create(so);
  ASSERT_TRUE(sim.ok());
  std::ostringstream out;
  ASSERT_TRUE(Replay(trace.value(), *sim.value(), out).ok());
  std::map<std::string, uint64_t> stats = Counters(*sim.value());
  EXPECT_GT(stats["pgsteal"], 0u);
  EXPECT_GT(stats["reclaim_rmap_walks"], 0u);
}

double StepsPerReclaimedPage(const std::string& design, int children) {
  ScenarioTrace t = Generate(
      "fork-server", {{"children", std::to_string(children)}, {"pages", "8"}});
  Result<Trace> trace = ParseTrace(t.text, "fork-server");
  EXPECT_TRUE(trace.ok());
  SimOptions so;
  so.design = design;
  so.mem_pages = t.mem_pages;
  auto sim = Simulator::Create(so);
  EXPECT_TRUE(sim.ok());
  std::ostringstream out;
  EXPECT_TRUE(Replay(trace.value(), *sim.value(), out).ok());
  std::map<std::string, uint64_t> s = Counters(*sim.value());
  EXPECT_GT(s["pgsteal"], 0u);
  return s["pgsteal"] ? double(s["reclaim_rmap_walk_steps"]) / s["pgsteal"] : 0;
}

// 2.6.34's case: a child's copy is searched for in the whole family
// under anon_vma, in the child's own anon_vma under anon_vma_chain.
TEST(ScenarioDirection, ForkServerWalksGrowWithChildrenOnlyUnderAnonVma) {
  double av10 = StepsPerReclaimedPage("anon_vma", 10);
  double av80 = StepsPerReclaimedPage("anon_vma", 80);
  double avc10 = StepsPerReclaimedPage("anon_vma_chain", 10);
  double avc80 = StepsPerReclaimedPage("anon_vma_chain", 80);
  EXPECT_GT(av80, 4 * av10);
  EXPECT_LT(avc80, 2 * avc10);
  EXPECT_GT(av80, 4 * avc80);
}

// One scenario under one design, op by op: the end counters, and the peak
// of rmap_bytes in "rmap_bytes_peak".
std::map<std::string, uint64_t> RunScenario(const std::string& design,
                                            const std::string& name,
                                            const Overrides& params) {
  ScenarioTrace t = Generate(name, params);
  Result<Trace> trace = ParseTrace(t.text, name);
  EXPECT_TRUE(trace.ok()) << trace.status().message();
  SimOptions so;
  so.design = design;
  if (t.mem_pages) so.mem_pages = t.mem_pages;
  auto sim = Simulator::Create(so);
  EXPECT_TRUE(sim.ok());
  std::ostringstream out;
  uint64_t peak = 0;
  for (const Op& op : trace.value().ops) {
    EXPECT_EQ(sim.value()->Apply(op, out), Errno::kOk)
        << design << " line " << op.line;
    peak = std::max(peak, sim.value()->Stats().rmap_bytes);
    out.str("");
  }
  std::map<std::string, uint64_t> c = Counters(*sim.value());
  c["rmap_bytes_peak"] = peak;
  return c;
}

// Issue 9 4b: moving inherited pages costs anonmm copies (Linus' remedy)
// or pte_chains (anobjrmap's), and COW context neither: its remap tree
// records the moves.
TEST(ScenarioDirection, MremapAfterForkCostsAnonmmButNotCowContext) {
  EXPECT_GT(RunScenario("anonmm-copy", "mremap-after-fork", {})["wasted_pages"],
            0u);
  EXPECT_GT(RunScenario("anonmm-chains", "mremap-after-fork",
                        {})["rmap_chain_entries"],
            0u);
  std::map<std::string, uint64_t> cc =
      RunScenario("cow_context", "mremap-after-fork", {});
  EXPECT_EQ(cc["wasted_pages"], 0u);
  EXPECT_EQ(cc["rmap_chain_entries"], 0u);
}

// Issue 9 4c: ANON_VMA_LAZY's claim, in direction: apps whose vmas are
// mostly never forked keep far less reverse-map metadata.
TEST(ScenarioDirection, AppLaunchLazyKeepsLessThanAnonVmaChain) {
  uint64_t avc = RunScenario("anon_vma_chain", "app-launch", {})["rmap_bytes"];
  uint64_t lazy = RunScenario("anon_vma_lazy", "app-launch", {})["rmap_bytes"];
  EXPECT_GT(avc, 0u);
  EXPECT_LT(2 * lazy, avc);
}

// Issue 9 4d: a task that forks a child that forks and exits, over and
// over.  anon_vma_chain's reuse rule (7a3ef208) keeps its metadata
// bounded; COW context keeps every exited generation's context while it
// has a child, so its metadata grows with the generations.
TEST(ScenarioDirection, ForkingTaskBoundedUnderAnonVmaChainNotCowContext) {
  auto peak = [](const std::string& design, int rounds) {
    return RunScenario(design, "forking-task",
                       {{"rounds", std::to_string(rounds)}})["rmap_bytes_peak"];
  };
  EXPECT_EQ(peak("anon_vma_chain", 20), peak("anon_vma_chain", 200));
  EXPECT_EQ(peak("anon_vma_lazy", 20), peak("anon_vma_lazy", 200));
  EXPECT_GT(peak("cow_context", 200), 5 * peak("cow_context", 20));
}

}  // namespace
}  // namespace rmaplab
