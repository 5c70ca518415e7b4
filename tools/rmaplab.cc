// rmaplab.cc: the command-line tool.  Subcommands: replay, designs, native,
// diff.  Exceptions stop here; exit statuses are documented in --help.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "native/native.h"
#include "options.h"
#include "rmaplab/gen.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
int CompareCommand(const std::vector<std::string>& args);
int RecordCommand(const std::vector<std::string>& args);  // tools/record.cc
namespace {

constexpr const char* kUsage =
    "usage: rmaplab COMMAND [ARGS]\n"
    "\n"
    "Linux anonymous memory in user space, with pluggable reverse maps.\n"
    "\n"
    "commands:\n"
    "  replay   replay a trace on the model and print its output\n"
    "  designs  list the reverse-map designs\n"
    "  compare  replay traces under every design; a table of their costs\n"
    "  native   run a trace on this machine's kernel, same output format\n"
    "  diff     run replay and native and show the first difference\n"
    "  record   run a command and write its anonymous memory as a trace\n"
    "\n"
    "'rmaplab COMMAND --help' tells more.  The trace language is in\n"
    "docs/trace-format.md.\n";

constexpr const char* kReplayUsage =
    "usage: rmaplab replay [OPTIONS] TRACE\n"
    "\n"
    "Replays TRACE on the model kernel and prints what its maps, pagemap and\n"
    "stats ops print, and 'error line=N op=OP errno=E' for refused ops.\n"
    "\n"
    "options:\n"
    "  --design NAME   reverse-map design (default anon_vma_chain; see\n"
    "                  'rmaplab designs')\n"
    "  --check         after every op, run the content oracle and the\n"
    "                  whole-state invariant checker (slow: O(state) per op)\n"
    "  --keep-going    go on after a refused op (exit status 1 at the end)\n"
    "  --stats         print the stats counters at the end\n"
    "  --time          per-op-kind wall time on standard error\n"
    "  --mem SIZE      memory for anonymous and shmem pages (e.g. 64M;\n"
    "                  default 256G, so that small traces never reclaim);\n"
    "                  below it, faults reclaim first and call the OOM killer\n"
    "                  last ('# oom-kill pid=P line=L' on standard output)\n"
    "  --swap SIZE     swap space (default 256G; 0 for none)\n"
    "  --numa-nodes N  NUMA nodes pages can migrate between (default 2)\n"
    "\n"
    "exit status: 0 every op succeeded; 1 an op failed (errno or EXPECT);\n"
    "2 bad usage or a trace that does not parse (FILE:LINE:COLUMN: ...);\n"
    "3 the checker found a broken invariant or lost data.\n";

bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}


int ReplayCommand(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << kReplayUsage;
    return 0;
  }
  SimOptions opts;
  ReplayOptions ropts;
  bool check = false, stats = false;
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> const std::string* {
      if (i + 1 >= args.size()) {
        std::cerr << "rmaplab replay: " << name << " needs a value\n";
        return nullptr;
      }
      return &args[++i];
    };
    if (a == "--design") {
      const std::string* v = value("--design");
      if (!v) return 2;
      opts.design = *v;
    } else if (a == "--check") {
      check = true;
    } else if (a == "--keep-going") {
      ropts.keep_going = true;
    } else if (a == "--stats") {
      stats = true;
    } else if (a == "--time") {
      ropts.time = true;
    } else if (a == "--mem") {
      const std::string* v = value("--mem");
      if (!v || !ParseSizeOption("replay", a, *v, false, &opts.mem_pages, std::cerr))
        return 2;
    } else if (a == "--numa-nodes") {
      const std::string* v = value("--numa-nodes");
      if (!v || v->empty() || v->size() > 2 ||
          v->find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(*v) < 1 || std::stoi(*v) > 64) {
        std::cerr << "rmaplab replay: --numa-nodes needs a number 1..64\n";
        return 2;
      }
      opts.numa_nodes = std::stoi(*v);
    } else if (a == "--swap") {
      const std::string* v = value("--swap");
      if (!v || !ParseSizeOption("replay", a, *v, true, &opts.swap_pages, std::cerr))
        return 2;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "rmaplab replay: unknown option '" << a << "'\n" << kReplayUsage;
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::cerr << "rmaplab replay: more than one trace given\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "rmaplab replay: no trace given\n" << kReplayUsage;
    return 2;
  }
  opts.check = check;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  if (!sim.ok()) {
    std::cerr << "rmaplab replay: " << sim.status().message() << "\n";
    return 2;
  }
  Result<Trace> trace = ParseTraceFile(path);
  if (!trace.ok()) {
    std::cerr << trace.status().message() << "\n";
    return 2;
  }
  int rc = Replay(trace.value(), *sim.value(), ropts, check, std::cout, std::cerr);
  if (stats && rc != 3) {
    std::cout << "# stats design=" << opts.design << " end\n";
    for (const auto& [k, v] : sim.value()->Stats()) std::cout << k << ' ' << v << '\n';
  }
  return rc;
}

int DesignsCommand(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << "usage: rmaplab designs\n\nLists the reverse-map designs, one a line: "
                 "NAME  summary.\n";
    return 0;
  }
  for (const std::string& n : DesignNames())
    std::cout << n << "  " << DesignSummary(n) << "\n";
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "replay") return ReplayCommand(args);
  if (cmd == "designs") return DesignsCommand(args);
  if (cmd == "compare") return CompareCommand(args);
  if (cmd == "native") return NativeCommand(args, std::cout, std::cerr);
  if (cmd == "diff") return DiffCommand(args, std::cout, std::cerr);
  if (cmd == "gen") return GenCommand(args, std::cout, std::cerr);
  if (cmd == "record") return RecordCommand(args);
  std::cerr << "rmaplab: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}

}  // namespace
}  // namespace rmaplab

int main(int argc, char** argv) {
  try {
    return rmaplab::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rmaplab: " << e.what() << "\n";
    return 2;
  }
}
