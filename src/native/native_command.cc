// native_command.cc: a trace file run on this machine's kernel, from the
// preflight to the controller's exit status (see native.h).  Its command
// line is tools/native.cc.
#include <ostream>
#include <string>

#include "native/controller.h"
#include "native/machine.h"
#include "native/native.h"

namespace rmaplab::native {

Result<int> RunTrace(const Trace& trace, const Options& options,
                     std::ostream& out, std::ostream& err) {
  Result<std::unique_ptr<Machine>> machine = Machine::Acquire();
  if (!machine.ok()) return machine.status();
  Controller controller(machine.value().get(), options, out, err);
  Status s = controller.Start();
  if (!s.ok())
    return Status::Error("cannot start the first worker: " + s.message());
  int status = controller.Run(trace);
  out.flush();
  return status;
}

int ReplayFile(const std::string& path, const Options& options,
               std::ostream& out, std::ostream& err) {
  if (std::string why = NativePreflight(); !why.empty()) {
    err << "rmaplab native: " << why << "\n";
    return 2;
  }
  Result<Trace> trace = ParseTraceFile(path);
  if (!trace.ok()) {
    err << trace.status().message() << '\n';
    return 2;
  }
  Result<int> status = RunTrace(trace.value(), options, out, err);
  if (!status.ok()) {
    err << "rmaplab native: " << status.status().message() << '\n';
    return 2;
  }
  return status.value();
}

}  // namespace rmaplab::native
