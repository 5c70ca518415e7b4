// claims_command.cc: `rmaplab claims`: runs the measurements of every claim
// (rmaplab/claims.h) once each -- `rmaplab compare` groups, and the pin-bug
// traces replayed with and without their switches -- into one compare
// document, and prints the claims table with its verdicts (Markdown, the
// table of docs/results.md), the document as JSON (for `rmaplab report`),
// or the HTML report.
//
// Invariants:
//  (1) A measurement several claims share runs once; groups keep the order
//      of their first claim.
//  (2) Trace paths in the document are relative to the source tree, as the
//      claims name them, whatever --source says (a .gz trace is replayed
//      from a temporary copy gunzipped, under its own name).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"  // ParseRaw
#include "compare_doc.h"
#include "rmaplab/claims.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {

namespace {

using nlohmann::json;

// "# switch: --NAME" on the trace's first line, or "".
std::string SwitchOf(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::string tag = "# switch: ";
  return line.rfind(tag, 0) == 0 ? line.substr(tag.size()) : "";
}

// One replay of a pin-bug trace under `design`, --check --keep-going, with
// `sw` ("" for none): oracle_failures (the content oracle caught a lost or
// leaked DMA write) and other_failures (any other failed check, or a
// refused op but migrate's EBUSY).
json PinRun(const Trace& trace, const std::string& name,
            const std::string& design, const std::string& sw,
            std::string* fatal) {
  SimOptions opts;
  opts.design = design;
  opts.check = true;
  opts.unsafe_pin_check = sw == "--unsafe-pin-check";
  opts.legacy_fork_cow = sw == "--legacy-fork-cow";
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  if (!sim.ok()) {
    *fatal = sim.status().message();
    return json();
  }
  std::ostringstream out;
  ReplayResult r = Replay(trace, *sim.value(), out, {.keep_going = true});
  bool oracle = !r.check.ok() &&
                r.check.message().find("content oracle") != std::string::npos;
  uint64_t other = !r.check.ok() && !oracle;
  std::istringstream lines(out.str());
  for (std::string l; std::getline(lines, l);)
    other += l.rfind("error ", 0) == 0 &&
             l.find("op=migrate errno=EBUSY") == std::string::npos;
  return {{"group", "pin-bugs"},
          {"scenario", "pin-bugs"},
          {"trace", trace.path},
          {"design", design},
          {"params", json::object()},
          {"sweep_value", sw.empty() ? name : name + " " + sw},
          {"errors", r.ops_failed},
          {"error_message", r.check.ok() ? "" : r.check.message()},
          {"metrics",
           {{"oracle_failures", oracle ? 1 : 0},
            {"other_failures", other},
            {"ops", r.ops_run}}}};
}

// The pin-bug traces of `dir` under every design, without and with the
// switch each names, as a compare document of one group.
bool PinDocument(const std::string& source, const std::string& dir, json* doc) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(source + "/" + dir, ec))
    if (e.path().extension() == ".trace") paths.push_back(e.path().string());
  if (ec || paths.empty()) {
    std::cerr << "rmaplab claims: no pin-bug traces in " << source << "/" << dir
              << "\n";
    return false;
  }
  std::sort(paths.begin(), paths.end());
  json runs = json::array();
  for (const std::string& p : paths) {
    Result<Trace> trace = ParseTraceFile(p);
    if (!trace.ok()) {
      std::cerr << trace.status().message() << "\n";
      return false;
    }
    std::string name = std::filesystem::path(p).stem().string();
    for (const std::string& d : DesignNames())
      for (const std::string& sw : {std::string(), SwitchOf(p)}) {
        std::string fatal;
        json run = PinRun(trace.value(), name, d, sw, &fatal);
        if (!fatal.empty()) {
          std::cerr << "rmaplab claims: " << fatal << "\n";
          return false;
        }
        runs.push_back(std::move(run));
      }
  }
  std::string cmd = "scripts/check-pin-switches rmaplab " + dir;
  json group = {
      {"id", "pin-bugs"},
      {"scenario", "pin-bugs"},
      {"summary",
       "seed 003: the pin-bug traces (" + dir +
           "), replayed --check --keep-going under every design without and "
           "with the switch each names (--unsafe-pin-check, "
           "--legacy-fork-cow)"},
      {"reading",
       "oracle_failures: the content oracle caught a lost or leaked DMA "
       "write (0 without the switch, 1 with it); other_failures: any other "
       "failure"},
      {"headline", {"oracle_failures", "other_failures"}},
      {"params", json::object()},
      {"sweep_param", "trace and switch"},
      {"command", cmd}};
  *doc = {{"format", kCompareFormat},
          {"command", cmd},
          {"groups", json::array({group})},
          {"runs", runs}};
  return true;
}

