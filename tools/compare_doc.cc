// compare_doc.cc: renders compare's result document (compare_doc.h): the
// headline tables for a terminal, CSV and JSON with every counter, and the
// HTML report through scripts/plot (matplotlib).
#include "compare_doc.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include "rmaplab/claims.h"

extern char** environ;

namespace rmaplab {

namespace {

using nlohmann::json;

// "12", "4.30", or "n/a" where the run has no such counter (the design has
// no such mechanism).
std::string FormatValue(const json& metrics, const std::string& key) {
  if (!metrics.contains(key) || !metrics[key].is_number()) return "n/a";
  double v = metrics[key].get<double>();
  std::ostringstream s;
  if (metrics[key].is_number_integer() || metrics[key].is_number_unsigned())
    s << metrics[key].get<uint64_t>();
  else
    s << std::fixed << std::setprecision(2) << v;
  return s.str();
}

std::vector<json> RunsOf(const json& doc, const std::string& group) {
  std::vector<json> runs;
  for (const json& r : doc["runs"])
    if (r["group"] == group) runs.push_back(r);
  return runs;
}

// Every metric any run of `runs` has, sorted.
std::vector<std::string> AllMetrics(const std::vector<json>& runs) {
  std::set<std::string> keys;
  for (const json& r : runs)
    for (const auto& [k, v] : r["metrics"].items()) keys.insert(k);
  return {keys.begin(), keys.end()};
}

// Marks, per column and among rows of the same sweep value, the best
// value when the rows differ: returns marks[row][column].
std::vector<std::vector<bool>> BestMarks(const std::vector<json>& runs,
                                         const std::vector<std::string>& cols) {
  std::vector<std::vector<bool>> marks(runs.size(),
                                       std::vector<bool>(cols.size(), false));
  for (size_t c = 0; c < cols.size(); ++c) {
    bool higher = HigherIsBetter(cols[c]);
    std::map<std::string, std::pair<double, double>> range;  // best, worst
    auto value = [&](const json& r, double* v) {
      const json& m = r["metrics"];
      if (!m.contains(cols[c]) || !m[cols[c]].is_number()) return false;
      *v = m[cols[c]].get<double>();
      return true;
    };
    for (const json& r : runs) {
      double v;
      if (!value(r, &v)) continue;
      std::string point = r.value("sweep_value", "");
      auto [it, fresh] = range.try_emplace(point, v, v);
      auto& [best, worst] = it->second;
      if (higher ? v > best : v < best) best = v;
      if (higher ? v < worst : v > worst) worst = v;
    }
    for (size_t i = 0; i < runs.size(); ++i) {
      double v;
      if (!value(runs[i], &v)) continue;
      auto [best, worst] = range[runs[i].value("sweep_value", "")];
      marks[i][c] = best != worst && v == best;
    }
  }
  return marks;
}

std::string ParamsText(const json& params) {
  std::string text;
  for (const auto& [k, v] : params.items())
    text += (text.empty() ? "" : " ") + k + "=" + v.get<std::string>();
  return text;
}

void PrintGroupTable(const json& group, const std::vector<json>& runs,
                     bool all_columns, std::ostream& out) {
  std::vector<std::string> cols;
  if (all_columns) {
    cols = AllMetrics(runs);
  } else {
    for (const json& m : group["headline"]) cols.push_back(m);
  }
  bool errors = false;
  for (const json& r : runs) errors |= r["errors"].get<uint64_t>() > 0;
  for (const std::string& c : cols) errors &= c != "errors";
  std::string sweep = group.value("sweep_param", "");
  out << "== " << group["scenario"].get<std::string>();
  if (!group["params"].empty())
    out << "  [" << ParamsText(group["params"]) << "]";
  if (!sweep.empty()) out << "  sweeping " << sweep;
  out << "\n   " << group["summary"].get<std::string>()
      << "\n   shows: " << group["reading"].get<std::string>()
      << " (* best)\n   $ " << group["command"].get<std::string>() << "\n";
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head = {"design"};
  if (!sweep.empty()) head.push_back(sweep);
  head.insert(head.end(), cols.begin(), cols.end());
  if (errors) head.push_back("errors");
  cells.push_back(head);
  std::vector<std::vector<bool>> marks = BestMarks(runs, cols);
  for (size_t i = 0; i < runs.size(); ++i) {
    const json& r = runs[i];
    std::vector<std::string> row = {r["design"]};
    if (!sweep.empty()) row.push_back(r["sweep_value"]);
    for (size_t c = 0; c < cols.size(); ++c)
      row.push_back(FormatValue(r["metrics"], cols[c]) +
                    (marks[i][c] ? " *" : ""));
    if (errors) row.push_back(std::to_string(r["errors"].get<uint64_t>()));
    cells.push_back(row);
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c == 0)
        out << std::left << std::setw(static_cast<int>(width[c])) << row[c];
      else
        out << "  " << std::right << std::setw(static_cast<int>(width[c]))
            << row[c];
    }
    out << "\n";
  }
  for (const json& r : runs)
    if (r["errors"].get<uint64_t>() > 0)
      out << "   " << r["design"].get<std::string>() << ": "
          << r["errors"].get<uint64_t>()
          << " ops refused; first: " << r.value("error_message", "") << "\n";
  out << "\n";
}

