// scenario.h: the scenario library: named, parameterised workloads from the
// debates (seeds 000-004, 2.6.34's fork server, the 2026 round) as trace
// generators, so that the trace behind any number can be written out and
// replayed (`rmaplab scenario NAME > x.trace`); and the real programs
// `rmaplab record` recorded (examples/recorded/), embedded at build time,
// by name.
//
// Invariants:
//  (1) A generator is a pure function of its resolved parameters: the same
//      ScenarioArgs always give the same trace text, byte for byte.
//  (2) Every scenario's trace parses (trace format version 2; a generator
//      writes version-1 ops only unless a `folio` parameter asks for large
//      folios, a recording has `exec` too) and runs under every design with
//      no refused op; memory pressure comes with the trace as
//      ScenarioTrace::mem_pages, which a runner puts in SimOptions::mem_pages.
//  (3) Every parameter is bounded, so no override makes a trace that does
//      not fit in memory; a bad override is an error naming the parameter.
// Thread-safety: Scenarios() is an immutable table; generators share no
// state.
#ifndef RMAPLAB_SCENARIO_H_
#define RMAPLAB_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rmaplab/status.h"

namespace rmaplab {

struct Scenario;

struct ScenarioParam {
  std::string name;
  std::string default_value;
  std::string help;
  uint64_t min = 0;      // bounds of the value, inclusive: a count, or bytes
  uint64_t max = 0;      // for a size parameter (is_size)
  bool is_size = false;  // a length like 24M (trace-language syntax)
  // A folio size (is_size too): 4K, or a THP size the `thp` op takes (a
  // power of two from 16K to 2M).
  bool folio_size = false;
};

// Resolved parameter values: every parameter of the scenario, defaults
// filled in, checked against its bounds.
class ScenarioArgs {
 public:
  // REQUIRES: `name` is a parameter of the scenario these args belong to.
  uint64_t Get(const std::string& name) const { return values_.at(name); }
  // "k=v k=v ..." in declaration order, as `--param` would take them.
  const std::vector<std::pair<std::string, std::string>>& Text() const {
    return text_;
  }

 private:
  friend Result<ScenarioArgs> ResolveScenarioArgs(
      const Scenario& scenario,
      const std::vector<std::pair<std::string, std::string>>& overrides);
  std::map<std::string, uint64_t> values_;
  std::vector<std::pair<std::string, std::string>> text_;
};

struct ScenarioTrace {
  std::string text;        // the trace, format version 2
  uint64_t mem_pages = 0;  // memory to run it with; 0: no limit
};

struct Scenario {
  std::string name;
  std::string summary;  // one line: the workload and where it comes from
  std::string reading;  // one line: what its table shows, how to read it
  std::vector<ScenarioParam> params;
  // The metrics that answer the scenario's question, in column order
  // (counter names of `stats`, or compare's derived ones such as
  // steps_per_reclaimed_page and rmap_bytes_peak).
  std::vector<std::string> headline;
  std::function<ScenarioTrace(const ScenarioArgs& args)> generate;
  // A recorded program: the file its trace was embedded from, relative to
  // the source tree (examples/recorded/NAME.trace[.gz]); "" for a
  // generated scenario.
  std::string recorded;
};

// Every scenario, in listing order.
const std::vector<Scenario>& Scenarios();
// The scenario called `name`, or nullptr.
const Scenario* FindScenario(std::string_view name);

// Defaults overridden by `overrides` (name, value).  Errors name the
// scenario, the parameter and the allowed range, or the parameters it has.
Result<ScenarioArgs> ResolveScenarioArgs(
    const Scenario& scenario,
    const std::vector<std::pair<std::string, std::string>>& overrides);

// "k=v" -> (k, v); an error if there is no '=' or no key.
Result<std::pair<std::string, std::string>> ParseParamAssignment(
    std::string_view text);

// The trace of `scenario` with `args`, with a header comment saying how it
// was made and how to replay it.
ScenarioTrace GenerateScenario(const Scenario& scenario,
                               const ScenarioArgs& args);

}  // namespace rmaplab

#endif  // RMAPLAB_SCENARIO_H_
