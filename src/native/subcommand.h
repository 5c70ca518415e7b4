// subcommand.h: what `rmaplab native` and `rmaplab diff` share around their
// own work: argument parsing, --help, usage errors and exceptions, each
// turned into the documented output and exit status (2 for anything that
// is not a result).
#ifndef RMAPLAB_NATIVE_SUBCOMMAND_H_
#define RMAPLAB_NATIVE_SUBCOMMAND_H_

#include <cstdint>
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

// --ksm-use-zero-pages and --ksm-max-page-sharing N (argv[*i] and, for a
// value, the next one): true if argv[*i] was one of them; *bad says what is
// wrong with it.
template <typename Tunables>
bool TakeKsmArg(const std::vector<std::string>& argv, size_t* i, Tunables* ksm,
                std::string* bad) {
  if (argv[*i] == "--ksm-use-zero-pages") {
    ksm->use_zero_pages = true;
    return true;
  }
  if (argv[*i] != "--ksm-max-page-sharing") return false;
  const std::string v = *i + 1 < argv.size() ? argv[++*i] : "";
  if (v.empty() || v.size() > 9 ||
      v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(v) < 2) {
    *bad = "--ksm-max-page-sharing needs a number, at least 2";
  } else {
    ksm->max_page_sharing = static_cast<uint32_t>(std::stoul(v));
  }
  return true;
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
