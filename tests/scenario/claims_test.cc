// claims_test.cc: the claims table (rmaplab/claims.h) on synthetic
// numbers: each verdict rule flips when its numbers flip, a missing number
// or measurement gives "not run", never a verdict on zeros.
#include "rmaplab/claims.h"

#include <gtest/gtest.h>

#include <set>

namespace rmaplab {
namespace {

const Claim& ClaimById(const std::string& id) {
  for (const Claim& c : Claims())
    if (c.id == id) return c;
  ADD_FAILURE() << "no claim " << id;
  return Claims().front();
}

ClaimRun Made(std::string design, std::string point,
              std::map<std::string, double> metrics) {
  return {std::move(design), std::move(point), std::move(metrics)};
}

Verdict Judge(const std::string& id, const ClaimRuns& runs) {
  return JudgeClaim(ClaimById(id), runs).verdict;
}

TEST(Claims, IdsUniqueAndEveryClaimJudged) {
  std::set<std::string> ids;
  for (const Claim& c : Claims()) {
    EXPECT_TRUE(ids.insert(c.id).second) << c.id;
    EXPECT_NE(c.judge, nullptr) << c.id;
    EXPECT_FALSE(c.text.empty()) << c.id;
    for (const ClaimMeasurement& m : c.measurements)
      EXPECT_NE(m.Command().find(m.what), std::string::npos) << c.id;
  }
  // issue 12 section 4, one claim (or more) per item.
  for (const char* id :
       {"001-vma-bytes", "001-struct-page", "004-anon-vma-bytes",
        "004-file-vma-bytes", "004-copy-wastes", "004-copy-rare",
        "001-walk-group", "004-swap-storm", "000-anon-inode-swapoff",
        "000-swapoff-backwards", "2634-fork-server", "003-pins",
        "2026-4a-deep-tree", "2026-4b-mremap", "2026-4c-lazy-direction",
        "2026-4c-lazy-size", "2026-4d-forking-task", "2026-4e-fork-server"})
    EXPECT_TRUE(ids.count(id)) << id;
}

TEST(Claims, GroupIdIsCompareGroupId) {
  ClaimMeasurement m{MeasurementKind::kScenario,
                     "fork-server",
                     {"pages=16"},
                     "children=10,100"};
  EXPECT_EQ(m.GroupId(), "fork-server pages=16 sweep children=10,100");
  EXPECT_EQ(m.Command(),
            "rmaplab compare --scenario fork-server --param pages=16 --sweep "
            "children=10,100");
  ClaimMeasurement t{MeasurementKind::kTrace, "a/b.trace", {}, ""};
  EXPECT_EQ(t.GroupId(), "trace a/b.trace");
}

// 12 B per vma reproduces Andrea's count; 24 B contradicts it.
TEST(Claims, VmaBytesFlipsWithTheSlope) {
  auto runs = [](double per_vma) {
    return ClaimRuns{{Made("anon_vma", "10",
                           {{"rmap_bytes_i386_peak", 144}, {"vmas_peak", 11}}),
                      Made("anon_vma", "1000",
                           {{"rmap_bytes_i386_peak", 144 + 990 * per_vma},
                            {"vmas_peak", 1001}})}};
  };
  EXPECT_EQ(Judge("001-vma-bytes", runs(12)), Verdict::kReproduced);
  ClaimFinding f = JudgeClaim(ClaimById("001-vma-bytes"), runs(24));
  EXPECT_EQ(f.verdict, Verdict::kContradicted);
  EXPECT_NE(f.why.find("24"), std::string::npos) << f.why;
}

TEST(Claims, ForkServerFlipsWhenAnonVmaStopsGrowing) {
  auto runs = [](double av1000) {
    std::vector<ClaimRun> r;
    for (auto [point, av] : {std::pair{"10", 11.0}, {"1000", av1000}}) {
      r.push_back(Made("anon_vma", point,
                       {{"reclaim_rmap_walks", 100},
                        {"reclaim_rmap_walk_steps", 100 * av}}));
      r.push_back(Made(
          "anon_vma_chain", point,
          {{"reclaim_rmap_walks", 100}, {"reclaim_rmap_walk_steps", 137}}));
    }
    return ClaimRuns{r};
  };
  EXPECT_EQ(Judge("2634-fork-server", runs(1001)), Verdict::kReproduced);
  EXPECT_EQ(Judge("2634-fork-server", runs(12)), Verdict::kContradicted);
}

// Rik's and Hugh's swapoff claims are judged by the same numbers, in
// opposite directions.
TEST(Claims, SwapoffVerdictsFlipTogether) {
  auto runs = [](double object_visits) {
    return ClaimRuns{{Made("anon_inode", "",
                           {{"swapoff_ptes", 12800},
                            {"swapoff_pte_slots", 205312},
                            {"swapoff_object_visits", object_visits}})}};
  };
  EXPECT_EQ(Judge("000-anon-inode-swapoff", runs(5132800)),
            Verdict::kContradicted);
  EXPECT_EQ(Judge("000-swapoff-backwards", runs(5132800)),
            Verdict::kReproduced);
  EXPECT_EQ(Judge("000-anon-inode-swapoff", runs(12800)), Verdict::kReproduced);
  EXPECT_EQ(Judge("000-swapoff-backwards", runs(12800)),
            Verdict::kContradicted);
}

TEST(Claims, CopyWastesFlipsWithWastedPages) {
  auto runs = [](double wasted) {
    return ClaimRuns{{Made("anonmm-copy", "", {{"wasted_pages", wasted}}),
                      Made("anonmm-chains", "",
                           {{"wasted_pages", 0}, {"rmap_chain_entries", 576}}),
                      Made("anon_vma", "", {{"wasted_pages", 0}})}};
  };
  EXPECT_EQ(Judge("004-copy-wastes", runs(512)), Verdict::kReproduced);
  EXPECT_EQ(Judge("004-copy-wastes", runs(0)), Verdict::kContradicted);
}

TEST(Claims, CopyRareFlipsWhenProgramsCopyOften) {
  auto runs = [](double wasted) {
    ClaimRuns r;
    for (int i = 0; i < 4; ++i)
      r.push_back({Made(
          "anonmm-copy", "",
          {{"wasted_pages", wasted}, {"page_faults", 1000}, {"forks", 1}})});
    return r;
  };
  EXPECT_EQ(Judge("004-copy-rare", runs(0)), Verdict::kReproduced);
  EXPECT_EQ(Judge("004-copy-rare", runs(200)), Verdict::kContradicted);
}

TEST(Claims, DeepTreeWorryFlipsWithCowContextWalks) {
  auto runs = [](double cc5) {
    return ClaimRuns{
        {Made("cow_context", "1", {{"steps_per_reclaimed_page", 7.8}}),
         Made("cow_context", "5", {{"steps_per_reclaimed_page", cc5}}),
         Made("anon_vma_chain", "1", {{"steps_per_reclaimed_page", 8.4}}),
         Made("anon_vma_chain", "5", {{"steps_per_reclaimed_page", 26.6}})}};
  };
  EXPECT_EQ(Judge("2026-4a-deep-tree", runs(20.6)), Verdict::kContradicted);
  EXPECT_EQ(Judge("2026-4a-deep-tree", runs(40)), Verdict::kReproduced);
}

TEST(Claims, LazyDirectionFlipsAndSizeStaysNotMeasurable) {
  auto runs = [](double lazy) {
    return ClaimRuns{{Made("anon_vma_chain", "", {{"rmap_bytes", 180480}}),
                      Made("anon_vma_lazy", "", {{"rmap_bytes", lazy}})}};
  };
  EXPECT_EQ(Judge("2026-4c-lazy-direction", runs(27360)), Verdict::kReproduced);
  EXPECT_EQ(Judge("2026-4c-lazy-direction", runs(200000)),
            Verdict::kContradicted);
  ClaimFinding size = JudgeClaim(ClaimById("2026-4c-lazy-size"), runs(27360));
  EXPECT_EQ(size.verdict, Verdict::kNotMeasurable);
  EXPECT_NE(size.measured.find("84.8 %"), std::string::npos) << size.measured;
}

TEST(Claims, PinsFlipWhenASwitchGoesUnnoticed) {
  auto runs = [](double caught) {
    std::vector<ClaimRun> r;
    for (const char* sw : {"--unsafe-pin-check", "--legacy-fork-cow"}) {
      r.push_back(Made("anon_vma", "t",
                       {{"oracle_failures", 0}, {"other_failures", 0}}));
      r.push_back(Made("anon_vma", std::string("t ") + sw,
                       {{"oracle_failures", caught}, {"other_failures", 0}}));
    }
    return ClaimRuns{r};
  };
  EXPECT_EQ(Judge("003-pins", runs(1)), Verdict::kReproduced);
  EXPECT_EQ(Judge("003-pins", runs(0)), Verdict::kContradicted);
}

TEST(Claims, MissingNumbersAreNotRunNeverZero) {
  ClaimFinding none = JudgeClaim(ClaimById("001-vma-bytes"), {});
  EXPECT_EQ(none.verdict, Verdict::kNotRun);
  EXPECT_NE(none.why.find("--sweep children="), std::string::npos) << none.why;
  // A run without the metric the rule reads.
  ClaimRuns partial = {{Made("anon_vma", "10", {{"vmas_peak", 11}})}};
  ClaimFinding f = JudgeClaim(ClaimById("001-vma-bytes"), partial);
  EXPECT_EQ(f.verdict, Verdict::kNotRun);
  EXPECT_NE(f.why.find("rmap_bytes_i386_peak"), std::string::npos) << f.why;
  // Not measurable needs no runs.
  EXPECT_EQ(Judge("004-file-vma-bytes", {}), Verdict::kNotMeasurable);
}

}  // namespace
}  // namespace rmaplab
