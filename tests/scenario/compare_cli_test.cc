// compare_cli_test.cc: `rmaplab compare`, `scenario` and `scenarios` from
// the outside: JSON that parses whatever the trace's path, RFC 4180 CSV,
// the same output order whatever the threads, sweeps, peaks, usage errors,
// and the HTML report opened in headless chromium with every chart drawn.
#include <gtest/gtest.h>
#include <sys/wait.h>

// GCC 12 warns wrongly about "literal" + std::string (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace rmaplab {
namespace {

using nlohmann::json;

struct ShellRun {
  int status = -1;
  std::string out;
};

// Runs a shell command line; its standard output and exit status.
ShellRun Shell(const std::string& cmd) {
  ShellRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Bin() { return std::string("'") + RMAPLAB_BINARY + "'"; }

const char* kSmall =
    " --scenario fork-server --param children=4 --param pages=4";

std::filesystem::path TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("rmaplab-cli-" + name + "-" + std::to_string(getpid()));
  std::filesystem::create_directories(d);
  return d;
}

TEST(CompareCli, JsonParsesWithAQuoteInThePath) {
  auto dir = TempDir("json");
  std::string path = (dir / "a\"b,c.trace").string();
  std::ofstream(path) << "1 mmap 0x100000000 16K rw\n1 write 0x100000000 16K\n";
  ShellRun r =
      Shell(Bin() + " compare --format json --design anon_vma '" + path + "'");
  ASSERT_EQ(r.status, 0) << r.out;
  json doc = json::parse(r.out);  // throws (fails the test) if invalid
  ASSERT_EQ(doc["runs"].size(), 1u);
  EXPECT_EQ(doc["runs"][0]["trace"], path);
  EXPECT_EQ(doc["runs"][0]["metrics"]["pages_resident"], 4);
  std::filesystem::remove_all(dir);
}

TEST(CompareCli, CsvQuotesPerRfc4180) {
  auto dir = TempDir("csv");
  std::string path = (dir / "a\"b,c.trace").string();
  std::ofstream(path) << "1 mmap 0x100000000 16K rw\n";
  ShellRun r =
      Shell(Bin() + " compare --format csv --design anon_vma '" + path + "'");
  ASSERT_EQ(r.status, 0);
  std::string quoted = "\"";
  for (char c : path)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  quoted += "\"";
  EXPECT_NE(r.out.find("," + quoted + ","), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\r\n"), std::string::npos);  // RFC 4180 line ends
  std::filesystem::remove_all(dir);
}

// Runs in job order whatever thread ran them; every counter is there,
// with peaks and the derived metrics.
TEST(CompareCli, DeterministicOrderAndEveryCounter) {
  std::string cmd = Bin() + " compare --format json" + kSmall +
                    " --scenario forking-task --param rounds=10";
  ShellRun one = Shell(cmd + " -j 1"), four = Shell(cmd + " -j 4");
  ASSERT_EQ(one.status, 0);
  ASSERT_EQ(four.status, 0);
  json a = json::parse(one.out), b = json::parse(four.out);
  ASSERT_EQ(a["runs"].size(), b["runs"].size());
  ShellRun designs = Shell(Bin() + " designs");
  size_t n_designs = std::count(designs.out.begin(), designs.out.end(), '\n');
  ASSERT_EQ(a["runs"].size(), 2 * n_designs);
  for (size_t i = 0; i < a["runs"].size(); ++i) {
    json x = a["runs"][i], y = b["runs"][i];
    EXPECT_EQ(x["scenario"], i < n_designs ? "fork-server" : "forking-task");
    EXPECT_EQ(x["design"], y["design"]);
    x["metrics"].erase("wall_ms");
    y["metrics"].erase("wall_ms");
    EXPECT_EQ(x["metrics"], y["metrics"]) << x["design"];
    for (const char* k : {"rmap_bytes", "rmap_bytes_peak", "pgsteal",
                          "scan_rmap_walk_steps", "errors"})
      EXPECT_TRUE(x["metrics"].contains(k)) << k;
    EXPECT_GE(x["metrics"]["rmap_bytes_peak"].get<uint64_t>(),
              x["metrics"]["rmap_bytes"].get<uint64_t>());
  }
}

// Every scenario, small, under every design: each headline metric a
// scenario declares is a metric its runs have (no column of n/a).
TEST(CompareCli, EveryHeadlineMetricExists) {
  ShellRun r =
      Shell(Bin() +
            " compare --format json --param pages=8 --param children=3 "
            "--param procs=3 --param chunk=4 --param steps=20 --param guests=2 "
            "--param depth=1 --param fanout=2 --param apps=2 --param vmas=2 "
            "--param rounds=5 --param moves=2 --param migrations=2 "
            "--param private_pages=2 --param mem=256K --param mem_percent=20 "
            "--param ops=3000");
  ASSERT_EQ(r.status, 0);
  json doc = json::parse(r.out);
  ASSERT_GE(doc["groups"].size(), 14u);  // 9 generated, 5 recorded
  for (const json& g : doc["groups"]) {
    for (const json& m : g["headline"]) {
      bool found = false;
      for (const json& run : doc["runs"])
        found |= run["group"] == g["id"] && run["metrics"].contains(m);
      EXPECT_TRUE(found) << g["scenario"] << ": " << m;
    }
    for (const json& run : doc["runs"]) {
      if (run["group"] != g["id"]) continue;
      EXPECT_EQ(run["errors"], 0)
          << run["design"] << ": " << run["error_message"];
    }
  }
}

TEST(CompareCli, SweepRunsEveryPoint) {
  ShellRun r = Shell(Bin() + " compare --format json --design anon_vma " +
                     kSmall + " --sweep children=2,3,5");
  ASSERT_EQ(r.status, 0);
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["runs"].size(), 3u);
  EXPECT_EQ(doc["groups"][0]["sweep_param"], "children");
  EXPECT_EQ(doc["runs"][2]["sweep_value"], "5");
  EXPECT_EQ(doc["runs"][2]["params"]["children"], "5");
  EXPECT_GT(doc["runs"][2]["metrics"]["forks"],
            doc["runs"][0]["metrics"]["forks"]);
}

TEST(CompareCli, TableShowsHeadlineAndBest) {
  ShellRun r = Shell(Bin() + " compare" + kSmall);
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("== fork-server"), std::string::npos);
  EXPECT_NE(r.out.find("steps_per_reclaimed_page"), std::string::npos);
  EXPECT_NE(r.out.find(" *"), std::string::npos);
  EXPECT_EQ(r.out.find("fork_ptes"), std::string::npos);  // not a headline
  ShellRun all = Shell(Bin() + " compare --all-columns" + kSmall);
  EXPECT_NE(all.out.find("fork_ptes"), std::string::npos);
}

