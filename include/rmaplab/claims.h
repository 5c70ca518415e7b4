// claims.h: the quantitative claims of the debates (seeds 000-004, 2.6.34,
// the 2026 round; issue 12 section 4), each with the measurements that test
// it and the rule that turns their numbers into a verdict: reproduced,
// contradicted (why) or not measurable here (why).  `rmaplab claims` runs
// the measurements and prints the table of docs/results.md; the HTML report
// (`rmaplab compare|report --html`) judges the claims its runs cover.
//
// A measurement is one group of `rmaplab compare` (a scenario with its
// parameters and sweep, or a trace file), or the pin-bug traces replayed
// with and without their switches (kPinSwitches).  A judge reads numbers
// only through ClaimData, so a claim whose runs are missing is "not run",
// never judged on zeros.
//
// Invariants:
//  (1) A verdict is a function of the numbers: JudgeClaim reads nothing but
//      the runs it is given.
//  (2) A judge that asked for a number the runs do not have yields
//      Verdict::kNotRun naming what was missing.
//  (3) Claim ids are unique; every measurement's GroupId() is the id
//      `rmaplab compare` gives that group.
// Thread-safety: Claims() is an immutable table; judging shares no state.
#ifndef RMAPLAB_CLAIMS_H_
#define RMAPLAB_CLAIMS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rmaplab {

enum class Verdict { kReproduced, kContradicted, kNotMeasurable, kNotRun };

// "reproduced", "contradicted", "not measurable", "not run".
std::string_view VerdictName(Verdict v);

enum class MeasurementKind {
  kScenario,     // rmaplab compare --scenario NAME --param ... --sweep ...
  kTrace,        // rmaplab compare PATH (relative to the source tree)
  kPinSwitches,  // tests/traces/pin-bugs/*.trace, replayed --check with
                 // and without each trace's switch, under every design
};

struct ClaimMeasurement {
  MeasurementKind kind = MeasurementKind::kScenario;
  std::string what;                 // scenario name, or trace path
  std::vector<std::string> params;  // "k=v", in compare's --param order
  std::string sweep;                // "k=v1,v2,..." or ""

  // The id of the group `rmaplab compare` (or `rmaplab claims`, for
  // kPinSwitches) writes for this measurement.
  std::string GroupId() const;
  // The shell command that produces its numbers.
  std::string Command() const;
};

// One run of a measurement: a design at one sweep point (for kPinSwitches
// the point is "TRACE" without the switch, "TRACE --SWITCH" with it).
struct ClaimRun {
  std::string design;
  std::string point;
  std::map<std::string, double> metrics;
};

// The runs of each of a claim's measurements, in the claim's order.
using ClaimRuns = std::vector<std::vector<ClaimRun>>;

// What a judge reads: numbers by measurement, design, metric and point.
// A missing number reads as 0 and is remembered (invariant 2).
class ClaimData {
 public:
  explicit ClaimData(const ClaimRuns& runs) : runs_(runs) {}
  double Get(size_t measurement, std::string_view design,
             std::string_view metric, std::string_view point = "");
  const std::vector<ClaimRun>& Runs(size_t measurement) const;
  const std::vector<std::string>& missing() const { return missing_; }

 private:
  const ClaimRuns& runs_;
  std::vector<std::string> missing_;
};

struct ClaimFinding {
  Verdict verdict = Verdict::kNotRun;
  std::string measured;  // what rmaplab measures, with the numbers
  std::string why;       // why this verdict (for contradicted, not
                         // measurable and not run; may be "" otherwise)
};

struct Claim {
  std::string id;      // "001-vma-bytes": source, then a short name
  std::string source;  // "seed 001 (Andrea)", "2.6.34", "2026 review 4a"
  std::string text;    // the claim, quoted or closely paraphrased
  std::vector<ClaimMeasurement> measurements;  // none: not measurable
  ClaimFinding (*judge)(ClaimData& data) = nullptr;
};

// Every claim, in the order of issue 12 section 4.
const std::vector<Claim>& Claims();

// The claim's verdict on `runs` (one entry per measurement); kNotRun if a
// measurement has no runs or the judge missed a number.
ClaimFinding JudgeClaim(const Claim& claim, const ClaimRuns& runs);

}  // namespace rmaplab

#endif  // RMAPLAB_CLAIMS_H_