// Replaces `from` by `to` in every string of `j`.
void ReplacePrefix(json& j, const std::string& from, const std::string& to) {
  if (j.is_string()) {
    std::string s = j;
    for (size_t at; (at = s.find(from)) != std::string::npos;)
      s.replace(at, from.size(), to);
    j = s;
  } else if (j.is_structured()) {
    for (json& v : j) ReplacePrefix(v, from, to);
  }
}

// `gzip -dc PATH` into a temporary file (removed by the caller); "" after
// saying why on stderr.
std::string Gunzip(const std::string& path) {
  char tmp[] = "/tmp/rmaplab-claims-XXXXXX";
  int fd = mkstemp(tmp);
  if (fd < 0) {
    std::cerr << "rmaplab claims: cannot create a temporary file\n";
    return "";
  }
  close(fd);
  std::string cmd = "gzip -dc '" + path + "' > " + tmp;
  if (std::system(cmd.c_str()) != 0) {
    std::cerr << "rmaplab claims: " << path << ": cannot gunzip\n";
    std::remove(tmp);
    return "";
  }
  return tmp;
}

// The document of one measurement.
bool Measure(const ClaimMeasurement& m, const std::string& source,
             unsigned threads, json* doc) {
  std::vector<std::string> argv;
  std::string path = source + "/" + m.what, unzipped;
  switch (m.kind) {
    case MeasurementKind::kPinSwitches:
      return PinDocument(source, m.what, doc);
    case MeasurementKind::kTrace:
      if (path.ends_with(".gz") && (unzipped = Gunzip(path)).empty())
        return false;
      argv = {unzipped.empty() ? path : unzipped};
      break;
    case MeasurementKind::kScenario:
      argv = {"--scenario", m.what};
      for (const std::string& p : m.params) argv.push_back("--param=" + p);
      if (!m.sweep.empty()) argv.push_back("--sweep=" + m.sweep);
      break;
  }
  argv.push_back("-j");
  argv.push_back(std::to_string(threads));
  bool ok = CompareDocument(argv, doc);
  if (!unzipped.empty()) std::remove(unzipped.c_str());
  if (ok && m.kind == MeasurementKind::kTrace)  // invariant 2
    ReplacePrefix(*doc, unzipped.empty() ? path : unzipped, m.what);
  return ok;
}

}  // namespace

int ClaimsCommand(const std::vector<std::string>& argv) {
  CLI::App app(
      "Runs what every claim of the debates needs (compare groups, the "
      "pin-bug traces with and without their switches) and prints each "
      "claim with what rmaplab measures and its verdict: reproduced, "
      "contradicted or not measurable here (docs/results.md's table).",
      "rmaplab claims");
  std::string format = "markdown", html, source;
#ifdef RMAPLAB_SOURCE_DIR
  source = RMAPLAB_SOURCE_DIR;
#else
  source = ".";
#endif
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--format", format,
                 "markdown (the claims table), json (the document with every "
                 "run and the claims, for 'rmaplab report') or table (the "
                 "groups' headline tables)")
      ->check(CLI::IsMember({"markdown", "json", "table"}));
  app.add_option("--html", html, "also write the HTML report to FILE");
  app.add_option("--source", source,
                 "the source tree (its examples/ and tests/traces/)");
  app.add_option("-j,--jobs", threads, "threads (default: the cores)")
      ->check(CLI::Range(1u, 1024u));
  if (int rc = cli::ParseRaw(app, argv); rc >= 0) return rc;
  std::vector<json> docs;
  std::set<std::string> done;
  for (const Claim& c : Claims())
    for (const ClaimMeasurement& m : c.measurements) {
      if (!done.insert(m.GroupId()).second) continue;  // invariant 1
      json doc;
      if (!Measure(m, source, threads, &doc)) return 2;
      docs.push_back(std::move(doc));
    }
  json merged;
  if (!MergeDocuments(docs, &merged, std::cerr)) return 2;
  merged["command"] = "rmaplab claims";
  json claims = EvaluateClaims(merged);
  if (format == "markdown") {
    std::cout << ClaimsMarkdown(claims);
  } else if (format == "json") {
    merged["claims"] = claims;
    std::cout << merged.dump(1) << "\n";
  }
  RenderOptions opts{format == "table" ? "table" : "none", false, html};
  return RenderDocument(merged, opts, std::cout, std::cerr);
}

}  // namespace rmaplab