// Under each table, its answer computed from the numbers: the best and
// worst designs of the first headline metric and how far apart, or for a
// sweep how much each design grows from the first point to the last.
TEST(CompareCli, VerdictLineSaysBestWorstAndGrowth) {
  ShellRun t = Shell(Bin() +
                     " compare --scenario fork-server --param children=40 "
                     "--param pages=4 --design anon_vma --design "
                     "anon_vma_chain");
  ASSERT_EQ(t.status, 0);
  EXPECT_NE(t.out.find("=> steps_per_reclaimed_page: best anon_vma_chain ("),
            std::string::npos)
      << t.out;
  EXPECT_NE(t.out.find("worst anon_vma ("), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("x apart\n"), std::string::npos) << t.out;
  ShellRun s = Shell(Bin() +
                     " compare --scenario fork-server --param pages=4 "
                     "--sweep children=5,50 --design anon_vma --design "
                     "anon_vma_chain");
  ASSERT_EQ(s.status, 0);
  EXPECT_NE(s.out.find("=> steps_per_reclaimed_page from children=5 to 50: x"),
            std::string::npos)
      << s.out;
  ShellRun same = Shell(Bin() +
                        " compare --scenario fork-server --param children=4 "
                        "--param pages=4 --design anon_vma --design anon_vma");
  ASSERT_EQ(same.status, 0);
  EXPECT_NE(same.out.find("under every design"), std::string::npos) << same.out;
}

