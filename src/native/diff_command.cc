// diff_command.cc: `rmaplab diff TRACE`: replays one trace on the model and
// on this machine's kernel, in this process, and compares what they print.
//
// The kernel is the oracle (docs/verification.md, "rmaplab diff TRACE"):
//  (1) `maps`, `pagemap` and `error` lines must match byte for byte, in
//      order.
//  (2) `stats` blocks are compared only on kComparedStats, the keys both
//      sides print with the same meaning (the KSM ones: while nothing else
//      on the machine uses KSM), and on kComparedThpStats up to the first
//      `* thp SIZE always` (see there).  The native replayer counts only
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
// 2 unparsable trace, or skipped.  The command line is tools/native.cc.
#include <unistd.h>

#include <algorithm>
#include <climits>
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
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab::native {
namespace {

// Stats keys that mean the same on both sides; see invariant (2).
// The KSM counters are machine-wide deltas on the kernel's side: they hold
// while nothing else on the machine merges pages during the run.
constexpr std::string_view kComparedStats[] = {"processes",
                                               "vmas",
                                               "ksm_pages_shared",
                                               "ksm_pages_sharing",
                                               "ksm_stable_node_chains",
                                               "ksm_stable_node_dups"};

// The THP counters (/proc/vmstat, hugepages-<SIZE>kB/stats), every one the
// model prints: each means on both sides what Linux means by it (checked on
// tests/traces/thp-*.trace with a `stats` after every op).  They are
// machine-wide deltas on the kernel's side, so they hold while nothing else
// on the machine faults, splits, collapses or swaps out large folios: under
// the spec's policy (`madvise`, khugepaged held still) only the trace's
// MADV_HUGEPAGE regions get any.  After a `* thp SIZE always` every process
// does, the replayer's own heap and the workers' own stacks and exec'd
// images among them (seen: anon_fault_alloc_64kB counting a fault of no
// trace page), so from there on they are left out.
constexpr std::string_view kComparedThpStats[] = {
    "thp_fault_alloc",
    "thp_fault_fallback",
    "thp_split_pmd",
    "thp_split_page",
    "thp_deferred_split_page",
    "thp_collapse_alloc",
    "thp_swpout",
    "thp_swpout_fallback",
    "anon_fault_alloc_16kB",
    "anon_fault_alloc_32kB",
    "anon_fault_alloc_64kB",
    "anon_fault_alloc_128kB",
    "anon_fault_alloc_256kB",
    "anon_fault_alloc_512kB",
    "anon_fault_alloc_1024kB",
    "anon_fault_alloc_2048kB",
    "anon_fault_fallback_16kB",
    "anon_fault_fallback_32kB",
    "anon_fault_fallback_64kB",
    "anon_fault_fallback_128kB",
    "anon_fault_fallback_256kB",
    "anon_fault_fallback_512kB",
    "anon_fault_fallback_1024kB",
    "anon_fault_fallback_2048kB",
};

// Lines of context shown around a divergence, and trace ops before it.
constexpr int kContext = 6;
constexpr int kOpsBefore = 12;

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

template <size_t N>
bool Contains(const std::string_view (&keys)[N], std::string_view key) {
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

// The line of the trace's first `* thp SIZE always`, or INT_MAX.
int FirstThpAlways(const Trace& trace) {
  for (const Op& op : trace.ops)
    if (op.kind == OpKind::kThp && op.thp_mode == ThpMode::kAlways)
      return op.line;
  return INT_MAX;
}

// Splits `text` into lines, dropping stats keys DiffComparesStat leaves out.
std::vector<OutLine> Normalize(const std::string& text, const Trace& trace) {
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
    } else if (in_stats &&
               !DiffComparesStat(trace, trace_line, s.substr(0, s.find(' ')))) {
      continue;
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
    case OpKind::kFork:
    case OpKind::kExit:
    case OpKind::kExec:
      return true;
    case OpKind::kMaps:
    case OpKind::kStats:
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
int Compare(const DiffOptions& args, const std::string& source,
            const Trace& trace, const std::string& model_out,
            const std::string& kernel_out, std::ostream& out) {
  std::vector<OutLine> m = Normalize(model_out, trace);
  std::vector<OutLine> k = Normalize(kernel_out, trace);
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
      << at + 1
      << "\n  model:  " << (at < m.size() ? m[at].text : "(end of output)")
      << "\n  kernel: " << (at < k.size() ? k[at].text : "(end of output)")
      << '\n';
  PrintAround(out, "model", m, at);
  PrintAround(out, "kernel", k, at);
  PrintOpsBefore(out, source, trace, line);
  PrintHistory(out, source, trace, line, at < m.size() ? m[at].text : "",
               at < k.size() ? k[at].text : "");
  return 1;
}

// The first op the model answered with ENOSYS, as "OP (line N): message".
std::string FirstUnsupported(const std::string& model_out,
                             const ReplayResult& model) {
  std::istringstream in(model_out);
  for (std::string s; std::getline(in, s);) {
    if (s.rfind("error ", 0) == 0 &&
        s.find("errno=ENOSYS") != std::string::npos) {
      std::string first_err =
          model.unsupported.empty() ? "" : model.unsupported.front();
      return s + (first_err.empty() ? "" : " (" + first_err + ")");
    }
  }
  return "";
}

// The model's side under the checker, output in `model_out`.  Returns -1
// to go on, or the exit status of a skip (2) or a failed check (1).
int RunModel(const DiffOptions& args, const Trace& trace,
             std::ostringstream& model_out, std::ostream& out,
             std::ostream& err) {
  SimOptions sopts;
  sopts.design = args.design;
  sopts.check = args.check;
  sopts.pku = HostHasPku();
  sopts.ksm_max_page_sharing = args.ksm.max_page_sharing;
  sopts.ksm_use_zero_pages =
      args.ksm.use_zero_pages;  // the model runs the kernel's own x86 rules
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(sopts);
  if (!sim.ok()) {
    err << "rmaplab diff: " << sim.status().message() << '\n';
    return 2;
  }
  ReplayOptions ropts;
  ropts.keep_going = args.keep_going;
  ReplayResult model = Replay(trace, *sim.value(), model_out, ropts);
  std::string unsupported = FirstUnsupported(model_out.str(), model);
  if (!unsupported.empty()) {
    err << "skipped: " << args.trace_path
        << ": model does not support it yet: " << unsupported << '\n';
    return 2;
  }
  if (!model.check.ok()) {
    out << "CHECK FAILED: " << args.trace_path
        << ": the model's checker failed:\n"
        << model.check.message() << '\n';
    return 1;
  }
  return -1;
}

// Why this process cannot replay natively, or "".
std::string CannotRunNatively() {
  if (geteuid() != 0)
    return "native replay needs root to see /proc/kpageflags (zero, ksm, thp) "
           "and set up KSM and swap";
  return NativePreflight();
}

}  // namespace

bool DiffComparesStat(const Trace& trace, int line, std::string_view key) {
  if (Contains(kComparedStats, key)) return true;
  return Contains(kComparedThpStats, key) && line < FirstThpAlways(trace);
}

int Diff(const DiffOptions& args, std::ostream& out, std::ostream& err) {
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
  std::ostringstream model_out, kernel_out, kernel_err;
  if (int rc = RunModel(args, trace.value(), model_out, out, err); rc >= 0)
    return rc;
  if (std::string why = CannotRunNatively(); !why.empty()) {
    err << "skipped: " << args.trace_path << ": " << why << '\n';
    return 2;
  }
  Options options;
  options.keep_going = args.keep_going;
  options.ksm = args.ksm;
  Result<int> native_rc =
      RunTrace(trace.value(), options, kernel_out, kernel_err);
  if (!native_rc.ok()) {
    err << "skipped: " << args.trace_path
        << ": this machine cannot run it natively: "
        << native_rc.status().message() << '\n';
    return 2;
  }
  return Compare(args, source, trace.value(), model_out.str(), kernel_out.str(),
                 out);
}

}  // namespace rmaplab::native
