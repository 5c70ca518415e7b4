// graph.cc: `rmaplab graph TRACE --design NAME [--at LINE] [-o FILE]`:
// replays a small trace under --check up to and including line LINE and
// writes a picture of the reverse-map structures then (rmaplab/graph.h) as
// Graphviz DOT, or as SVG or PNG through Graphviz's `dot`.
//
// Invariants:
//  (1) node names depend only on node kinds and the order the sink holds
//      the nodes in, so the same trace, design and line give the same DOT;
//  (2) -o FILE is written only once the whole picture is made;
//  (3) exit statuses are kGraphFooter's.
#include "graph.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "cli.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

extern char** environ;

namespace rmaplab::cli {
namespace {

constexpr char kGraphFooter[] =
    R"(Replays TRACE under --check up to and including line LINE (default: the
whole trace) and draws what the reverse map holds then: every live mm boxed
with its vmas, the anonymous pages their present PTEs map (an edge per PTE),
and the design's own objects with their edges: anon_vmas and anon_vma_chain
entries (avc), anonmm groups, the anon inode and its ranges, COW contexts
and their tree, pte chains, lazy vma nodes, and each page's edge to what
page->mapping names.  Swap PTEs, the zero page and shmem pages are counted
in their mm's box, not drawn.  Ops the trace has refused are noted on
standard error; the picture shows the state after them.  Meant for small
traces: more than --max-pages pages is refused.

-o FILE.svg or FILE.png is rendered through Graphviz's dot (Debian package
graphviz); any other FILE gets the DOT text; without -o the DOT goes to
standard output.

Exit status: 0 the picture was written; 1 FILE could not be written or dot
failed; 2 bad usage, an unknown design, a trace that does not parse
(FILE:LINE:COLUMN: ...), LINE past the end of the trace, or too many
pages; 3 the checker found a broken invariant or lost data (the exhibit
cow_context-poc does): the replay stopped at that line, and the picture,
written all the same, shows the state there and says what broke.)";

struct GraphArgs {
  std::string path;
  std::string design;
  int at = 0;  // 0: the whole trace
  std::string out;
  uint64_t max_pages = 200;
};

// --- the DOT text ----------------------------------------------------------

std::string Quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '\n')
      q += "\\n";
    else if (c == '"' || c == '\\')
      q += std::string("\\") + c;
    else
      q += c;
  }
  return q + "\"";
}

// A DOT identifier from a kind: [A-Za-z0-9_], not starting with a digit.
std::string IdPart(const std::string& kind) {
  std::string s = "n_";
  for (char c : kind)
    s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

constexpr const char* kPalette[] = {"#d9ead3", "#f4cccc", "#d9d2e9",
                                    "#fce5cd", "#d0e0e3", "#ead1dc"};

std::string NodeAttrs(const GraphNode& n,
                      std::map<std::string, size_t>& design_kinds) {
  std::string style;
  if (n.core && n.kind == "mm")
    style = "shape=box, style=\"filled,bold\", fillcolor=\"#e0e0e0\"";
  else if (n.core && n.kind == "vma")
    style = "shape=box, style=filled, fillcolor=\"#cfe2f3\"";
  else if (n.core)
    style = "shape=note, style=filled, fillcolor=\"#fff2cc\"";
  else if (n.kind == "marker")
    style = "shape=box, style=dashed";
  else {
    size_t i = design_kinds.emplace(n.kind, design_kinds.size()).first->second;
    style = fmt::format("shape=box, style=\"rounded,filled\", fillcolor=\"{}\"",
                        kPalette[i % std::size(kPalette)]);
  }
  return fmt::format("[label={}, {}]", Quote(n.label), style);
}

}  // namespace

