// replay.cc: `rmaplab replay` and `rmaplab designs`: the command line over
// the library's Simulator and Replay (rmaplab/sim.h).  Exit statuses are
// decided here, not in the library.
#include <fmt/format.h>

#include <memory>

#include "cli.h"
#include "rmaplab/sim.h"
#include "rmaplab/stats.h"
#include "rmaplab/trace.h"

namespace rmaplab::cli {
namespace {

constexpr char kReplayFooter[] =
    R"(Prints what the trace's maps, pagemap and stats ops print, and
'error line=N op=OP errno=E' for refused ops.  With --mem below what the
trace touches, faults reclaim first and call the OOM killer last
('# oom-kill pid=P line=L' on standard output).

Exit status: 0 every op succeeded; 1 an op failed (errno or EXPECT);
2 bad usage or a trace that does not parse (FILE:LINE:COLUMN: ...);
3 the checker found a broken invariant or lost data.)";

struct ReplayArgs {
  SimOptions sim;
  ReplayOptions replay;
  bool stats = false;
  std::string path;
};

// The exit status of a replay (kReplayFooter).
int ExitStatus(const ReplayResult& r) {
  if (!r.check.ok()) return 3;
  return r.ops_failed ? 1 : 0;
}

// What a replay has to say on standard error: ENOSYS reasons, a failed
// check, per-op-kind times.
void PrintNotes(const ReplayResult& r, std::ostream& err) {
  for (const std::string& why : r.unsupported) err << why << '\n';
  if (!r.check.ok()) err << r.check.message() << '\n';
  if (r.times.empty()) return;
  err << "# time per op kind (wall, simulator)\n";
  for (const OpKindTime& t : r.times)
    err << fmt::format("{} count={} total_us={:.1f} mean_us={:.3f}\n",
                       OpName(t.kind), t.count, t.total_us,
                       t.total_us / t.count);
}

void PrintFinalStats(const std::string& design, const Stats& stats,
                     std::ostream& out) {
  out << fmt::format("# stats design={} end\n", design);
  for (const auto& [name, value] : StatsEntries(stats))
    out << fmt::format("{} {}\n", name, value);
}

int RunReplay(const ReplayArgs& args, Io io) {
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(args.sim);
  if (!sim.ok()) {
    *io.err << "rmaplab replay: " << sim.status().message() << "\n";
    return 2;
  }
  Result<Trace> trace = ParseTraceFile(args.path);
  if (!trace.ok()) {
    *io.err << trace.status().message() << "\n";
    return 2;
  }
  ReplayResult r = Replay(trace.value(), *sim.value(), *io.out, args.replay);
  io.out->flush();
  PrintNotes(r, *io.err);
  if (args.stats && r.check.ok())
    PrintFinalStats(args.sim.design, sim.value()->Stats(), *io.out);
  return ExitStatus(r);
}

}  // namespace

Run SetupReplay(CLI::App& app, Io io) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* sub = app.add_subcommand(
      "replay", "replay a trace on the model and print its output");
  sub->footer(kReplayFooter);
  sub->add_option("--design", args->sim.design,
                  "reverse-map design (see 'rmaplab designs')")
      ->type_name("NAME")
      ->capture_default_str();
  sub->add_flag("--check", args->sim.check,
                "after every op, run the content oracle and the whole-state "
                "invariant checker (slow: O(state) per op)");
  sub->add_flag("--keep-going", args->replay.keep_going,
                "go on after a refused op (exit status 1 at the end)");
  sub->add_flag("--stats", args->stats, "print the stats counters at the end");
  sub->add_flag("--time", args->replay.time,
                "per-op-kind wall time on standard error");
  AddSizeOption(*sub, "--mem", &args->sim.mem_pages, false,
                "memory for anonymous and shmem pages (e.g. 64M; default "
                "256G, so that small traces never reclaim)");
  AddSizeOption(*sub, "--swap", &args->sim.swap_pages, true,
                "swap space (default 256G; 0 for none)");
  sub->add_option("--numa-nodes", args->sim.numa_nodes,
                  "NUMA nodes pages can migrate between")
      ->type_name("N")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  AddKsmOptions(*sub, &args->sim.ksm_max_page_sharing,
                &args->sim.ksm_use_zero_pages);
  sub->add_flag("--unsafe-pin-check", args->sim.unsafe_pin_check,
                "bring back a historical bug on purpose: KSM merging and "
                "migration skip the mapcount-versus-refcount check, so a "
                "pinned page is merged or migrated and a later dmawrite "
                "through the pin is lost or leaks (seed 003's 2008 race)");
  sub->add_flag("--legacy-fork-cow", args->sim.legacy_fork_cow,
                "bring back a historical bug on purpose: fork shares pinned "
                "anonymous pages COW instead of copying them (before Linux "
                "5.9; the class of CVE-2020-29374), so after the "
                "parent's next write a dmawrite reaches the child's page");
  sub->add_option("TRACE", args->path, "the trace file")->required();
  return [args, io] { return RunReplay(*args, io); };
}

Run SetupDesigns(CLI::App& app, Io io) {
  CLI::App* sub = app.add_subcommand("designs", "list the reverse-map designs");
  sub->footer("Prints one design a line: NAME  summary.");
  return [io] {
    for (const std::string& n : DesignNames())
      *io.out << fmt::format("{}  {}\n", n, DesignSummary(n));
    return 0;
  };
}

}  // namespace rmaplab::cli