TEST(CompareCli, UsageErrors) {
  EXPECT_EQ(Shell(Bin() + " compare --scenario nope 2>/dev/null").status, 2);
  EXPECT_EQ(Shell(Bin() + " compare --format xml 2>/dev/null").status, 2);
  EXPECT_EQ(Shell(Bin() + " compare --param nope=1 2>/dev/null").status, 2);
  EXPECT_EQ(Shell(Bin() + " compare --design nope 2>/dev/null").status, 2);
  EXPECT_EQ(Shell(Bin() + " compare" + std::string(kSmall) +
                  " --param children=0 2>/dev/null")
                .status,
            2);
  EXPECT_EQ(Shell(Bin() + " compare --help").status, 0);
  EXPECT_EQ(Shell(Bin() + " scenario nope 2>/dev/null").status, 2);
  EXPECT_EQ(Shell(Bin() + " scenario fork-server --param x 2>/dev/null").status,
            2);
}

TEST(ScenarioCli, ListsAndWritesReplayableTraces) {
  ShellRun list = Shell(Bin() + " scenarios");
  ASSERT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("children=100"), std::string::npos);
  auto dir = TempDir("scenario");
  std::string path = (dir / "t.trace").string();
  ASSERT_EQ(Shell(Bin() +
                  " scenario swap-storm --param procs=5 --param chunk=8 "
                  "--param mem=128K -o '" +
                  path + "'")
                .status,
            0);
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  EXPECT_NE(text.find("--mem 128K"), std::string::npos) << text;
  EXPECT_EQ(
      Shell(Bin() + " replay --check --mem 128K '" + path + "' >/dev/null")
          .status,
      0);
  std::filesystem::remove_all(dir);
}

// A recorded program is a scenario by name: listed with the file it was
// embedded from, run under every design from any directory (the trace is
// in the binary), and a parameter it does not have is refused, saying
// which it has.
TEST(RecordedCli, RunsByNameFromAnyDirectoryAndRefusesOtherParameters) {
  ShellRun list = Shell(Bin() + " scenarios");
  ASSERT_EQ(list.status, 0);
  for (const char* name :
       {"make-j2", "python-pool", "redis-bgsave", "sqlite3", "thp-madvise"})
    EXPECT_NE(list.out.find(std::string("\n") + name + "  recorded: "),
              std::string::npos)
        << name;
  EXPECT_NE(list.out.find("from examples/recorded/python-pool.trace.gz"),
            std::string::npos);
  ShellRun designs = Shell(Bin() + " designs");
  size_t n_designs = std::count(designs.out.begin(), designs.out.end(), '\n');
  ShellRun r = Shell("cd / && " + Bin() +
                     " compare --scenario thp-madvise redis-bgsave "
                     "--param ops=400 --format json");
  ASSERT_EQ(r.status, 0);
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["runs"].size(), 2 * n_designs);
  for (const json& run : doc["runs"]) {
    EXPECT_EQ(run["errors"], 0) << run["design"] << run["error_message"];
    EXPECT_GT(run["metrics"]["pgsteal"], 0) << run["design"];  // pressure
  }
  ShellRun table = Shell(Bin() + " compare --scenario redis-bgsave");
  ASSERT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("shows: the real program"), std::string::npos)
      << table.out;
  ShellRun bad =
      Shell(Bin() + " compare --scenario sqlite3 --param children=4 2>&1");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("has no parameter 'children'; its parameters: "
                         "mem_percent, ops (a recorded program"),
            std::string::npos)
      << bad.out;
  ShellRun sweep =
      Shell(Bin() + " compare --scenario sqlite3 --sweep pages=1,2 2>&1");
  EXPECT_EQ(sweep.status, 2);
  EXPECT_NE(sweep.out.find("has no parameter 'pages'"), std::string::npos)
      << sweep.out;
  ShellRun gen = Shell(Bin() + " scenario make-j2 --param depth=3 2>&1");
  EXPECT_EQ(gen.status, 2);
  EXPECT_NE(gen.out.find("has no parameter 'depth'"), std::string::npos)
      << gen.out;
}