std::string GraphToDot(const GraphSink& g, const std::string& title) {
  const std::vector<GraphNode>& nodes = g.nodes();
  std::map<GraphId, std::string> name;
  std::map<std::string, int> per_kind;
  for (const GraphNode& n : nodes)
    name[n.id] = IdPart(n.kind) + std::to_string(++per_kind[n.kind]);
  std::string label = title;
  for (const std::string& note : g.notes()) label += "\n" + note;

  std::string out = "digraph rmap {\n";
  out += fmt::format(
      "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, "
      "labelloc=t, label={}];\n",
      Quote(label));
  out += "  node [fontname=\"Helvetica\", fontsize=10];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  std::map<std::string, size_t> design_kinds;
  std::map<GraphId, const GraphNode*> by_id;
  for (const GraphNode& n : nodes) by_id[n.id] = &n;
  std::map<GraphId, bool> placed;
  // Each mm in a box with its vmas (the core's mm -> vma edges).
  int cluster = 0;
  for (const GraphNode& n : nodes) {
    if (!n.core || n.kind != "mm") continue;
    out += fmt::format(
        "  subgraph cluster_{} {{\n    style=\"rounded,dashed\"; "
        "color=\"#999999\"; label=\"\";\n",
        ++cluster);
    out += fmt::format("    {} {};\n", name[n.id], NodeAttrs(n, design_kinds));
    placed[n.id] = true;
    for (const GraphEdge& e : g.edges()) {
      if (!e.core || e.from != n.id || e.to.space != GraphId::Space::kVma)
        continue;
      out += fmt::format("    {} {};\n", name[e.to],
                         NodeAttrs(*by_id[e.to], design_kinds));
      placed[e.to] = true;
    }
    out += "  }\n";
  }
  for (const GraphNode& n : nodes)
    if (!placed[n.id])
      out += fmt::format("  {} {};\n", name[n.id], NodeAttrs(n, design_kinds));
  for (const GraphEdge& e : g.edges()) {
    std::string attrs =
        e.core ? "color=\"#888888\", fontcolor=\"#666666\"" : "color=black";
    if (!e.label.empty()) attrs += ", label=" + Quote(e.label);
    out += fmt::format("  {} -> {} [{}];\n", name[e.from], name[e.to], attrs);
  }
  return out + "}\n";
}

Status RenderDot(const std::string& dot_text, const std::string& format,
                 const std::string& out) {
  std::string tmp =
      (std::filesystem::temp_directory_path() / "rmaplab-graph-XXXXXX")
          .string();
  int fd = mkstemp(tmp.data());
  if (fd < 0)
    return Status::Error("cannot make a temporary file: " +
                         std::string(std::strerror(errno)));
  bool written = write(fd, dot_text.data(), dot_text.size()) ==
                 static_cast<ssize_t>(dot_text.size());
  close(fd);
  std::vector<std::string> argv = {"dot", "-T" + format, "-o", out, tmp};
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int err = written ? posix_spawnp(&pid, "dot", nullptr, nullptr, cargv.data(),
                                   environ)
                    : EIO;
  int wstatus = 0;
  if (err == 0) waitpid(pid, &wstatus, 0);
  std::remove(tmp.c_str());
  if (err == ENOENT)
    return Status::Error(
        "cannot run Graphviz's 'dot' (Debian: apt-get install graphviz); "
        "-o FILE.dot writes the DOT text instead");
  if (err != 0)
    return Status::Error("cannot run dot: " + std::string(std::strerror(err)));
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    return Status::Error("dot failed to write " + out);
  return Status::Ok();
}

