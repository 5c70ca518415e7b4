// diff_command.cc: `rmaplab diff TRACE`: replays one trace on the model and
// on this machine's kernel, in this process, and compares what they print.
//
// The kernel is the oracle (DESIGN.md, "Correctness has two oracles"):
//  (1) `maps`, `pagemap` and `error` lines must match byte for byte, in
//      order.
//  (2) `stats` blocks are compared only on kComparedStats, the keys both
//      sides print with the same meaning.  The native replayer counts only
//      the trace's own pages and VMAs, so `pages_resident` (the model also
//      counts shmem pages no one maps, pinned pages no one maps, ...) and
//      `page_faults` (native adds the workers' own stack faults after fork)
//      are not comparable; the rmap counters exist only in the model.
//  (3) The model runs first, under the checker; a trace the model cannot run
//      (ENOSYS) or the machine cannot run (native exit 2, not root) is
//      skipped with its reason and exit status 2, never reported as
//      agreement.
//
// Exit status: 0 agreement, 1 divergence (or the model's checker failed),
// 2 usage error, unparsable trace, or skipped.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "native/controller.h"
#include "native/machine.h"
#include "native/native.h"
#include "native/subcommand.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

constexpr char kUsage[] =
    R"(usage: rmaplab diff [--design NAME] [--keep-going] [--no-check] TRACE

Replays TRACE on the model (as 'rmaplab replay --check') and on this
machine's kernel (as 'rmaplab native'), and compares their output line by
line: maps, pagemap and error lines exactly; stats only on the keys both
count alike (processes, vmas).  On the first divergence it prints the trace
line, both outputs around it and the trace ops leading up to it.

  --design NAME   the model's reverse-map design (default anon_vma_chain)
  --keep-going    go on after a refused op, on both sides
  --no-check      do not run the model's checker after every op

Exit status: 0 the outputs agree; 1 they diverge, or the model's checker
failed; 2 bad usage, a trace that does not parse, or a trace that was
skipped because the model or this machine cannot run it (the reason is
printed, starting with "skipped:").
)";

// Stats keys that mean the same on both sides; see invariant (2).
constexpr std::string_view kComparedStats[] = {"processes", "vmas"};

// Lines of context shown around a divergence, and trace ops before it.
constexpr int kContext = 6;
constexpr int kOpsBefore = 12;

struct Args {
  std::string trace_path;
  std::string design = "anon_vma_chain";
  bool keep_going = false;
  bool check = true;
  bool help = false;
};

std::string ParseArgs(const std::vector<std::string>& argv, Args* args) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--design") {
      if (i + 1 >= argv.size()) return "--design needs a value";
      args->design = argv[++i];
    } else if (a == "--keep-going") {
      args->keep_going = true;
    } else if (a == "--no-check") {
      args->check = false;
    } else if (std::string bad = TakeCommonArg(a, &args->help, &args->trace_path);
               !bad.empty()) {
      return bad;
    }
  }
  return NeedTrace(args->help, args->trace_path);
}

// One printed line and the trace line it belongs to (the last header's or
// error's `line=`).
struct OutLine {
  std::string text;
  int trace_line = 0;
};

int LineField(const std::string& s) {
  size_t p = s.find("line=");
  if (p == std::string::npos) return 0;
  return std::atoi(s.c_str() + p + 5);
}

// Splits `text` into lines, dropping stats keys outside kComparedStats.
std::vector<OutLine> Normalize(const std::string& text) {
  std::vector<OutLine> lines;
  std::istringstream in(text);
  std::string s;
  int trace_line = 0;
  bool in_stats = false;
  while (std::getline(in, s)) {
    bool header = s.rfind("# ", 0) == 0 || s.rfind("error ", 0) == 0;
    if (header) {
      trace_line = LineField(s);
      in_stats = s.rfind("# stats", 0) == 0;
    } else if (in_stats) {
      std::string key = s.substr(0, s.find(' '));
      if (std::find(std::begin(kComparedStats), std::end(kComparedStats),
                    key) == std::end(kComparedStats)) {
        continue;
      }
    }
    lines.push_back({s, trace_line});
  }
  return lines;
}

