// record.cc: `rmaplab record [-o FILE] [--truth] -- CMD [ARGS...]`, the
// command-line edge of src/native/record.h.  One entry, RecordCommand.
#include "native/record.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace rmaplab {

int RecordCommand(const std::vector<std::string>& args) {
  CLI::App app{
      "Runs CMD (as root) and writes its anonymous memory as a trace: every\n"
      "fork, exec, exit, memory system call and user page fault of CMD and "
      "its\n"
      "descendants, relocated into the native window.  See docs/record.md.\n"
      "usage: rmaplab record [-o FILE] [--truth] -- CMD [ARGS...]\n"
      "\n"
      "exit status: 0 recorded; 1 CMD exited non-zero or was killed (trace\n"
      "written, marked incomplete); 2 bad usage, not root, or CMD cannot run;\n"
      "3 the kernel lost events (trace written, marked incomplete).",
      "rmaplab record"};
  record::RecordOptions opts;
  app.add_option("-o,--output", opts.output,
                 "trace file (default: standard output)");
  app.add_flag(
      "--truth", opts.truth,
      "before each exit, pagemap the process's private mappings and note "
      "the kernel's anonymous page count (for scripts/record-truth)");
  // Everything after `--` is the command, options and all.
  auto dashes = std::find(args.begin(), args.end(), "--");
  std::vector<std::string> ours(args.begin(), dashes);
  if (dashes != args.end()) opts.argv.assign(dashes + 1, args.end());
  std::reverse(ours.begin(), ours.end());  // CLI11 takes them last first
  try {
    app.parse(ours);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e, std::cout, std::cerr);
    return rc == 0 ? 0 : record::kRecordUsage;
  }
  return record::Record(opts, std::cout, std::cerr);
}

}  // namespace rmaplab