// The runs of a document without wall times, which differ run to run.
json Deterministic(json doc) {
  for (json& r : doc["runs"]) r["metrics"].erase("wall_ms");
  return doc["runs"];
}

TEST(ReportCli, MergesCompareResultsInOrder) {
  auto dir = TempDir("report");
  std::string a = (dir / "a.json").string(), b = (dir / "b.json").string();
  ASSERT_EQ(Shell(Bin() + " compare --format json --design anon_vma" + kSmall +
                  " > '" + a + "'")
                .status,
            0);
  ASSERT_EQ(Shell(Bin() +
                  " compare --format json --design anon_vma "
                  "--scenario forking-task --param rounds=5 > '" +
                  b + "'")
                .status,
            0);
  ShellRun r = Shell(Bin() + " report --format json '" + a + "' '" + b + "'");
  ASSERT_EQ(r.status, 0);
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["groups"].size(), 2u);
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][0]["scenario"], "fork-server");
  EXPECT_EQ(doc["runs"][1]["scenario"], "forking-task");
  EXPECT_NE(Shell(Bin() + " report '" + a + "'").out.find("== fork-server"),
            std::string::npos);
  std::ofstream((dir / "bad.json").string()) << "[1, 2]";
  EXPECT_EQ(
      Shell(Bin() + " report '" + (dir / "bad.json").string() + "' 2>/dev/null")
          .status,
      2);
  std::filesystem::remove_all(dir);
}

// issue 12 7: the jobs of a sweep, run by GNU parallel and merged, give
// what one compare gives.
TEST(SweepCli, GnuParallelJobsMergeToTheSameResult) {
  if (Shell("parallel --version 2>/dev/null | grep -q 'GNU parallel'").status !=
      0)
    GTEST_SKIP() << "GNU parallel is not installed (apt-get install parallel)";
  auto dir = TempDir("sweep");
  std::string plan =
      std::string(kSmall) +
      " --design anon_vma --design anon_vma_chain --sweep children=2,3";
  std::string cd = "cd '" + dir.string() + "' && ";
  ASSERT_EQ(Shell(cd + Bin() + " sweep" + plan + " --jobs jobs.txt 2>/dev/null")
                .status,
            0);
  ASSERT_EQ(Shell(cd + "parallel -j 2 < jobs.txt").status, 0);
  ShellRun merged =
      Shell(cd + Bin() + " report --format json results/job-*.json");
  ShellRun direct = Shell(Bin() + " compare --format json" + plan);
  ASSERT_EQ(merged.status, 0);
  ASSERT_EQ(direct.status, 0);
  json m = json::parse(merged.out), d = json::parse(direct.out);
  EXPECT_EQ(m["runs"].size(), 4u);
  EXPECT_EQ(Deterministic(m), Deterministic(d));
  EXPECT_EQ(m["groups"], d["groups"]);
  std::filesystem::remove_all(dir);
}

