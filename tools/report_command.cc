// report_command.cc: `rmaplab report RESULT.json...`: merges the JSON of
// several `rmaplab compare --format json` runs (say, one per sweep, or the
// jobs of a cluster) into the same tables, CSV, JSON and HTML report, or
// the claims table (rmaplab/claims.h) judged on them.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"  // ParseRaw
#include "compare_doc.h"

namespace rmaplab {

int ReportCommand(const std::vector<std::string>& argv) {
  CLI::App app(
      "Merges the results of 'rmaplab compare --format json' runs "
      "(groups by id, runs in the order given) and prints them as "
      "compare does: headline tables, --format csv|json, --html.",
      "rmaplab report");
  std::vector<std::string> files;
  RenderOptions opts;
  app.add_option("results", files, "compare --format json outputs")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--format", opts.format,
                 "table, csv, json, or claims (the claims table of "
                 "docs/results.md, judged on these runs)")
      ->check(CLI::IsMember({"table", "csv", "json", "claims"}));
  app.add_flag("--all-columns", opts.all_columns, "table: every counter");
  app.add_option("--html", opts.html_path,
                 "also write the HTML report to FILE");
  if (int rc = cli::ParseRaw(app, argv); rc >= 0) return rc;
  std::vector<nlohmann::json> docs;
  for (const std::string& f : files) {
    std::ifstream in(f);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded()) {
      std::cerr << f << ": not JSON\n";
      return 2;
    }
    docs.push_back(std::move(doc));
  }
  nlohmann::json merged;
  if (!MergeDocuments(docs, &merged, std::cerr)) return 2;
  if (opts.format == "claims") {
    std::cout << ClaimsMarkdown(EvaluateClaims(merged));
    opts.format = "none";
  }
  return RenderDocument(merged, opts, std::cout, std::cerr);
}

}  // namespace rmaplab
