// native.h: the native replayer's entry points: run a trace on this
// machine's kernel, or on the model and the kernel and compare.  The
// command line around them is in tools/ (tools/native.cc).
#ifndef RMAPLAB_NATIVE_NATIVE_H_
#define RMAPLAB_NATIVE_NATIVE_H_

#include <iosfwd>
#include <string>
#include <string_view>

#include "native/controller.h"
#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab {

// "" if this process can replay natively, else why not (for exit 2).
std::string NativePreflight();
// Whether this machine's kernel uses x86 protection keys (the CPU has `pku`
// and the kernel enabled it: `ospke` in /proc/cpuinfo), so that PROT_EXEC
// alone is execute-only (SimOptions::pku).
bool HostHasPku();

namespace native {

// Runs a parsed trace on this machine's kernel: the controller's exit
// status (0, or 1 an op failed), or why the machine cannot run it.
Result<int> RunTrace(const Trace& trace, const Options& options,
                     std::ostream& out, std::ostream& err);

// Runs the trace file at `path` on this machine's kernel, printing what
// `rmaplab native` prints.  Returns 0 every op succeeded, 1 an op failed,
// 2 the trace does not parse or cannot be run here (why on `err`).
int ReplayFile(const std::string& path, const Options& options,
               std::ostream& out, std::ostream& err);

struct DiffOptions {
  std::string trace_path;
  std::string design = "anon_vma_chain";
  bool keep_going = false;
  bool check = true;  // the model's checker after every op
  KsmTunables ksm;    // for both sides
};

// Whether `rmaplab diff` compares the `stats` key `key` in the block
// printed for trace line `line` of `trace` (diff_command.cc, invariant 2).
bool DiffComparesStat(const Trace& trace, int line, std::string_view key);

// `rmaplab diff`: the model and this machine's kernel on one trace.
// Returns 0 agreement, 1 divergence or a failed model check, 2 an
// unparsable or skipped trace (see diff_command.cc).
int Diff(const DiffOptions& options, std::ostream& out, std::ostream& err);

}  // namespace native
}  // namespace rmaplab

#endif  // RMAPLAB_NATIVE_NATIVE_H_
