// recorded.h: the real programs `rmaplab record` recorded (examples/
// recorded/, docs/record.md) as scenarios: their traces are embedded in the
// library at build time (cmake/embed-traces.cmake writes EmbeddedTraces()),
// so a recorded scenario needs no file at run time and runs the same from
// any directory or an installed binary.
//
// Invariants:
//  (1) EmbeddedTraces() lists every examples/recorded/NAME.trace[.gz] the
//      build saw, by name, text byte for byte (decompressed).
//  (2) A recorded scenario's trace is the recording's first `ops` ops less
//      the `exit` ops at their end, so that the end state (and compare's
//      scan_X) is every process's address space just before it exits.
// Thread-safety: immutable tables.
#ifndef RMAPLAB_SCENARIO_RECORDED_H_
#define RMAPLAB_SCENARIO_RECORDED_H_

#include <span>
#include <string_view>
#include <vector>

#include "rmaplab/scenario.h"

namespace rmaplab::scenario {

struct EmbeddedTrace {
  std::string_view name;  // NAME of examples/recorded/NAME.trace[.gz]
  std::string_view file;  // that path, relative to the source tree
  std::string_view text;  // the trace, decompressed
};

// Generated at build time (build/generated/recorded_traces.cc).
std::span<const EmbeddedTrace> EmbeddedTraces();

// A scenario per embedded trace, in name order.
std::vector<Scenario> RecordedScenarios();

}  // namespace rmaplab::scenario

#endif  // RMAPLAB_SCENARIO_RECORDED_H_
