// cli.h: the `rmaplab` command line: one CLI11 application whose
// subcommands each register themselves through a Setup function.
//
// Adding a subcommand FOO:
//   1. in tools/FOO.cc, `Run SetupFoo(CLI::App& app, Io io)` adds
//      `app.add_subcommand("FOO", "one-line summary")`, its options bound to
//      state it owns (a shared_ptr captured by the returned Run), and a
//      footer with its exit statuses; the returned Run does the work and
//      returns the exit status;
//   2. declare SetupFoo below and add it to kCommands in tools/rmaplab.cc
//      (one line).
// A subcommand with its own argument parser hooks in with SetupRaw (as
// compare does).
//
// Invariants:
//  (1) every subcommand takes -h/--help, printed by CLI11 in one format to
//      standard output, exit 0;
//  (2) bad usage (unknown option, missing or malformed value, unknown
//      command) prints "rmaplab CMD: what is wrong" and a hint to standard
//      error and exits 2; a Run's own failures keep their documented codes.
#ifndef RMAPLAB_TOOLS_CLI_H_
#define RMAPLAB_TOOLS_CLI_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace rmaplab::cli {

// Where a command prints.
struct Io {
  std::ostream* out;
  std::ostream* err;
};

// Runs a parsed subcommand; returns the exit status.
using Run = std::function<int()>;
// Adds one subcommand to `app`; returns what runs it once parsed.
using Setup = Run (*)(CLI::App& app, Io io);

Run SetupReplay(CLI::App& app, Io io);
Run SetupDesigns(CLI::App& app, Io io);
Run SetupGen(CLI::App& app, Io io);
Run SetupNative(CLI::App& app, Io io);
Run SetupDiff(CLI::App& app, Io io);
Run SetupGraph(CLI::App& app, Io io);  // tools/graph.cc

// A subcommand that parses its own arguments: `fn` gets every argument
// after the command name, --help included.
Run SetupRaw(CLI::App& app, const std::string& name, const std::string& summary,
             std::function<int(const std::vector<std::string>&)> fn);

// `--NAME SIZE` ("64M", "0x1000"; "0" too where `allow_zero`), stored in
// pages.
CLI::Option* AddSizeOption(CLI::App& app, const std::string& name,
                           uint64_t* pages, bool allow_zero,
                           const std::string& help);

// KSM's `--ksm-max-page-sharing N` (at least 2) and `--ksm-use-zero-pages`,
// as /sys/kernel/mm/ksm/ has them (replay, native and diff take both).
void AddKsmOptions(CLI::App& app, uint32_t* max_page_sharing,
                   bool* use_zero_pages);

// For a subcommand of its own parser (SetupRaw): parses `argv` with `app`;
// -1 to go on, else the exit status (0 after --help, 2 for bad usage).
int ParseRaw(CLI::App& app, const std::vector<std::string>& argv);

// `rmaplab ARGS...` (args excludes the program name): parses, runs the
// subcommand, returns the exit status.  Defined in rmaplab.cc.
int Main(const std::vector<std::string>& args, Io io);

}  // namespace rmaplab::cli

namespace rmaplab {

// One subcommand run as `rmaplab NAME ARGS...` (for tests).
inline int RunCommand(const std::string& name,
                      const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err) {
  std::vector<std::string> all = {name};
  all.insert(all.end(), args.begin(), args.end());
  return cli::Main(all, cli::Io{&out, &err});
}

inline int NativeCommand(const std::vector<std::string>& args,
                         std::ostream& out, std::ostream& err) {
  return RunCommand("native", args, out, err);
}
inline int DiffCommand(const std::vector<std::string>& args, std::ostream& out,
                       std::ostream& err) {
  return RunCommand("diff", args, out, err);
}
inline int GenCommand(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err) {
  return RunCommand("gen", args, out, err);
}

}  // namespace rmaplab

#endif  // RMAPLAB_TOOLS_CLI_H_