void PrintCsv(const json& doc, std::ostream& out) {
  std::vector<json> runs(doc["runs"].begin(), doc["runs"].end());
  std::vector<std::string> metrics = AllMetrics(runs);
  std::vector<std::string> head = {"scenario", "trace",       "design",
                                   "params",   "sweep_param", "sweep_value",
                                   "errors"};
  head.insert(head.end(), metrics.begin(), metrics.end());
  for (size_t i = 0; i < head.size(); ++i)
    out << (i ? "," : "") << CsvField(head[i]);
  out << "\r\n";
  std::map<std::string, std::string> sweep_of;
  for (const json& g : doc["groups"])
    sweep_of[g["id"]] = g.value("sweep_param", "");
  for (const json& r : runs) {
    std::vector<std::string> row = {
        r["scenario"],
        r["trace"],
        r["design"],
        ParamsText(r["params"]),
        sweep_of[r["group"]],
        r["sweep_value"],
        std::to_string(r["errors"].get<uint64_t>())};
    for (const std::string& m : metrics)
      row.push_back(FormatValue(r["metrics"], m));
    for (size_t i = 0; i < row.size(); ++i)
      out << (i ? "," : "") << CsvField(row[i]);
    out << "\r\n";
  }
}

// The script that draws the report: $RMAPLAB_PLOT, else the source tree's.
std::string PlotScript() {
  if (const char* p = std::getenv("RMAPLAB_PLOT")) return p;
#ifdef RMAPLAB_SOURCE_DIR
  return std::string(RMAPLAB_SOURCE_DIR) + "/scripts/plot";
#else
  return "scripts/plot";
#endif
}

// Runs `scripts/plot --html PATH DOC` (its #! line names Debian's python3,
// which has python3-matplotlib), the document in a temporary file.
int WriteHtml(const json& doc, const std::string& path, std::ostream& err) {
  char tmp[] = "/tmp/rmaplab-report-XXXXXX";
  int fd = mkstemp(tmp);
  if (fd < 0) {
    err << "rmaplab: cannot create a temporary file for the report\n";
    return 2;
  }
  close(fd);
  {
    json with_claims = doc;
    with_claims["claims"] = EvaluateClaims(doc);
    std::ofstream f(tmp);
    f << with_claims.dump();
  }
  std::string script = PlotScript();
  std::vector<std::string> argv_s = {script, "--html", path, tmp};
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc =
      posix_spawn(&pid, script.c_str(), nullptr, nullptr, argv.data(), environ);
  int status = 0;
  if (rc == 0) waitpid(pid, &status, 0);
  std::remove(tmp);
  if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    err << "rmaplab: " << script << " could not write the report " << path
        << " (needs python3-matplotlib)\n";
    return 2;
  }
  return 0;
}

}  // namespace