void PrintAround(std::ostream& out, const char* who,
                 const std::vector<OutLine>& lines, size_t at) {
  out << "--- " << who << " output around it (lines " << at + 1
      << " marked '>'):\n";
  size_t from = at > kContext ? at - kContext : 0;
  size_t to = std::min(lines.size(), at + kContext + 1);
  for (size_t i = from; i < to; ++i)
    out << (i == at ? "> " : "  ") << lines[i].text << '\n';
  if (at >= lines.size()) out << "> (end of output)\n";
}

void PrintOpsBefore(std::ostream& out, const std::string& source,
                    const Trace& trace, int line) {
  std::vector<std::string> text;
  std::istringstream in(source);
  for (std::string s; std::getline(in, s);) text.push_back(s);
  std::vector<int> lines;
  for (const Op& op : trace.ops)
    if (op.line <= line) lines.push_back(op.line);
  size_t from = lines.size() > kOpsBefore ? lines.size() - kOpsBefore : 0;
  out << "--- trace ops up to line " << line << ":\n";
  for (size_t i = from; i < lines.size(); ++i) {
    int l = lines[i];
    if (l >= 1 && static_cast<size_t>(l) <= text.size())
      out << l << ": " << text[l - 1] << '\n';
  }
}

// The address range a maps or pagemap line shows, or false.
bool LineRange(const std::string& s, uint64_t* start, uint64_t* end) {
  char* rest = nullptr;
  *start = std::strtoull(s.c_str(), &rest, 16);
  if (rest == s.c_str()) return false;
  *end = *start + kPageSize;
  if (*rest == '-') *end = std::strtoull(rest + 1, &rest, 16);
  return *rest == ' ' && *end > *start;
}

bool Touches(const Op& op, uint64_t start, uint64_t end) {
  auto overlaps = [&](uint64_t a, uint64_t len) {
    return a < end && start < a + std::max(len, kPageSize);
  };
  switch (op.kind) {
    case OpKind::kFork: case OpKind::kExit:
      return true;
    case OpKind::kMaps: case OpKind::kStats:
      return false;
    case OpKind::kMremap:
      return overlaps(op.addr, std::max(op.len, op.new_len)) ||
             (op.has_new_addr && overlaps(op.new_addr, op.new_len));
    default:
      return op.pid != 0 && overlaps(op.addr, op.len);
  }
}

// For a divergence in a maps or pagemap line: every op before `line` that
// touched its address range, and every fork and exit (the history of that
// memory, which the ops just before a final dump rarely show).
void PrintHistory(std::ostream& out, const std::string& source,
                  const Trace& trace, int line, const std::string& a,
                  const std::string& b) {
  uint64_t start, end, s2, e2;
  bool have = LineRange(a, &start, &end);
  if (LineRange(b, &s2, &e2)) {
    if (!have) start = s2, end = e2;
    start = std::min(start, s2);
    end = std::max(end, e2);
    have = true;
  }
  if (!have) return;
  std::vector<std::string> text;
  std::istringstream in(source);
  for (std::string s; std::getline(in, s);) text.push_back(s);
  out << "--- ops before line " << line << " touching [" << std::hex << start
      << ", " << end << std::dec << "), and forks and exits:\n";
  int shown = 0;
  for (const Op& op : trace.ops) {
    if (op.line >= line || !Touches(op, start, end)) continue;
    if (++shown > 40) {
      out << "(more)\n";
      break;
    }
    if (static_cast<size_t>(op.line) <= text.size())
      out << op.line << ": " << text[op.line - 1] << '\n';
  }
}

// Returns the exit status after printing the first divergence, or 0.
int Compare(const Args& args, const std::string& source, const Trace& trace,
            const std::string& model_out, const std::string& kernel_out,
            std::ostream& out) {
  std::vector<OutLine> m = Normalize(model_out);
  std::vector<OutLine> k = Normalize(kernel_out);
  size_t n = std::min(m.size(), k.size());
  size_t at = 0;
  while (at < n && m[at].text == k[at].text) ++at;
  if (at == n && m.size() == k.size()) {
    out << "agree: " << args.trace_path << " (" << m.size()
        << " output lines, design " << args.design << ")\n";
    return 0;
  }
  int line = at < m.size() ? m[at].trace_line : k[at].trace_line;
  if (at < m.size() && at < k.size())
    line = std::min(m[at].trace_line, k[at].trace_line);
  out << "DIVERGE: " << args.trace_path << ":" << line << ": output line "
      << at + 1 << "\n  model:  "
      << (at < m.size() ? m[at].text : "(end of output)") << "\n  kernel: "
      << (at < k.size() ? k[at].text : "(end of output)") << '\n';
  PrintAround(out, "model", m, at);
  PrintAround(out, "kernel", k, at);
  PrintOpsBefore(out, source, trace, line);
  PrintHistory(out, source, trace, line, at < m.size() ? m[at].text : "",
               at < k.size() ? k[at].text : "");
  return 1;
}

