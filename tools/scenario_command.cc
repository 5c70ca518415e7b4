// scenario_command.cc: `rmaplab scenarios` (the scenario library with its
// parameters and defaults) and `rmaplab scenario NAME [--param k=v]...`
// (writes the trace a scenario runs).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"  // ParseRaw
#include "rmaplab/scenario.h"

namespace rmaplab {

int ScenariosCommand(const std::vector<std::string>& argv) {
  CLI::App app(
      "Lists the scenarios: name, what it runs, its parameters "
      "with their defaults, and the metrics its table shows.",
      "rmaplab scenarios");
  if (int rc = cli::ParseRaw(app, argv); rc >= 0) return rc;
  for (const Scenario& s : Scenarios()) {
    std::cout << s.name << "  " << s.summary << "\n";
    if (!s.recorded.empty())
      std::cout << "    from " << s.recorded
                << " (embedded in rmaplab when it was built)\n";
    for (const ScenarioParam& p : s.params)
      std::cout << "    " << p.name << "=" << p.default_value << "  " << p.help
                << "\n";
    std::cout << "    headline:";
    for (const std::string& m : s.headline) std::cout << " " << m;
    std::cout << "\n";
  }
  return 0;
}

int ScenarioCommand(const std::vector<std::string>& argv) {
  CLI::App app(
      "Writes the trace of scenario NAME (see 'rmaplab scenarios') "
      "with its parameters at their defaults or as --param sets "
      "them.  Its header says how it was made and, for a scenario "
      "under memory pressure, the --mem to replay it with.",
      "rmaplab scenario");
  std::string name, output;
  std::vector<std::string> params;
  app.add_option("name", name, "scenario name")->required();
  app.add_option("--param", params, "NAME=VALUE (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-o,--output", output, "write to FILE, not standard output");
  if (int rc = cli::ParseRaw(app, argv); rc >= 0) return rc;
  const Scenario* s = FindScenario(name);
  if (!s) {
    std::cerr << "rmaplab scenario: unknown scenario '" << name
              << "' (see 'rmaplab scenarios')\n";
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const std::string& p : params) {
    auto kv = ParseParamAssignment(p);
    if (!kv.ok()) {
      std::cerr << "rmaplab scenario: --param " << kv.status().message()
                << "\n";
      return 2;
    }
    overrides.push_back(kv.value());
  }
  Result<ScenarioArgs> args = ResolveScenarioArgs(*s, overrides);
  if (!args.ok()) {
    std::cerr << "rmaplab scenario: " << args.status().message() << "\n";
    return 2;
  }
  std::string text = GenerateScenario(*s, args.value()).text;
  if (output.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream f(output);
  f << text;
  if (!f.flush()) {
    std::cerr << "rmaplab scenario: cannot write " << output << "\n";
    return 2;
  }
  return 0;
}

}  // namespace rmaplab
