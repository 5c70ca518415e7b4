// subcommand.h: what `rmaplab native` and `rmaplab diff` share around their
// own work: argument parsing, --help, usage errors and exceptions, each
// turned into the documented output and exit status (2 for anything that
// is not a result).
#ifndef RMAPLAB_NATIVE_SUBCOMMAND_H_
#define RMAPLAB_NATIVE_SUBCOMMAND_H_

#include <exception>
#include <ostream>
#include <string>
#include <vector>

namespace rmaplab {

// An argument every subcommand takes the same way: --help/-h, an unknown
// option, or the one trace path.  Returns what is wrong, or "".
inline std::string TakeCommonArg(const std::string& a, bool* help,
                                 std::string* trace_path) {
  if (a == "--help" || a == "-h") {
    *help = true;
  } else if (!a.empty() && a[0] == '-') {
    return "unknown option " + a;
  } else if (!trace_path->empty()) {
    return "more than one trace given";
  } else {
    *trace_path = a;
  }
  return "";
}

// After the arguments: a trace is needed unless only --help was asked.
inline std::string NeedTrace(bool help, const std::string& trace_path) {
  return trace_path.empty() && !help ? "no trace given" : "";
}

// parse(argv, &args) returns "" or what is wrong; args.help asks for the
// usage; run(args) does the work and returns the exit status.
template <typename Args, typename Parse, typename Run>
int RunSubcommand(const char* name, const char* usage,
                  const std::vector<std::string>& argv, std::ostream& out,
                  std::ostream& err, Parse&& parse, Run&& run) {
  Args args;
  std::string problem = parse(argv, &args);
  if (args.help) {
    out << usage;
    return 0;
  }
  if (!problem.empty()) {
    err << "rmaplab " << name << ": " << problem << "\n" << usage;
    return 2;
  }
  try {
    return run(args);
  } catch (const std::exception& e) {
    err << "rmaplab " << name << ": " << e.what() << '\n';
    return 2;
  }
}

}  // namespace rmaplab

#endif  // RMAPLAB_NATIVE_SUBCOMMAND_H_
