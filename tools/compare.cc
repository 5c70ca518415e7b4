// compare.cc: `rmaplab compare`: the same traces under every design, one
// table of costs.  The main job of `make run`.
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "options.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {

namespace {

constexpr const char* kCompareUsage =
    "usage: rmaplab compare [--format table|csv|json] [--design NAME]...\n"
    "                       [--mem SIZE] [--swap SIZE] TRACE...\n"
    "\n"
    "Replays each TRACE under every design (or the --design ones), then walks\n"
    "the reverse map of every mapped anonymous page once (what one pass of\n"
    "page_referenced() over all memory costs: the scan_* columns), and prints\n"
    "one row per trace and design with the counters that differ between\n"
    "designs.  --mem and --swap work as for replay: with little memory,\n"
    "reclaim walks the reverse map and its cost shows in\n"
    "reclaim_rmap_walk_steps.  Ops a design cannot do are counted in the\n"
    "'errors' column, not hidden.\n";

// Counters at the end of the trace, then the cost of one full scan
// (scan_*), then the wall time of the replay alone.
const std::vector<std::string> kColumns = {
    "rmap_bytes", "rmap_bytes_i386", "page_struct_bytes_i386", "rmap_walks",
    "rmap_walk_steps", "rmap_wasted_steps", "rmap_lock_acquisitions",
    "scan_rmap_walks", "scan_rmap_walk_steps", "scan_rmap_wasted_steps",
    "rmap_chain_entries", "rmap_fork_work", "wasted_pages", "vmas", "cow_copies",
    "pswpout", "pgsteal", "reclaim_rmap_walks", "reclaim_rmap_walk_steps",
    "swapoff_ptes", "swapoff_pte_slots", "swapoff_object_visits", "oom_kills",
    "wall_ms"};


struct Row {
  std::string trace, design;
  std::map<std::string, uint64_t> v;
  int errors = 0;
};

Row RunOne(const Trace& trace, SimOptions opts, const std::string& design) {
  Row row{trace.path, design, {}, 0};
  opts.design = design;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  std::ostringstream sink;
  auto t0 = std::chrono::steady_clock::now();
  for (const Op& op : trace.ops)
    if (sim.value()->Apply(op, sink) != Errno::kOk) row.errors++;
  auto t1 = std::chrono::steady_clock::now();
  for (const auto& [k, v] : StatsEntries(sim.value()->Stats())) row.v[k] = v;  // before the scan
  sim.value()->ScanAllPages();
  for (const char* k : {"rmap_walks", "rmap_walk_steps", "rmap_wasted_steps",
                        "rmap_lock_acquisitions"})
    row.v[std::string("scan_") + k] = 0;
  for (const auto& [k, v] : StatsEntries(sim.value()->Stats()))
    if (row.v.count("scan_" + k)) row.v["scan_" + k] = v - row.v[k];
  row.v["wall_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count();
  return row;
}

void PrintTable(const std::vector<Row>& rows, std::ostream& out) {
  out << "trace design";
  for (const auto& c : kColumns) out << ' ' << c;
  out << " errors\n";
  for (const Row& r : rows) {
    out << r.trace << ' ' << r.design;
    for (const auto& c : kColumns) {
      if (r.v.count(c)) out << ' ' << r.v.at(c);
      else out << " n/a";  // the design has no such mechanism
    }
    out << ' ' << r.errors << '\n';
  }
}

void PrintJson(const std::vector<Row>& rows, std::ostream& out) {
  out << "[\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << "  {\"trace\": \"" << r.trace << "\", \"design\": \"" << r.design << "\"";
    for (const auto& c : kColumns) {
      out << ", \"" << c << "\": ";
      if (r.v.count(c)) out << r.v.at(c);
      else out << "null";
    }
    out << ", \"errors\": " << r.errors << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "]\n";
}

}  // namespace

int CompareCommand(const std::vector<std::string>& args) {
  std::string format = "table";
  std::vector<std::string> designs, paths;
  SimOptions opts;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kCompareUsage;
      return 0;
    } else if ((args[i] == "--mem" || args[i] == "--swap") && i + 1 < args.size()) {
      bool mem = args[i] == "--mem";
      if (!ParseSizeOption("compare", args[i], args[i + 1], !mem,
                           mem ? &opts.mem_pages : &opts.swap_pages, std::cerr))
        return 2;
      ++i;
    } else if ((args[i] == "--format" || args[i] == "--design") && i + 1 < args.size()) {
      (args[i] == "--format" ? format : designs.emplace_back()) = args[i + 1];
      ++i;
    } else if (!args[i].empty() && args[i][0] == '-') {
      std::cerr << "rmaplab compare: bad option '" << args[i] << "'\n" << kCompareUsage;
      return 2;
    } else {
      paths.push_back(args[i]);
    }
  }
  if (paths.empty() || (format != "table" && format != "csv" && format != "json")) {
    std::cerr << kCompareUsage;
    return 2;
  }
  if (designs.empty()) designs = DesignNames();
  for (const std::string& d : designs) {
    if (DesignSummary(d).empty()) {
      std::cerr << "rmaplab compare: unknown design '" << d << "'\n";
      return 2;
    }
  }
  std::vector<Row> rows;
  for (const std::string& p : paths) {
    Result<Trace> t = ParseTraceFile(p);
    if (!t.ok()) {
      std::cerr << t.status().message() << "\n";
      return 2;
    }
    for (const std::string& d : designs) rows.push_back(RunOne(t.value(), opts, d));
  }
  if (format == "json") {
    PrintJson(rows, std::cout);
  } else if (format == "csv") {
    std::ostringstream s;
    PrintTable(rows, s);
    std::string text = s.str();
    for (char& c : text)
      if (c == ' ') c = ',';
    std::cout << text;
  } else {
    PrintTable(rows, std::cout);
  }
  return 0;
}

}  // namespace rmaplab
