// recorded.cc: the recorded real programs as scenarios (recorded.h): what
// each one is, its two parameters (memory pressure and a prefix of the
// recording), and the generator that cuts the embedded trace.
//
// Invariants:
//  (1) A recorded scenario's memory is mem_percent of the peak of
//      pages_resident over its trace, replayed once with no memory limit
//      under the default design (residency does not depend on the reverse
//      map), never below 16 pages (PressurePages).
//  (2) Its only parameters are mem_percent and ops (a prefix: at most the
//      first N ops): a recording has no size to change, so any other
//      parameter is refused (registry.cc).
#include "scenario/recorded.h"

#include <algorithm>
#include <sstream>

#include "rmaplab/sim.h"
#include "scenario/writer.h"

namespace rmaplab::scenario {

namespace {

// What each program of scripts/record-corpus does.  A recording without an
// entry is described by its own `# rmaplab record -- CMD` header line.
struct Description {
  std::string_view name, summary;
};
constexpr Description kDescriptions[] = {
    {"make-j2",
     "recorded: make -j2 building a small C project (gcc, cc1, as, ld): a "
     "process tree built by vfork and exec"},
    {"python-pool",
     "recorded: Python's multiprocessing.Pool(2) mapping over 1,000,000 "
     "numbers: two forked workers share the parent's heap copy-on-write"},
    {"redis-bgsave",
     "recorded: redis-server loads 100 k keys, then BGSAVE forks a child to "
     "snapshot them while a client keeps writing (copy-on-write)"},
    {"sqlite3",
     "recorded: sqlite3 :memory: inserting 200 k rows, indexing and "
     "querying them: one process, no fork"},
    {"thp-madvise",
     "recorded: a C program writing 8 MiB it advised MADV_HUGEPAGE (the THP "
     "advice is left out: THP is not in the model yet)"},
};

// Bound of the `ops` parameter (a prefix longer than the recording is all
// of it, so that one --param ops=N fits every recording).
constexpr uint64_t kMaxOps = 1000000000;

constexpr std::string_view kReading =
    "the real program with mem_percent of its peak memory: reclaim's walk "
    "steps per page taken and visits wasted on vmas without the page, rmap "
    "bytes at their peak, fork's rmap work, rmap locks taken";

// The op a trace line holds: "" for a comment or blank line, else its
// second word ("exit", "write", ...; "*" lines give their op too).
std::string_view OpWord(std::string_view line) {
  constexpr std::string_view kBlank = " \t\r\n";
  size_t a = line.find_first_not_of(kBlank);
  if (a == std::string_view::npos || line[a] == '#') return {};
  size_t b = line.find_first_of(kBlank, a);
  if (b == std::string_view::npos) return line.substr(a);  // malformed: keep
  size_t c = line.find_first_not_of(kBlank, b);
  if (c == std::string_view::npos) return line.substr(a, b - a);
  size_t d = line.find_first_of(" \t\r\n#", c);
  return line.substr(c, d == std::string_view::npos ? d : d - c);
}

// Calls f(line, op word) for every line of `text`.
template <typename F>
void ForEachLine(std::string_view text, F f) {
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(at, end - at);
    f(line, OpWord(line));
    at = end;
  }
}

uint64_t CountOps(std::string_view text) {
  uint64_t n = 0;
  ForEachLine(text,
              [&](std::string_view, std::string_view op) { n += !op.empty(); });
  return n;
}

// The recording's first `ops` ops, less the exits at their end
// (recorded.h (2)); comments stay.  A note at the end says what was cut.
std::string Cut(std::string_view text, uint64_t ops, uint64_t total) {
  std::vector<std::pair<std::string_view, bool>> lines;  // line, is exit
  uint64_t seen = 0;
  ForEachLine(text, [&](std::string_view line, std::string_view op) {
    if (seen == ops && !op.empty()) return;
    seen += !op.empty();
    lines.emplace_back(line, op == "exit");
  });
  std::vector<bool> drop(lines.size(), false);
  size_t exits = 0;
  for (size_t i = lines.size(); i-- > 0;) {
    if (lines[i].second) {
      drop[i] = true;
      ++exits;
    } else if (!OpWord(lines[i].first).empty()) {
      break;
    }
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i)
    if (!drop[i]) out.append(lines[i].first);
  if (!out.empty() && out.back() != '\n') out += '\n';
  std::ostringstream note;
  if (ops < total)
    note << "# the first " << ops << " of the recording's " << total
         << " ops\n";
  if (exits)
    note << "# left out: the " << exits
         << " exit ops at the end, so that the processes stay whole\n";
  return out + note.str();
}

// The peak of pages_resident over `text` with no memory limit (1).
uint64_t PeakResidentPages(std::string_view text, std::string_view name) {
  Result<Trace> trace = ParseTrace(text, name);
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(SimOptions{});
  if (!trace.ok() || !sim.ok()) return 0;
  uint64_t peak = 0;
  std::ostringstream sink;
  for (const Op& op : trace.value().ops) {
    (void)sim.value()->Apply(op, sink);
    sink.str("");
    peak = std::max(peak, sim.value()->Stats().pages_resident);
  }
  return peak;
}

ScenarioTrace Recorded(const EmbeddedTrace& e, uint64_t total,
                       const ScenarioArgs& a) {
  ScenarioTrace t;
  t.text = Cut(e.text, a.Get("ops"), total);
  if (a.Get("mem_percent") < 100)
    t.mem_pages =
        PressurePages(PeakResidentPages(t.text, e.name), a.Get("mem_percent"));
  return t;
}

std::string SummaryOf(const EmbeddedTrace& e) {
  for (const Description& d : kDescriptions)
    if (d.name == e.name) return std::string(d.summary);
  std::string cmd = "?";
  ForEachLine(e.text, [&](std::string_view line, std::string_view) {
    constexpr std::string_view kHead = "# rmaplab record -- ";
    if (cmd == "?" && line.substr(0, kHead.size()) == kHead)
      cmd = line.substr(kHead.size(), 60);
  });
  while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == '\r'))
    cmd.pop_back();
  return "recorded: " + cmd;
}

}  // namespace

std::vector<Scenario> RecordedScenarios() {
  std::vector<Scenario> out;
  for (const EmbeddedTrace& e : EmbeddedTraces()) {
    uint64_t total = CountOps(e.text);
    Scenario s;
    s.name = std::string(e.name);
    s.summary = SummaryOf(e);
    s.reading = std::string(kReading);
    s.params = {
        {"mem_percent", "50",
         "memory, in percent of the recording's peak resident pages (100: "
         "no pressure)",
         1, 100},
        {"ops", std::to_string(total),
         "replay at most the recording's first N ops (default: all)", 1,
         kMaxOps},
    };
    s.headline = {"steps_per_reclaimed_page", "rmap_wasted_steps",
                  "rmap_bytes_peak",          "rmap_fork_work",
                  "rmap_lock_acquisitions",   "wall_ms"};
    s.generate = [&e, total](const ScenarioArgs& a) {
      return Recorded(e, total, a);
    };
    s.recorded = std::string(e.file);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace rmaplab::scenario
