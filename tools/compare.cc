// compare.cc: `rmaplab compare`: scenarios (scenario.h) and trace files
// under every design, one job per scenario x design x sweep point, run in
// parallel (a Simulator per thread); then the headline tables, CSV, JSON or
// the HTML report (compare_doc.h).
//
// Invariants:
//  (1) The output order is the job order (groups as given, then designs in
//      registry order, then sweep points), whatever thread ran which job.
//  (2) Memory metrics come at their end value and at their peak, read after
//      every op (X_peak).
// Thread-safety: RunJob touches only its own Simulator and Trace.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"  // ParseRaw
#include "compare_doc.h"
#include "options.h"
#include "rmaplab/scenario.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {

namespace {

using nlohmann::json;

// The one place that reads the simulator's counters: Simulator::Stats()
// as it is today (name, value pairs).  Switch here when it becomes a
// struct.
std::map<std::string, uint64_t> ReadCounters(const Simulator& sim) {
  std::map<std::string, uint64_t> c;
  for (const auto& [k, v] : StatsEntries(sim.Stats())) c[k] = v;
  return c;
}

// State counters whose peak over the trace matters as much as their end
// value (rmap_chain_entries counts allocations: its peak is its end).
const char* const kPeakCounters[] = {"rmap_bytes", "rmap_bytes_i386", "vmas",
                                     "pages_resident"};
// Counters a full scan of every page (ScanAllPages) moves: scan_X.
const char* const kScanCounters[] = {"rmap_walks", "rmap_walk_steps",
                                     "rmap_wasted_steps",
                                     "rmap_lock_acquisitions"};

struct Job {
  size_t group = 0;
  std::string design;
  std::string sweep_value;
  std::shared_ptr<const Trace> trace;  // a trace file's, shared read-only
  const Scenario* scenario = nullptr;  // else generated in the job
  std::vector<std::pair<std::string, std::string>> overrides;
  SimOptions opts;
  bool mem_given = false;  // --mem overrides the scenario's memory
};

struct Outcome {
  json run;
  std::string fatal;  // the job could not run at all
};

void Ratio(json& m, const char* name, const char* num, const char* den) {
  if (m.contains(num) && m.contains(den) && m[den].get<uint64_t>() > 0)
    m[name] = m[num].get<double>() / m[den].get<double>();
}

Outcome RunJob(const Job& job) {
  Outcome o;
  std::shared_ptr<const Trace> trace = job.trace;
  SimOptions opts = job.opts;
  opts.design = job.design;
  json params = json::object();
  if (job.scenario) {
    Result<ScenarioArgs> args =
        ResolveScenarioArgs(*job.scenario, job.overrides);
    if (!args.ok()) return {json(), args.status().message()};
    for (const auto& [k, v] : args.value().Text()) params[k] = v;
    ScenarioTrace t = GenerateScenario(*job.scenario, args.value());
    if (!job.mem_given && t.mem_pages) opts.mem_pages = t.mem_pages;
    Result<Trace> parsed = ParseTrace(t.text, "scenario:" + job.scenario->name);
    if (!parsed.ok()) return {json(), parsed.status().message()};
    trace = std::make_shared<const Trace>(std::move(parsed.value()));
  }
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  if (!sim.ok()) return {json(), sim.status().message()};
  Simulator& s = *sim.value();
  std::map<std::string, uint64_t> peak;
  uint64_t errors = 0;
  std::string first_error;
  std::ostringstream sink;
  auto t0 = std::chrono::steady_clock::now();
  for (const Op& op : trace->ops) {
    if (s.Apply(op, sink) != Errno::kOk && errors++ == 0)
      first_error = "line " + std::to_string(op.line) + " " +
                    std::string(OpName(op.kind)) + ": " + s.last_message();
    sink.str("");
    rmaplab::Stats now = s.Stats();
    for (const char* k : kPeakCounters)
      peak[k] = std::max(peak[k], StatByName(now, k).value_or(0));
  }
  auto t1 = std::chrono::steady_clock::now();
  json m = json::object();
  std::map<std::string, uint64_t> end = ReadCounters(s);
  for (const auto& [k, v] : end) m[k] = v;
  for (const auto& [k, v] : peak) m[k + "_peak"] = v;
  s.ScanAllPages();
  std::map<std::string, uint64_t> scanned = ReadCounters(s);
  for (const char* k : kScanCounters)
    if (end.count(k)) m[std::string("scan_") + k] = scanned[k] - end[k];
  Ratio(m, "steps_per_reclaimed_page", "reclaim_rmap_walk_steps", "pgsteal");
  Ratio(m, "migrate_steps_per_page", "migrate_rmap_walk_steps",
        "pgmigrate_success");
  m["errors"] = errors;
  m["wall_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count();
  o.run = {{"group", ""},  // filled by the caller
           {"scenario", job.scenario ? job.scenario->name : trace->path},
           {"trace", job.scenario ? "" : trace->path},
           {"design", job.design},
           {"params", params},
           {"sweep_value", job.sweep_value},
           {"errors", errors},
           {"error_message", first_error},
           {"metrics", m}};
  return o;
}

// Runs every job on up to `threads` threads; results in job order.  A
// progress bar on stderr when it is a terminal.
std::vector<Outcome> RunJobs(const std::vector<Job>& jobs, unsigned threads) {
  std::vector<Outcome> out(jobs.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex progress_mu;
  bool bar = isatty(STDERR_FILENO);
  auto worker = [&] {
    for (size_t i; (i = next++) < jobs.size();) {
      out[i] = RunJob(jobs[i]);
      size_t d = ++done;
      if (!bar) continue;
      std::lock_guard<std::mutex> lock(progress_mu);
      size_t filled = 30 * d / jobs.size();
      std::cerr << "\r[" << std::string(filled, '#')
                << std::string(30 - filled, ' ') << "] " << d << "/"
                << jobs.size() << " jobs" << std::flush;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::max(1u, threads); ++t)
    pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  if (bar) std::cerr << "\r" << std::string(50, ' ') << "\r" << std::flush;
  return out;
}

struct CompareArgs {
  std::vector<std::string> scenarios, designs, params, traces;
  std::string sweep, format = "table", html, mem, swap;
  bool all_columns = false;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  int job = -1;  // run only this job of the plan
};

// The headline of a trace file (it declares none).
const std::vector<std::string> kTraceHeadline = {
    "steps_per_reclaimed_page", "rmap_walk_steps", "rmap_wasted_steps",
    "rmap_bytes_peak",          "rmap_bytes",      "wall_ms"};

// The command that reproduces one group.
std::string GroupCommand(const CompareArgs& a, const std::string& what,
                         const std::vector<std::string>& params,
                         const std::string& sweep) {
  std::string cmd = "rmaplab compare " + what;
  for (const std::string& p : params) cmd += " --param " + p;
  if (!sweep.empty()) cmd += " --sweep " + sweep;
  if (!a.mem.empty()) cmd += " --mem " + a.mem;
  if (!a.swap.empty()) cmd += " --swap " + a.swap;
  for (const std::string& d : a.designs) cmd += " --design " + d;
  return cmd;
}

// Builds the groups and jobs; an error message, or "".
std::string Plan(const CompareArgs& a, const SimOptions& opts, json* groups,
                 std::vector<Job>* jobs) {
  std::vector<std::string> designs =
      a.designs.empty() ? DesignNames() : a.designs;
  for (const std::string& d : designs)
    if (DesignSummary(d).empty()) return "unknown design '" + d + "'";
  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& p : a.params) {
    auto kv = ParseParamAssignment(p);
    if (!kv.ok()) return "--param " + kv.status().message();
    params.push_back(kv.value());
  }
  std::string sweep_key;
  std::vector<std::string> sweep_values;
  if (!a.sweep.empty()) {
    auto kv = ParseParamAssignment(a.sweep);
    if (!kv.ok()) return "--sweep " + kv.status().message();
    sweep_key = kv.value().first;
    std::stringstream ss(kv.value().second);
    for (std::string v; std::getline(ss, v, ',');) sweep_values.push_back(v);
    if (sweep_values.empty()) return "--sweep " + a.sweep + ": no values";
  }
  std::vector<const Scenario*> chosen;
  if (a.scenarios.empty() && a.traces.empty())
    for (const Scenario& s : Scenarios()) chosen.push_back(&s);
  for (const std::string& n : a.scenarios) {
    const Scenario* s = FindScenario(n);
    if (!s && std::filesystem::exists(n))
      return "unknown scenario '" + n +
             "': trace files go before the options or after --";
    if (!s) return "unknown scenario '" + n + "' (see 'rmaplab scenarios')";
    chosen.push_back(s);
  }
  auto has_param = [](const Scenario* s, const std::string& k) {
    for (const ScenarioParam& p : s->params)
      if (p.name == k) return true;
    return false;
  };
  for (const auto& [k, v] : params) {
    bool any = false;
    for (const Scenario* s : chosen) any |= has_param(s, k);
    if (!any && chosen.size() == 1)  // say which parameters it has
      return "--param " + k + "=" + v + ": " +
             ResolveScenarioArgs(*chosen[0], {{k, v}}).status().message();
    if (!any) return "--param " + k + ": no chosen scenario has it";
  }
  if (!sweep_key.empty()) {
    std::vector<const Scenario*> swept;
    for (const Scenario* s : chosen)
      if (has_param(s, sweep_key)) swept.push_back(s);
    if (swept.empty() && chosen.size() == 1)
      return "--sweep " + sweep_key + ": " +
             ResolveScenarioArgs(*chosen[0], {{sweep_key, "0"}})
                 .status()
                 .message();
    if (swept.empty())
      return "--sweep " + sweep_key + ": no chosen scenario has it";
    chosen = swept;  // a sweep draws curves of the scenarios that have it
  }
  for (const Scenario* s : chosen) {
    std::vector<std::pair<std::string, std::string>> own;
    std::vector<std::string> own_text;
    for (const auto& kv : params)
      if (has_param(s, kv.first)) {
        own.push_back(kv);
        own_text.push_back(kv.first + "=" + kv.second);
      }
    Result<ScenarioArgs> resolved = ResolveScenarioArgs(*s, own);
    if (!resolved.ok()) return resolved.status().message();
    json shown = json::object();
    for (const auto& [k, v] : resolved.value().Text())
      if (k != sweep_key) shown[k] = v;
    size_t gi = groups->size();
    std::string id = s->name;
    for (const std::string& p : own_text) id += " " + p;
    if (!sweep_key.empty()) id += " sweep " + a.sweep;
    groups->push_back({{"id", id},
                       {"scenario", s->name},
                       {"summary", s->summary},
                       {"reading", s->reading},
                       {"headline", s->headline},
                       {"params", shown},
                       {"sweep_param", sweep_key},
                       {"command", GroupCommand(a, "--scenario " + s->name,
                                                own_text, a.sweep)}});
    std::vector<std::string> points =
        sweep_key.empty() ? std::vector<std::string>{""} : sweep_values;
    for (const std::string& d : designs)
      for (const std::string& v : points) {
        Job j{gi, d, v, nullptr, s, own, opts, !a.mem.empty()};
        if (!sweep_key.empty()) j.overrides.emplace_back(sweep_key, v);
        jobs->push_back(j);
      }
  }
  for (const std::string& path : a.traces) {
    Result<Trace> t = ParseTraceFile(path);
    if (!t.ok()) return t.status().message();
    auto shared = std::make_shared<const Trace>(std::move(t.value()));
    size_t gi = groups->size();
    groups->push_back({{"id", "trace " + path},
                       {"scenario", path},
                       {"summary", "the trace file " + path},
                       {"reading", "the reverse map's costs on this trace"},
                       {"headline", kTraceHeadline},
                       {"params", json::object()},
                       {"sweep_param", ""},
                       {"command", GroupCommand(a, path, {}, "")}});
    for (const std::string& d : designs)
      jobs->push_back(Job{gi, d, "", shared, nullptr, {}, opts, true});
  }
  return "";
}

// Options compare and sweep share.
void AddPlanOptions(CLI::App& app, CompareArgs& a) {
  app.add_option("--scenario", a.scenarios,
                 "scenarios to run (NAME...; trace files go before the options "
                 "or after --)");
  app.add_option("--design", a.designs,
                 "design to run (repeatable; default all)")
      ->allow_extra_args(false);
  app.add_option("--param", a.params,
                 "NAME=VALUE for every chosen scenario that has NAME "
                 "(repeatable)")
      ->allow_extra_args(false);
  app.add_option("--sweep", a.sweep,
                 "NAME=V1,V2,...: a run per value, a curve per design");
  app.add_option("--mem", a.mem, "memory (e.g. 64M), overriding scenarios'");
  app.add_option("--swap", a.swap, "swap space (default 256G; 0 for none)");
  app.add_option("traces", a.traces, "trace files to run as well");
}

// The groups and jobs of `a`; false after saying why on stderr.
bool PlanFromArgs(const CompareArgs& a, const std::string& cmd, json* groups,
                  std::vector<Job>* jobs) {
  SimOptions opts;
  if (!a.mem.empty() &&
      !ParseSizeOption(cmd, "--mem", a.mem, false, &opts.mem_pages, std::cerr))
    return false;
  if (!a.swap.empty() && !ParseSizeOption(cmd, "--swap", a.swap, true,
                                          &opts.swap_pages, std::cerr))
    return false;
  if (std::string err = Plan(a, opts, groups, jobs); !err.empty()) {
    std::cerr << "rmaplab " << cmd << ": " << err << "\n";
    return false;
  }
  return true;
}

std::string ShellQuote(const std::string& s) {
  if (!s.empty() &&
      s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
                          "KLMNOPQRSTUVWXYZ0123456789_-+=.,/:@") ==
          std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

namespace {

void AddRunOptions(CLI::App& app, CompareArgs& a) {
  AddPlanOptions(app, a);
  app.add_option("-j,--jobs", a.jobs, "threads (default: the cores)")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--job", a.job,
                 "run only job N (from 0) of the plan, as 'rmaplab sweep' "
                 "writes them");
}

// Runs the plan of `a` into a result document (compare_doc.h); false after
// saying why on stderr.
bool RunPlan(const CompareArgs& a, const std::vector<std::string>& argv,
             json* doc) {
  json groups = json::array();
  std::vector<Job> jobs;
  if (!PlanFromArgs(a, "compare", &groups, &jobs)) return false;
  if (a.job >= 0) {
    if (static_cast<size_t>(a.job) >= jobs.size()) {
      std::cerr << "rmaplab compare: --job " << a.job << ": the plan has "
                << jobs.size() << " jobs\n";
      return false;
    }
    jobs = {jobs[a.job]};
  }
  std::vector<Outcome> outcomes = RunJobs(jobs, a.jobs);
  json runs = json::array();
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!outcomes[i].fatal.empty()) {
      std::cerr << "rmaplab compare: " << outcomes[i].fatal << "\n";
      return false;
    }
    outcomes[i].run["group"] = groups[jobs[i].group]["id"];
    runs.push_back(std::move(outcomes[i].run));
  }
  std::string command = "rmaplab compare";
  for (const std::string& s : argv) command += " " + ShellQuote(s);
  *doc = {{"format", kCompareFormat},
          {"command", command},
          {"groups", groups},
          {"runs", runs}};
  return true;
}

}  // namespace

bool CompareDocument(const std::vector<std::string>& argv, json* doc) {
  CLI::App app("rmaplab compare, as a document", "rmaplab compare");
  CompareArgs a;
  AddRunOptions(app, a);
  if (cli::ParseRaw(app, argv) >= 0) return false;
  return RunPlan(a, argv, doc);
}

int CompareCommand(const std::vector<std::string>& argv) {
  CLI::App app(
      "Runs scenarios (default: every one, at its defaults; see 'rmaplab "
      "scenarios') and trace files under every design, one job per scenario, "
      "design and sweep point, in parallel; prints one table per scenario "
      "with the metrics that answer its question (best marked *).  Memory "
      "metrics come at the end and at their peak (X_peak); scan_X is one "
      "walk of every mapped page's reverse map after the trace; ops a design "
      "cannot do are counted in 'errors'.",
      "rmaplab compare");
  CompareArgs a;
  AddRunOptions(app, a);
  app.add_option("--format", a.format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  app.add_flag("--all-columns", a.all_columns, "table: every counter");
  app.add_option("--html", a.html, "also write the HTML report to FILE");
  if (int rc = cli::ParseRaw(app, argv); rc >= 0) return rc;
  json doc;
  if (!RunPlan(a, argv, &doc)) return 2;
  return RenderDocument(doc, {a.format, a.all_columns, a.html}, std::cout,
                        std::cerr);
}

int SweepCommand(const std::vector<std::string>& argv) {
  CLI::App app(
      "Plans what 'rmaplab compare' with the same options would run and "
      "writes one shell command per job (scenario x design x sweep point) to "
      "the --jobs FILE, each writing its JSON result to DIR/job-NNNNN.json: "
      "run them with GNU parallel (parallel < FILE; across hosts with "
      "--sshlogin, where the binary and the working directory exist too) or "
      "a Slurm job array (sed -n \"${SLURM_ARRAY_TASK_ID}p\" FILE | sh), "
      "then merge with 'rmaplab report DIR/job-*.json'.",
      "rmaplab sweep");
  CompareArgs a;
  std::string jobs_file, dir = "results", binary;
  AddPlanOptions(app, a);
  app.add_option("--jobs", jobs_file, "write the job commands to FILE")
      ->required();
  app.add_option("--results", dir,
                 "directory of the jobs' JSON (default "
                 "results)");
  app.add_option("--binary", binary,
                 "rmaplab binary the jobs run (default "
                 "this one)");
  if (int rc = cli::ParseRaw(app, argv); rc >= 0) return rc;
  json groups = json::array();
  std::vector<Job> jobs;
  if (!PlanFromArgs(a, "sweep", &groups, &jobs)) return 2;
  if (binary.empty()) {
    std::error_code ec;
    binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) binary = "rmaplab";
  }
  std::string args;  // the plan's own options, in the order given
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    bool drop = s == "--jobs" || s == "--results" || s == "--binary";
    if (drop) {
      ++i;
      continue;
    }
    if (s.rfind("--jobs=", 0) == 0 || s.rfind("--results=", 0) == 0 ||
        s.rfind("--binary=", 0) == 0)
      continue;
    args += " " + ShellQuote(s);
  }
  std::ofstream out(jobs_file);
  for (size_t i = 0; i < jobs.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "job-%05zu.json", i);
    out << "mkdir -p " << ShellQuote(dir) << " && " << ShellQuote(binary)
        << " compare" << args << " --format json -j 1 --job " << i << " > "
        << ShellQuote(dir + "/" + name) << "\n";
  }
  if (!out.flush()) {
    std::cerr << "rmaplab sweep: cannot write " << jobs_file << "\n";
    return 2;
  }
  std::cerr << "rmaplab sweep: " << jobs.size() << " jobs in " << jobs_file
            << "; then: rmaplab report " << dir << "/job-*.json\n";
  return 0;
}

}  // namespace rmaplab
