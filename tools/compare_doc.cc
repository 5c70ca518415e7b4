// compare_doc.cc: renders compare's result document (compare_doc.h): the
// headline tables for a terminal, CSV and JSON with every counter, and the
// HTML report through scripts/plot (matplotlib).
#include "compare_doc.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

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

// "3.57", "301", "1.2 M": a value for a sentence.
std::string Short(double v) {
  std::ostringstream s;
  if (v >= 1e6)
    s << std::setprecision(3) << v / 1e6 << " M";
  else if (v >= 100 || v == std::floor(v))
    s << std::fixed << std::setprecision(0) << v;
  else
    s << std::setprecision(3) << v;
  return s.str();
}

// Designs joined by ", "; past four, the first three and how many more.
std::string Join(const std::vector<std::string>& names) {
  std::string t;
  size_t shown = names.size() > 4 ? 3 : names.size();
  for (size_t i = 0; i < shown; ++i) t += (i ? ", " : "") + names[i];
  if (shown < names.size())
    t += " and " + std::to_string(names.size() - shown) + " more";
  return t;
}

// One metric across the designs of a table without a sweep.
struct Spread {
  std::string metric;
  double best = 0, worst = 0;
  std::vector<std::string> bests, worsts;
  double Ratio() const {  // worst / best, both ways; infinite against 0
    double lo = std::min(best, worst), hi = std::max(best, worst);
    return lo > 0 ? hi / lo : hi > 0 ? INFINITY : 1;
  }
};

Spread SpreadOf(const std::vector<json>& runs, const std::string& metric) {
  Spread sp;
  sp.metric = metric;
  bool higher = HigherIsBetter(metric), any = false;
  std::vector<std::pair<std::string, double>> vals;
  for (const json& r : runs)
    if (r["metrics"].contains(metric) && r["metrics"][metric].is_number())
      vals.emplace_back(r["design"], r["metrics"][metric].get<double>());
  for (const auto& [d, v] : vals) {
    if (!any) sp.best = sp.worst = v;
    any = true;
    sp.best = higher ? std::max(sp.best, v) : std::min(sp.best, v);
    sp.worst = higher ? std::min(sp.worst, v) : std::max(sp.worst, v);
  }
  for (const auto& [d, v] : vals) {
    if (v == sp.best) sp.bests.push_back(d);
    if (v == sp.worst) sp.worsts.push_back(d);
  }
  return sp;
}

// "M: best A (1), worst B (84): 84x apart", or "M: 4 under every design".
std::string Describe(const Spread& sp) {
  std::string m = sp.metric + ": ";
  if (sp.best == sp.worst) return m + Short(sp.best) + " under every design";
  if (sp.Ratio() < 1.1)
    return m + "within 10 % under every design (" +
           Short(std::min(sp.best, sp.worst)) + " to " +
           Short(std::max(sp.best, sp.worst)) + ")";
  std::string apart = Short(sp.Ratio()) + "x apart";
  if (std::isinf(sp.Ratio()))
    apart = sp.best == 0 ? "the best is 0" : "the worst is 0";
  return m + "best " + Join(sp.bests) + " (" + Short(sp.best) + "), worst " +
         Join(sp.worsts) + " (" + Short(sp.worst) + "): " + apart;
}

// For a sweep: how much the metric grows per design from the first point
// to the last, designs with the same factor together.
std::string Growth(const json& group, const std::vector<json>& runs,
                   const std::string& metric) {
  std::map<std::string, std::pair<double, double>> ends;  // first, last
  std::vector<std::string> order;
  std::string first, last;
  for (const json& r : runs) {
    if (!r["metrics"].contains(metric)) continue;
    double v = r["metrics"][metric].get<double>();
    std::string d = r["design"];
    if (!ends.count(d)) {
      ends[d] = {v, v};
      order.push_back(d);
      first = r["sweep_value"];
    }
    ends[d].second = v;
    last = r["sweep_value"];
  }
  std::map<std::string, std::vector<std::string>> by_factor;
  std::vector<std::string> factors;
  for (const std::string& d : order) {
    auto [a, b] = ends[d];
    std::string f = a > 0 ? std::string("x") + Short(b / a)
                          : std::string("0 -> ") + Short(b);
    if (!by_factor.count(f)) factors.push_back(f);
    by_factor[f].push_back(d);
  }
  std::string line = metric + " from " +
                     group.value("sweep_param", std::string()) + "=" + first +
                     " to " + last + ":";
  for (const std::string& f : factors)
    line += " " + f + " (" + Join(by_factor[f]) + ");";
  line.pop_back();
  return line;
}

// The table's answer, computed from its numbers: for its first headline
// metric (wall times aside), the best and worst designs and how far apart
// they are, and where that metric hardly differs, the column where the
// designs differ most; for a sweep, how much each design's value grows
// from the first point to the last.
std::string VerdictLines(const json& group, const std::vector<json>& runs,
                         const std::vector<std::string>& cols) {
  std::vector<Spread> spreads;
  for (const std::string& c : cols) {
    if (c == "wall_ms") continue;
    Spread sp = SpreadOf(runs, c);
    if (!sp.bests.empty()) spreads.push_back(sp);
  }
  if (spreads.empty()) return "";
  if (!group.value("sweep_param", std::string()).empty())
    return "=> " + Growth(group, runs, spreads[0].metric) + "\n";
  std::string out = "=> " + Describe(spreads[0]) + "\n";
  if (spreads[0].Ratio() >= 1.1) return out;
  const Spread* most = &spreads[0];
  for (const Spread& sp : spreads)
    if (sp.Ratio() > most->Ratio()) most = &sp;
  if (most->Ratio() >= 1.1) out += "=> most apart: " + Describe(*most) + "\n";
  return out;
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
  std::vector<std::string> headline;
  for (const json& m : group["headline"]) headline.push_back(m);
  out << VerdictLines(group, runs, headline) << "\n";
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