bool HigherIsBetter(const std::string& metric) {
  return metric == "ksm_pages_sharing" || metric == "ksm_pages_shared" ||
         metric == "pgmigrate_success";
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string q = "\"";
  for (char c : text) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

int RenderDocument(const json& doc, const RenderOptions& opts,
                   std::ostream& out, std::ostream& err) {
  if (opts.format == "json") {
    out << doc.dump(1) << "\n";
  } else if (opts.format == "csv") {
    PrintCsv(doc, out);
  } else if (opts.format == "table") {
    for (const json& g : doc["groups"])
      PrintGroupTable(g, RunsOf(doc, g["id"]), opts.all_columns, out);
  }
  if (!opts.html_path.empty()) return WriteHtml(doc, opts.html_path, err);
  return 0;
}

bool MergeDocuments(const std::vector<json>& docs, json* merged,
                    std::ostream& err) {
  json out = {{"format", kCompareFormat},
              {"command", "rmaplab report"},
              {"groups", json::array()},
              {"runs", json::array()}};
  std::set<std::string> seen, seen_runs;
  for (const json& d : docs) {
    if (!d.is_object() || d.value("format", "") != kCompareFormat ||
        !d.contains("groups") || !d.contains("runs")) {
      err << "rmaplab report: not a " << kCompareFormat << " document\n";
      return false;
    }
    for (const json& g : d["groups"])
      if (seen.insert(g["id"].get<std::string>()).second)
        out["groups"].push_back(g);
    for (const json& r : d["runs"]) {
      std::string key = r.value("group", "") + "\n" + r.value("design", "") +
                        "\n" + r.value("sweep_value", "");
      if (seen_runs.insert(key).second) out["runs"].push_back(r);
    }
    if (d.contains("command"))
      out["command"] = out["command"].get<std::string>() +
                       "\n  of: " + d["command"].get<std::string>();
  }
  *merged = std::move(out);
  return true;
}

json EvaluateClaims(const json& doc) {
  json out = json::array();
  std::set<std::string> ids;
  for (const json& g : doc.value("groups", json::array()))
    ids.insert(g.value("id", ""));
  for (const Claim& c : Claims()) {
    ClaimRuns runs;
    json commands = json::array(), groups = json::array();
    for (const ClaimMeasurement& m : c.measurements) {
      std::string id = m.GroupId();
      commands.push_back(m.Command());
      if (ids.count(id)) groups.push_back(id);
      std::vector<ClaimRun>& mine = runs.emplace_back();
      for (const json& r : doc.value("runs", json::array())) {
        if (r.value("group", "") != id) continue;
        ClaimRun run{r.value("design", ""), r.value("sweep_value", ""), {}};
        for (const auto& [k, v] : r["metrics"].items())
          if (v.is_number()) run.metrics[k] = v.get<double>();
        run.metrics["errors"] = r.value("errors", 0.0);
        mine.push_back(std::move(run));
      }
    }
    ClaimFinding f = JudgeClaim(c, runs);
    out.push_back({{"id", c.id},
                   {"source", c.source},
                   {"text", c.text},
                   {"verdict", std::string(VerdictName(f.verdict))},
                   {"measured", f.measured},
                   {"why", f.why},
                   {"commands", commands},
                   {"groups", groups}});
  }
  return out;
}

std::string ClaimsMarkdown(const json& claims) {
  auto cell = [](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '|') out += '\\';
      out += c;
    }
    return out;
  };
  std::ostringstream md;
  md << "| claim | source | what rmaplab measures | verdict | command |\n"
     << "|---|---|---|---|---|\n";
  for (const json& c : claims) {
    std::ostringstream verdict, commands;
    verdict << "**" << c["verdict"].get<std::string>() << "**";
    if (!c["why"].get<std::string>().empty())
      verdict << ": " << c["why"].get<std::string>();
    for (const json& cmd : c["commands"])
      commands << (commands.tellp() > 0 ? "<br>" : "") << "`"
               << cmd.get<std::string>() << "`";
    std::string measured = c["measured"];
    md << "| " << cell(c["text"]) << " | " << cell(c["source"]) << " | "
       << (measured.empty() ? "-" : cell(measured)) << " | "
       << cell(verdict.str()) << " | "
       << (commands.tellp() > 0 ? cell(commands.str()) : "-") << " |\n";
  }
  return md.str();
}

}  // namespace rmaplab