namespace {

// --- the command -----------------------------------------------------------

int Fail(Io io, int status, const std::string& what) {
  *io.err << "rmaplab graph: " << what << '\n';
  return status;
}

// Lines in `text`, the last one counted even without its newline.
int CountLines(const std::string& text) {
  int n = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  return n + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

// Replays the ops up to line `at` under --check, or up to the op after
// which the check failed (its line goes into *at); notes refused ops on
// standard error.  The check's failure, if any.
Status ReplayUpTo(const Trace& full, int* at, Simulator& sim, Io io) {
  Trace trace{full.path, {}};
  for (const Op& op : full.ops)
    if (op.line <= *at) trace.ops.push_back(op);
  std::ostringstream out;
  ReplayResult r = Replay(trace, sim, out, ReplayOptions{.keep_going = true});
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("error ", 0) == 0 || line.rfind("# oom-kill", 0) == 0)
      *io.err << "rmaplab graph: note: " << trace.path << ": " << line << '\n';
  for (const std::string& why : r.unsupported)
    *io.err << "rmaplab graph: note: " << why << '\n';
  if (!r.check.ok()) *at = trace.ops[r.ops_run - 1].line;
  return r.check;
}

size_t PagesDrawn(const GraphSink& g) {
  return std::count_if(g.nodes().begin(), g.nodes().end(),
                       [](const GraphNode& n) {
                         return n.core && n.id.space == GraphId::Space::kPage;
                       });
}

// Writes the picture where -o says (invariant 2 holds: it is made).
int WriteOut(const GraphArgs& args, const std::string& dot, Io io) {
  if (args.out.empty()) {
    *io.out << dot;
    return 0;
  }
  std::string ext = std::filesystem::path(args.out).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (ext == ".svg" || ext == ".png") {
    Status s = RenderDot(dot, ext.substr(1), args.out);
    return s.ok() ? 0 : Fail(io, 1, s.message());
  }
  std::ofstream f(args.out, std::ios::binary);
  f << dot;
  f.close();
  if (!f) return Fail(io, 1, "cannot write " + args.out);
  return 0;
}

int RunGraph(const GraphArgs& args, Io io) {
  std::ifstream in(args.path, std::ios::binary);
  if (!in)
    return Fail(io, 2,
                args.path + ":0:0: cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  Result<Trace> trace = ParseTrace(text.str(), args.path);
  if (!trace.ok()) {
    *io.err << trace.status().message() << '\n';
    return 2;
  }
  int lines = CountLines(text.str());
  if (args.at > lines)
    return Fail(io, 2,
                fmt::format("--at {}: {} has only {} lines", args.at, args.path,
                            lines));
  int at = args.at ? args.at : lines;
  Result<std::unique_ptr<Simulator>> sim =
      Simulator::Create(SimOptions{.design = args.design, .check = true});
  if (!sim.ok()) return Fail(io, 2, sim.status().message());
  Status check = ReplayUpTo(trace.value(), &at, *sim.value(), io);
  GraphSink g;
  if (!check.ok()) g.Note(check.message());
  sim.value()->DescribeRmap(g);
  if (Status s = g.Check(); !s.ok())
    return Fail(io, 3, "design " + args.design + ": " + s.message());
  if (size_t n = PagesDrawn(g); n > args.max_pages)
    return Fail(io, 2,
                fmt::format("{} maps {} anonymous pages after line {}; a "
                            "picture stays readable up to {} (--max-pages): "
                            "pick an earlier --at or a smaller trace",
                            args.path, n, at, args.max_pages));
  std::string title = fmt::format(
      "{}: {}, after line {}",
      std::filesystem::path(args.path).filename().string(), args.design, at);
  int written = WriteOut(args, GraphToDot(g, title), io);
  if (check.ok() || written) return written;
  *io.err << check.message() << '\n';
  return 3;
}

}  // namespace

Run SetupGraph(CLI::App& app, Io io) {
  auto args = std::make_shared<GraphArgs>();
  CLI::App* sub = app.add_subcommand(
      "graph",
      "draw the reverse-map structures at one line of a small trace (DOT, "
      "SVG, PNG)");
  sub->footer(kGraphFooter);
  sub->add_option("TRACE", args->path, "the trace file")->required();
  sub->add_option("--design", args->design,
                  "reverse-map design (see 'rmaplab designs'; the exhibit "
                  "cow_context-poc too)")
      ->type_name("NAME")
      ->required();
  sub->add_option("--at", args->at,
                  "draw after this line of the trace (default: its end)")
      ->type_name("LINE")
      ->check(CLI::PositiveNumber);
  sub->add_option("-o,--output", args->out,
                  "write to FILE: FILE.svg and FILE.png through Graphviz's "
                  "dot, any other name DOT text (default: DOT to standard "
                  "output)")
      ->type_name("FILE");
  sub->add_option("--max-pages", args->max_pages,
                  "refuse to draw more anonymous pages than this")
      ->type_name("N")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100000}))
      ->capture_default_str();
  return [args, io] { return RunGraph(*args, io); };
}

}  // namespace rmaplab::cli
