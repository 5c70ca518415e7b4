// native_command.cc: `rmaplab native [--time] [--keep-going] TRACE`, the
// command-line edge of the native replayer (exceptions stop here).  `rmaplab
// diff` is in diff_command.cc.
#include <ostream>
#include <string>
#include <vector>

#include "native/controller.h"
#include "native/machine.h"
#include "native/native.h"
#include "native/subcommand.h"

namespace rmaplab {
namespace {

constexpr char kUsage[] =
    R"(usage: rmaplab native [--time] [--keep-going] [KSM options] TRACE

Runs TRACE on this machine's kernel, one real process per trace pid, and
prints maps/pagemap/stats/error lines in the same format as the simulator.

  --time         print per-op-kind wall time (count, total, mean in us) to
                 stderr at the end, timed around the syscalls only
  --keep-going   go on after an op fails; exit 1 at the end
  --ksm-max-page-sharing N, --ksm-use-zero-pages
                 KSM's max_page_sharing (default 256) and use_zero_pages
                 (default off), set for the run as `rmaplab replay` takes them

Machine setup (root; restored on exit, error, SIGINT and SIGTERM; runs are
serialised by a lock on /run/lock/rmaplab-native.lock):
  KSM            `* ksm` drives ksmd through /sys/kernel/mm/ksm (smart_scan
                 off; `ksm PAGES` = one batch of PAGES pages)
  swap           a zram device (/dev/zram0 if free, else a hot-added one),
                 set up the first time pageout, reclaim or swapoff needs it
  reclaim        `* reclaim PAGES` writes PAGES*4096 to memory.reclaim of a
                 dedicated cgroup v2 when the memory controller is on cgroup
                 v2; otherwise MADV_PAGEOUT on up to PAGES present pages of
                 the trace's mappings, worker by worker (a weaker
                 approximation: MADV_PAGEOUT skips pages mapped by more than
                 one process)
  stats          pages_resident, pages_swapped, swap_slots_used, vmas,
                 processes, ksm_pages_shared/sharing (delta since start),
                 page_faults (workers' minflt+majflt, delta; includes a few
                 faults on the workers' own stacks after fork); the rmap
                 counters exist only in the simulator
Workers run on CPU 0.  `pin`/`dmawrite`/`unpin` use io_uring registered
buffers (FOLL_LONGTERM) and IORING_OP_READ_FIXED.

Exit status: 0 ok, 1 an op failed, 2 bad usage or input, or the trace cannot
be run natively.
)";

struct Args {
  native::Options options;
  std::string trace_path;
  bool help = false;
};

// Returns an error message, or "" when `args` parsed.
std::string ParseArgs(const std::vector<std::string>& argv, Args* args) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    std::string bad;
    if (TakeKsmArg(argv, &i, &args->options.ksm, &bad)) {
      if (!bad.empty()) return bad;
    } else if (a == "--time") {
      args->options.time = true;
    } else if (a == "--keep-going") {
      args->options.keep_going = true;
    } else if (std::string bad = TakeCommonArg(a, &args->help, &args->trace_path);
               !bad.empty()) {
      return bad;
    }
  }
  return NeedTrace(args->help, args->trace_path);
}

int Replay(const Args& args, std::ostream& out, std::ostream& err) {
  Result<Trace> trace = ParseTraceFile(args.trace_path);
  if (!trace.ok()) {
    err << trace.status().message() << '\n';
    return 2;
  }
  Result<std::unique_ptr<native::Machine>> machine = native::Machine::Acquire();
  if (!machine.ok()) {
    err << "rmaplab native: " << machine.status().message() << '\n';
    return 2;
  }
  native::Controller controller(machine.value().get(), args.options, out, err);
  Status s = controller.Start();
  if (!s.ok()) {
    err << "rmaplab native: cannot start the first worker: " << s.message()
        << '\n';
    return 2;
  }
  int status = controller.Run(trace.value());
  out.flush();
  return status;
}

}  // namespace

int NativeCommand(const std::vector<std::string>& argv, std::ostream& out,
                  std::ostream& err) {
  return RunSubcommand<Args>("native", kUsage, argv, out, err, ParseArgs,
                             [&](const Args& args) {
                               if (std::string why = NativePreflight(); !why.empty()) {
                                 err << "rmaplab native: " << why << "\n";
                                 return 2;
                               }
                               return Replay(args, out, err);
                             });
}

}  // namespace rmaplab
