// graph_cli_test.cc: `rmaplab graph` (tools/graph.cc): --at cuts the replay,
// the DOT text is deterministic, -o writes DOT, SVG and PNG (through
// Graphviz's dot when it is installed), and bad input gets a message and
// its exit status.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "rmaplab/sim.h"

namespace rmaplab {
namespace {

struct Ran {
  int status;
  std::string out, err;
};

Ran Graph(std::vector<std::string> args) {
  std::ostringstream out, err;
  int rc = RunCommand("graph", args, out, err);
  return {rc, out.str(), err.str()};
}

// A path under the temporary directory that no other test process uses
// (ctest runs the tests of this file in parallel processes).
std::string Scratch(const std::string& name) {
  return testing::TempDir() + "rmaplab-graph-" + std::to_string(getpid()) +
         "-" + name;
}

// A file under the test's temporary directory holding `text`.
std::string TempFile(const std::string& name, const std::string& text) {
  std::string path = Scratch(name);
  std::ofstream(path) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool HaveDot() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (access((dir + "/dot").c_str(), X_OK) == 0) return true;
  return false;
}

constexpr char kForkCow[] =
    "# a fork, then the child's COW copy\n"
    "1 mmap 0x100000000 8K rw\n"
    "1 write 0x100000000 8K\n"
    "1 fork 2\n"
    "2 write 0x100001000 =0x2\n";

TEST(GraphCli, AtCutsTheReplay) {
  std::string t = TempFile("fork-cow.trace", kForkCow);
  Ran before_fork = Graph({t, "--design", "anon_vma_chain", "--at", "3"});
  ASSERT_EQ(before_fork.status, 0) << before_fork.err;
  EXPECT_NE(before_fork.out.find("mm pid 1"), std::string::npos);
  EXPECT_EQ(before_fork.out.find("mm pid 2"), std::string::npos);
  EXPECT_NE(before_fork.out.find("after line 3"), std::string::npos);
  Ran whole = Graph({t, "--design", "anon_vma_chain"});
  ASSERT_EQ(whole.status, 0) << whole.err;
  EXPECT_NE(whole.out.find("mm pid 2"), std::string::npos);
  EXPECT_NE(whole.out.find("anon_vma #2"), std::string::npos);
  Ran at_end = Graph({t, "--design", "anon_vma_chain", "--at", "5"});
  EXPECT_EQ(at_end.out, whole.out);
  EXPECT_EQ(whole.out.rfind("digraph rmap {\n", 0), 0u);
}

TEST(GraphCli, SameInputSameDot) {
  std::string t = TempFile("fork-cow.trace", kForkCow);
  for (const char* design : {"anon_vma_chain", "pte_chain", "cow_context"})
    EXPECT_EQ(Graph({t, "--design", design}).out,
              Graph({t, "--design", design}).out)
        << design;
}

TEST(GraphCli, DotFileHoldsWhatStandardOutputGets) {
  std::string t = TempFile("fork-cow.trace", kForkCow);
  std::string dot = Scratch("out.dot");
  Ran r = Graph({t, "--design", "anonmm-chains", "-o", dot});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(ReadFile(dot), Graph({t, "--design", "anonmm-chains"}).out);
}

TEST(GraphCli, SvgAndPngThroughDot) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed";
  std::string t = TempFile("fork-cow.trace", kForkCow);
  std::string svg = Scratch("out.svg");
  Ran r = Graph({t, "--design", "anon_vma_chain", "-o", svg});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string text = ReadFile(svg);
  EXPECT_EQ(text.rfind("<?xml", 0), 0u) << text.substr(0, 80);
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  EXPECT_NE(text.find("anon_vma #1"), std::string::npos);
  std::string png = Scratch("out.png");
  ASSERT_EQ(Graph({t, "--design", "pte_chain", "-o", png}).status, 0);
  EXPECT_EQ(ReadFile(png).substr(0, 4), "\x89PNG");
}

TEST(GraphCli, BadInputGetsAMessageAndExitTwo) {
  std::string t = TempFile("fork-cow.trace", kForkCow);
  Ran unknown = Graph({t, "--design", "nope"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("unknown design 'nope'"), std::string::npos)
      << unknown.err;

  Ran past = Graph({t, "--design", "anon_vma", "--at", "9"});
  EXPECT_EQ(past.status, 2);
  EXPECT_NE(past.err.find("--at 9: " + t + " has only 5 lines"),
            std::string::npos)
      << past.err;

  std::string bad =
      TempFile("bad.trace", "1 mmap 0x100000000 8K rw\n1 bogus\n");
  Ran parse = Graph({bad, "--design", "anon_vma"});
  EXPECT_EQ(parse.status, 2);
  // FILE:LINE:COLUMN: what is wrong
  std::string where = bad + ":2:";
  ASSERT_EQ(parse.err.rfind(where, 0), 0u) << parse.err;
  size_t col_end = parse.err.find(": ", where.size());
  ASSERT_NE(col_end, std::string::npos) << parse.err;
  std::string column = parse.err.substr(where.size(), col_end - where.size());
  EXPECT_TRUE(!column.empty() &&
              column.find_first_not_of("0123456789") == std::string::npos)
      << parse.err;

  Ran missing = Graph({t + ".missing", "--design", "anon_vma"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find(":0:0: cannot open"), std::string::npos);

  for (const std::vector<std::string>& usage :
       std::vector<std::vector<std::string>>{
           {t},  // no --design
           {t, "--design", "anon_vma", "--at", "0"},
           {t, "--design", "anon_vma", "--at", "x"},
           {"--design", "anon_vma"}}) {
    Ran r = Graph(usage);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(GraphCli, UnwritableOutputExitsOne) {
  std::string t = TempFile("fork-cow.trace", kForkCow);
  std::string nowhere = testing::TempDir() + "no-such-dir/x";
  Ran dot = Graph({t, "--design", "anon_vma", "-o", nowhere + ".dot"});
  EXPECT_EQ(dot.status, 1);
  EXPECT_NE(dot.err.find("cannot write " + nowhere + ".dot"), std::string::npos)
      << dot.err;
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed";
  Ran svg = Graph({t, "--design", "anon_vma", "-o", nowhere + ".svg"});
  EXPECT_EQ(svg.status, 1);
  EXPECT_NE(svg.err.find("dot failed"), std::string::npos) << svg.err;
}

TEST(GraphCli, RefusesMoreThanMaxPages) {
  std::string t = TempFile("big.trace",
                           "1 mmap 0x100000000 2M rw\n"
                           "1 write 0x100000000 0x12d000\n");  // 301 pages
  Ran r = Graph({t, "--design", "anon_vma_chain"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("maps 301 anonymous pages"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--max-pages"), std::string::npos);
  EXPECT_EQ(
      Graph({t, "--design", "anon_vma_chain", "--max-pages", "400"}).status, 0);
}

TEST(GraphCli, BrokenInvariantStillDrawsTheStateAndExitsThree) {
  std::string t = std::string(RMAPLAB_SOURCE_DIR) +
                  "/tests/traces/cow-context-poc-fork.trace";
  Ran r = Graph({t, "--design", "cow_context-poc"});
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("check failed"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("check failed"), std::string::npos);
  EXPECT_NE(r.out.find("cow_context #2"), std::string::npos);
  EXPECT_EQ(Graph({t, "--design", "cow_context"}).status, 0);
}

TEST(GraphCli, RefusedOpsAreNotedNotFatal) {
  std::string t = TempFile("refused.trace",
                           "1 mmap 0x100000000 4K rw\n"
                           "1 write 0x200000000\n"
                           "1 write 0x100000000\n");
  Ran r = Graph({t, "--design", "anon_vma_chain"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("error line=2 op=write errno=EFAULT"), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("page pfn"), std::string::npos);
}

// Every design's docs page shows its picture, committed under img/.
TEST(GraphCli, EveryDesignPageShowsItsPicture) {
  std::string docs = std::string(RMAPLAB_SOURCE_DIR) + "/docs/designs/";
  for (const std::string& d : DesignNames()) {
    if (d == "global_list") continue;  // the tests' external design
    std::string page = ReadFile(docs + d + ".md");
    EXPECT_NE(page.find("](img/" + d + ".svg)"), std::string::npos) << d;
    EXPECT_NE(
        page.find("rmaplab graph docs/designs/structures.trace --design " + d +
                  " -o docs/designs/img/" + d + ".svg"),
        std::string::npos)
        << d;
    EXPECT_NE(ReadFile(docs + "img/" + d + ".svg").find("<svg"),
              std::string::npos)
        << d;
  }
}

TEST(GraphCli, HelpTellsTheOptionsAndExitStatuses) {
  Ran r = Graph({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* want : {"--design", "--at", "-o", "--max-pages", "dot",
                           "Exit status", "FILE:LINE:COLUMN"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
}

}  // namespace
}  // namespace rmaplab
