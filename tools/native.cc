// native.cc: `rmaplab native` and `rmaplab diff`: the command line over the
// native replayer (src/native/native.h).
#include "native/native.h"

#include <memory>

#include "cli.h"

namespace rmaplab::cli {
namespace {

constexpr char kNativeFooter[] =
    R"(Runs TRACE on this machine's kernel, one real process per trace pid, and
prints maps/pagemap/stats/error lines in the same format as the simulator.

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
                 processes, ksm_pages_shared/sharing and
                 ksm_stable_node_chains/dups (the trace's own: ksmd first
                 clears what earlier runs left),
                 page_faults (workers' minflt+majflt, delta; includes a few
                 faults on the workers' own stacks after fork); the rmap
                 counters exist only in the simulator
Workers run on CPU 0.  `pin`/`dmawrite`/`unpin` use io_uring registered
buffers (FOLL_LONGTERM) and IORING_OP_READ_FIXED.

Exit status: 0 ok, 1 an op failed, 2 bad usage or input, or the trace cannot
be run natively.)";

constexpr char kDiffFooter[] =
    R"(Replays TRACE on the model (as 'rmaplab replay --check') and on this
machine's kernel (as 'rmaplab native'), and compares their output line by
line: maps, pagemap and error lines exactly; stats only on the keys both
count alike (processes, vmas, the ksm_ counters).  On the first divergence
it prints the trace line, both outputs around it and the trace ops leading
up to it.  The KSM options apply to both sides.

Exit status: 0 the outputs agree; 1 they diverge, or the model's checker
failed; 2 bad usage, a trace that does not parse, or a trace that was
skipped because the model or this machine cannot run it (the reason is
printed, starting with "skipped:").)";

struct NativeArgs {
  native::Options options;
  std::string path;
};

}  // namespace

Run SetupNative(CLI::App& app, Io io) {
  auto args = std::make_shared<NativeArgs>();
  CLI::App* sub = app.add_subcommand(
      "native", "run a trace on this machine's kernel, same output format");
  sub->footer(kNativeFooter);
  sub->add_flag("--time", args->options.time,
                "per-op-kind wall time (count, total, mean in us) on "
                "standard error at the end, timed around the syscalls only");
  sub->add_flag("--keep-going", args->options.keep_going,
                "go on after an op fails; exit 1 at the end");
  AddKsmOptions(*sub, &args->options.ksm.max_page_sharing,
                &args->options.ksm.use_zero_pages);
  sub->add_option("TRACE", args->path, "the trace file")->required();
  return [args, io] {
    return native::ReplayFile(args->path, args->options, *io.out, *io.err);
  };
}

Run SetupDiff(CLI::App& app, Io io) {
  auto args = std::make_shared<native::DiffOptions>();
  CLI::App* sub = app.add_subcommand(
      "diff", "run replay and native and show the first difference");
  sub->footer(kDiffFooter);
  sub->add_option("--design", args->design, "the model's reverse-map design")
      ->type_name("NAME")
      ->capture_default_str();
  sub->add_flag("--keep-going", args->keep_going,
                "go on after a refused op, on both sides");
  bool* check = &args->check;
  sub->add_flag_callback(
      "--no-check", [check] { *check = false; },
      "do not run the model's checker after every op");
  AddKsmOptions(*sub, &args->ksm.max_page_sharing, &args->ksm.use_zero_pages);
  sub->add_option("TRACE", args->trace_path, "the trace file")->required();
  return [args, io] { return native::Diff(*args, *io.out, *io.err); };
}

}  // namespace rmaplab::cli
