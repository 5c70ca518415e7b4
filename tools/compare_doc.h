// compare_doc.h: the result document of `rmaplab compare` (and of
// `rmaplab report`, which merges several), and its renderings: the
// per-scenario headline tables, CSV, JSON and the HTML report.
//
// The document (JSON, "rmaplab-compare/1"):
//   {"format": "rmaplab-compare/1", "command": "...",
//    "groups": [{"id", "scenario", "summary", "reading", "headline": [...],
//                "params": {...}, "sweep_param": "" | NAME,
//                "command": "..."}],
//    "runs": [{"group", "scenario", "trace", "design", "params": {...},
//              "sweep_value": "", "errors", "error_message",
//              "metrics": {NAME: number}}]}
// A group is one table: a scenario (or trace file) at one parameter set,
// swept or not.
//
// The HTML report adds "claims": the verdict of every claim of
// rmaplab/claims.h on the document's runs (EvaluateClaims).
//
// Invariants:
//  (1) Rendering is a pure function of the document: runs keep the order
//      they have in it, so the same jobs give the same output.
//  (2) Every counter of every run is in the JSON and CSV renderings.
//  (3) A merged document holds each (group, design, sweep point) once: the
//      first document's run wins.
// Thread-safety: pure functions.
#ifndef RMAPLAB_TOOLS_COMPARE_DOC_H_
#define RMAPLAB_TOOLS_COMPARE_DOC_H_

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rmaplab {

inline constexpr const char* kCompareFormat = "rmaplab-compare/1";

struct RenderOptions {
  std::string format = "table";  // table, csv, json or none
  bool all_columns = false;      // table: every counter, not the headline
  std::string html_path;         // also write the HTML report there
};

// Lower is better for every metric but these (what KSM merged, pages
// migrated).
bool HigherIsBetter(const std::string& metric);

// Renders `doc` on `out` as `opts` says, and writes the HTML report if
// asked.  Returns the exit status (0, or 2 with a message on `err`).
int RenderDocument(const nlohmann::json& doc, const RenderOptions& opts,
                   std::ostream& out, std::ostream& err);

// Merges documents: groups by id (the first wins), runs in order, a run of
// a group, design and sweep point already seen dropped (invariant 3).  An
// error (on `err`, returns false) for a document of another format.
bool MergeDocuments(const std::vector<nlohmann::json>& docs,
                    nlohmann::json* merged, std::ostream& err);

// `rmaplab compare ARGV` (ARGV: compare's plan options and -j) as a
// document, without rendering it; false after saying why on stderr.
// (tools/compare.cc)
bool CompareDocument(const std::vector<std::string>& argv, nlohmann::json* doc);

// The claims of rmaplab/claims.h judged on the runs of `doc`: an array of
// {"id", "source", "text", "verdict", "measured", "why", "commands": [...],
// "groups": [ids of doc's groups the claim read]}, in Claims() order.
nlohmann::json EvaluateClaims(const nlohmann::json& doc);

// The claims table of docs/results.md: one row per claim (Markdown).
std::string ClaimsMarkdown(const nlohmann::json& claims);

// One CSV field, quoted per RFC 4180 where it needs to be.
std::string CsvField(const std::string& text);

}  // namespace rmaplab

#endif  // RMAPLAB_TOOLS_COMPARE_DOC_H_