// The first op the model answered with ENOSYS, as "OP (line N): message".
std::string FirstUnsupported(const std::string& model_out,
                             const std::string& model_err) {
  std::istringstream in(model_out);
  for (std::string s; std::getline(in, s);) {
    if (s.rfind("error ", 0) == 0 && s.find("errno=ENOSYS") != std::string::npos) {
      std::string first_err = model_err.substr(0, model_err.find('\n'));
      return s + (first_err.empty() ? "" : " (" + first_err + ")");
    }
  }
  return "";
}

int RunNative(const Args& args, const Trace& trace, std::ostream& out,
              std::ostream& err) {
  Result<std::unique_ptr<native::Machine>> machine = native::Machine::Acquire();
  if (!machine.ok()) {
    err << machine.status().message();
    return 2;
  }
  native::Options options;
  options.keep_going = args.keep_going;
  native::Controller controller(machine.value().get(), options, out, err);
  Status s = controller.Start();
  if (!s.ok()) {
    err << "cannot start the first worker: " << s.message();
    return 2;
  }
  return controller.Run(trace);
}

int Diff(const Args& args, std::ostream& out, std::ostream& err) {
  std::ifstream file(args.trace_path, std::ios::binary);
  if (!file) {
    err << "rmaplab diff: cannot open " << args.trace_path << '\n';
    return 2;
  }
  std::stringstream buf;
  buf << file.rdbuf();
  std::string source = buf.str();
  Result<Trace> trace = ParseTrace(source, args.trace_path);
  if (!trace.ok()) {
    err << trace.status().message() << '\n';
    return 2;
  }

  SimOptions sopts;
  sopts.design = args.design;
  sopts.check = args.check;
  sopts.pku = HostHasPku();  // the model runs the kernel's own x86 rules
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(sopts);
  if (!sim.ok()) {
    err << "rmaplab diff: " << sim.status().message() << '\n';
    return 2;
  }
  std::ostringstream model_out, model_err;
  ReplayOptions ropts;
  ropts.keep_going = args.keep_going;
  int model_rc = Replay(trace.value(), *sim.value(), ropts, args.check,
                        model_out, model_err);
  std::string unsupported = FirstUnsupported(model_out.str(), model_err.str());
  if (!unsupported.empty()) {
    err << "skipped: " << args.trace_path
        << ": model does not support it yet: " << unsupported << '\n';
    return 2;
  }
  if (model_rc == 3) {
    out << "CHECK FAILED: " << args.trace_path
        << ": the model's checker failed:\n"
        << model_err.str();
    return 1;
  }
  if (geteuid() != 0) {
    err << "skipped: " << args.trace_path
        << ": native replay needs root to see /proc/kpageflags (zero, ksm, thp) "
           "and set up KSM and swap\n";
    return 2;
  }

  if (std::string why = NativePreflight(); !why.empty()) {
    err << "skipped: " << args.trace_path << ": " << why << '\n';
    return 2;
  }
  std::ostringstream kernel_out, kernel_err;
  int native_rc = RunNative(args, trace.value(), kernel_out, kernel_err);
  if (native_rc == 2) {
    std::string why = kernel_err.str();
    while (!why.empty() && why.back() == '\n') why.pop_back();
    err << "skipped: " << args.trace_path
        << ": this machine cannot run it natively: " << why << '\n';
    return 2;
  }
  return Compare(args, source, trace.value(), model_out.str(),
                 kernel_out.str(), out);
}

}  // namespace

int DiffCommand(const std::vector<std::string>& argv, std::ostream& out,
                std::ostream& err) {
  return RunSubcommand<Args>("diff", kUsage, argv, out, err, ParseArgs,
                             [&](const Args& args) { return Diff(args, out, err); });
}

}  // namespace rmaplab
