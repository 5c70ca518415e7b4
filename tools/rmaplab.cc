// rmaplab.cc: the `rmaplab` application: the table of subcommands, parsing,
// --help, and the mapping of usage errors and exceptions to exit statuses
// (invariants of cli.h).
#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "cli.h"
#include "options.h"

namespace rmaplab {
int CompareCommand(const std::vector<std::string>& args);
int ScenariosCommand(const std::vector<std::string>& args);
int ScenarioCommand(const std::vector<std::string>& args);
int ReportCommand(const std::vector<std::string>& args);
int SweepCommand(const std::vector<std::string>& args);
int ClaimsCommand(const std::vector<std::string>& args);  // claims_command.cc
int RecordCommand(const std::vector<std::string>& args);  // tools/record.cc

namespace cli {
namespace {

// compare, scenarios, scenario, report and sweep parse their own arguments
// with CLI11 (tools/compare.cc, scenario_command.cc, report_command.cc).
Run SetupCompareRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "compare",
                  "scenarios or traces under every design: tables, JSON, CSV, "
                  "an HTML report",
                  CompareCommand);
}
Run SetupScenariosRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "scenarios",
                  "list the named workloads, their parameters and defaults",
                  ScenariosCommand);
}
Run SetupScenarioRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "scenario", "write the trace a scenario runs",
                  ScenarioCommand);
}
Run SetupReportRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "report",
                  "merge compare results (JSON) into tables and a report",
                  ReportCommand);
}
Run SetupSweepRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "sweep",
                  "write one command per compare job (GNU parallel, Slurm)",
                  SweepCommand);
}
Run SetupClaimsRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "claims",
                  "the debates' claims, measured, each with its verdict",
                  ClaimsCommand);
}
Run SetupRecordRaw(CLI::App& app, Io io) {
  return SetupRaw(app, "record",
                  "run a command and write its anonymous memory as a trace",
                  RecordCommand);
}

// Every subcommand, in --help order.
constexpr Setup kCommands[] = {
    SetupReplay,        // tools/replay.cc
    SetupDesigns,       // tools/replay.cc
    SetupGraph,         // tools/graph.cc
    SetupCompareRaw,    // tools/compare.cc, through SetupRaw
    SetupScenariosRaw,  // tools/scenario_command.cc
    SetupScenarioRaw,   // tools/scenario_command.cc
    SetupReportRaw,     // tools/report_command.cc
    SetupSweepRaw,      // tools/report_command.cc
    SetupClaimsRaw,     // tools/claims_command.cc
    SetupGen,           // tools/gen.cc
    SetupNative,        // tools/native.cc
    SetupDiff,          // tools/native.cc
    SetupRecordRaw,     // tools/record.cc
};

constexpr char kFooter[] =
    "'rmaplab COMMAND --help' tells more.  The trace language is in\n"
    "docs/trace-format.md.";

// The name of the subcommand the error is about, as "rmaplab CMD".
std::string Who(const CLI::App& app) {
  std::vector<CLI::App*> chosen = app.get_subcommands();
  return chosen.empty() ? "rmaplab" : "rmaplab " + chosen[0]->get_name();
}

// Reports a usage error (invariant 2).
int UsageError(const CLI::App& app, const std::string& what, Io io) {
  std::string who = Who(app);
  *io.err << fmt::format("{}: {}\nRun '{} --help' for more information.\n", who,
                         what, who);
  return 2;
}

}  // namespace

Run SetupRaw(CLI::App& app, const std::string& name, const std::string& summary,
             std::function<int(const std::vector<std::string>&)> fn) {
  CLI::App* sub = app.add_subcommand(name, summary);
  sub->prefix_command();
  sub->set_help_flag();  // --help goes to `fn`
  return [sub, fn] { return fn(sub->remaining()); };
}

CLI::Option* AddSizeOption(CLI::App& app, const std::string& name,
                           uint64_t* pages, bool allow_zero,
                           const std::string& help) {
  auto parse = [=](const std::string& value) {
    Result<uint64_t> n = ParseSizePages(value, allow_zero);
    if (!n.ok())
      throw CLI::ValidationError(name + " " + value + ": " +
                                 n.status().message());
    *pages = n.value();
  };
  return app.add_option_function<std::string>(name, parse, help)
      ->type_name("SIZE");
}

int ParseRaw(CLI::App& app, const std::vector<std::string>& argv) {
  try {
    std::vector<std::string> rev(argv.rbegin(), argv.rend());
    app.parse(rev);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, std::cout, std::cerr) == 0 ? 0 : 2;
  }
  return -1;
}

void AddKsmOptions(CLI::App& app, uint32_t* max_page_sharing,
                   bool* use_zero_pages) {
  app.add_option("--ksm-max-page-sharing", *max_page_sharing,
                 "KSM's max_page_sharing: mappers per KSM page before a "
                 "duplicate is made")
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            unsigned long n = 0;
            try {
              n = std::stoul(v);
            } catch (const std::exception&) {
            }
            return n >= 2 && n <= (1u << 30) ? ""
                                             : "needs a number, at least 2";
          },
          "N>=2"))
      ->capture_default_str();
  app.add_flag("--ksm-use-zero-pages", *use_zero_pages,
               "KSM's use_zero_pages: merge empty pages into the zero page "
               "(default off, as Linux)");
}

int Main(const std::vector<std::string>& args, Io io) {
  CLI::App app(
      "Linux anonymous memory in user space, with pluggable reverse maps.",
      "rmaplab");
  app.require_subcommand(1);
  app.footer(kFooter);
  std::vector<Run> runs;
  for (Setup setup : kCommands) runs.push_back(setup(app, io));
  std::vector<CLI::App*> subs =
      app.get_subcommands([](CLI::App*) { return true; });
  if (args.empty()) {
    *io.err << app.help();
    return 2;
  }
  if (!args[0].empty() && args[0][0] != '-' &&
      std::none_of(subs.begin(), subs.end(),
                   [&](CLI::App* s) { return s->check_name(args[0]); }))
    return UsageError(app, "unknown command '" + args[0] + "'", io);
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, *io.out, *io.err);
    return UsageError(app, e.what(), io);
  }
  for (size_t i = 0; i < subs.size(); ++i) {
    if (!subs[i]->parsed()) continue;
    try {
      return runs[i]();
    } catch (const std::exception& e) {
      *io.err << fmt::format("rmaplab {}: {}\n", subs[i]->get_name(), e.what());
      return 2;
    }
  }
  return 2;  // unreachable: require_subcommand(1)
}

}  // namespace cli
}  // namespace rmaplab