// issue 12 section 4: `rmaplab claims` measures every claim and gives each
// a verdict computed from its runs: none is left "not run", and the
// Markdown table (docs/results.md's) has a row with a verdict per claim.
TEST(ClaimsCli, EveryClaimHasAVerdict) {
  ShellRun r = Shell(Bin() + " claims --format json -j 2");
  ASSERT_EQ(r.status, 0);
  json doc = json::parse(r.out);
  ASSERT_GE(doc["claims"].size(), 18u);
  const std::set<std::string> verdicts = {"reproduced", "contradicted",
                                          "not measurable"};
  for (const json& c : doc["claims"]) {
    EXPECT_TRUE(verdicts.count(c["verdict"])) << c["id"] << ": " << c["why"];
    if (c["verdict"] != "reproduced") {
      EXPECT_FALSE(c["why"].get<std::string>().empty()) << c["id"];
    }
    for (const json& g : c["groups"]) {  // the report can link them
      bool found = false;
      for (const json& group : doc["groups"]) found |= group["id"] == g;
      EXPECT_TRUE(found) << c["id"] << ": " << g;
    }
    EXPECT_EQ(c["groups"].size(), c["commands"].size()) << c["id"];
  }
  ShellRun md = Shell(Bin() + " claims -j 2");
  ASSERT_EQ(md.status, 0);
  size_t rows = 0;
  for (size_t p = 0; (p = md.out.find("\n| ", p)) != std::string::npos; ++p)
    ++rows;
  EXPECT_EQ(rows, doc["claims"].size());  // the header starts the text
  for (const json& c : doc["claims"])
    EXPECT_NE(md.out.find("**" + c["verdict"].get<std::string>() + "**"),
              std::string::npos);
}

std::string Chromium() {
  for (const char* c : {"chromium", "chromium-browser", "google-chrome"})
    if (Shell(std::string("command -v ") + c + " >/dev/null").status == 0)
      return c;
  return "";
}

// The report in a real browser: every chart's SVG has a drawn box (the
// page's own script counts them into <body data-charts-rendered>).
TEST(ReportHtml, EveryChartRendersInChromium) {
  std::string browser = Chromium();
  if (browser.empty())
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  if (Shell("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null").status != 0)
    GTEST_SKIP() << "python3-matplotlib is not installed";
  auto dir = TempDir("html");
  std::string page = (dir / "report.html").string();
  ShellRun r =
      Shell(Bin() + " compare" + kSmall +
            " --scenario deep-fork-tree --param depth=1 --sweep fanout=1,2"
            " --html '" +
            page + "' 2>&1");
  // The sweep restricts to deep-fork-tree; fork-server's params still apply.
  ASSERT_EQ(r.status, 0) << r.out;
  ShellRun both =
      Shell(Bin() + " compare" + kSmall + " --html '" + page + "' >/dev/null");
  ASSERT_EQ(both.status, 0);
  std::ifstream f(page);
  std::string html((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(html.find("http://www.w3.org/1999/xlink\""), html.find("http"))
      << "the page must not load anything";
  size_t figures = 0;
  for (size_t p = 0;
       (p = html.find("<figure class=\"chart\"", p)) != std::string::npos; ++p)
    ++figures;
  ASSERT_EQ(figures, 6u);  // fork-server's headline metrics
  // The claims section, in the contents too: these small runs measure no
  // claim, so every claim is "not run" but the one that needs no run.
  EXPECT_NE(html.find("<section id=\"claims\">"), std::string::npos);
  EXPECT_NE(html.find("href=\"#claims\""), std::string::npos);
  EXPECT_NE(html.find("data-verdict=\"not run\""), std::string::npos);
  EXPECT_NE(html.find("data-verdict=\"not measurable\""), std::string::npos);
  ShellRun dom = Shell(browser +
                       " --headless --no-sandbox --disable-gpu "
                       "--virtual-time-budget=5000 --dump-dom 'file://" +
                       page + "' 2>/dev/null");
  ASSERT_EQ(dom.status, 0);
  const std::string attr = "data-charts-rendered=\"";
  size_t at = dom.out.find(attr);
  ASSERT_NE(at, std::string::npos) << "the page's check script did not run";
  EXPECT_EQ(std::stoul(dom.out.substr(at + attr.size())), figures);
  EXPECT_NE(dom.out.find("id=\"claim-2634-fork-server\""), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rmaplab
