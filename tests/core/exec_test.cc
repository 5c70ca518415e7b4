// exec_test.cc: the `exec` op (trace format version 2): it parses with no
// arguments, and under every design it tears the old address space down as
// `exit` does while the pid lives on with a new, empty mm that shares
// nothing with its former relatives.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

TEST(ParseExec, TakesNoArgumentsAndNeedsAPid) {
  Result<Trace> t = ParseTrace("1 exec\n", "t");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t.value().ops[0].kind, OpKind::kExec);
  EXPECT_EQ(OpName(OpKind::kExec), "exec");
  Result<Trace> extra = ParseTrace("1 exec 2\n", "t");
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().message(), "t:1:8: unexpected argument '2'");
  EXPECT_FALSE(ParseTrace("* exec\n", "t").ok());
}

struct ExecRun {
  int rc;
  std::string out;
  std::map<std::string, uint64_t> stats;
};

ExecRun ReplayChecked(const std::string& design, const std::string& text) {
  SimOptions so;
  so.design = design;
  so.check = true;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(so);
  EXPECT_TRUE(sim.ok());
  Result<Trace> trace = ParseTrace(text, "t");
  EXPECT_TRUE(trace.ok()) << trace.status().message();
  std::ostringstream out;
  ReplayOptions ro;
  ro.keep_going = true;
  ExecRun r;
  ReplayResult result = Replay(trace.value(), *sim.value(), out, ro);
  EXPECT_TRUE(result.check.ok()) << design << ": " << result.check.message();
  r.rc = result.ok() ? 0 : 1;
  r.out = out.str();
  for (const auto& [k, v] : StatsEntries(sim.value()->Stats())) r.stats[k] = v;
  return r;
}

// Parent P maps 4 pages and forks C; C execs, maps the same addresses and
// forks G; P forks again and execs itself.
//
//   before:  P [AAAA]  C [AAAA]   (COW-shared)
//   after:   P [ ]     C [bb]  G [bb]   P's second child D [AAAA]
constexpr const char* kExecTrace =
    "1 mmap 0x100000000 16K rw\n"
    "1 write 0x100000000 16K\n"
    "1 mmap 0x100100000 4K rw shared\n"
    "1 write 0x100100000 =0x5\n"
    "1 fork 2\n"
    "2 exec\n"
    "2 maps\n"
    "1 pagemap 0x100000000 16K\n"
    "2 mmap 0x100000000 8K rw\n"
    "2 write 0x100000000 8K =0x22\n"
    "2 fork 3\n"
    "3 pagemap 0x100000000 8K\n"
    "1 fork 4\n"
    "1 exec\n"
    "1 exec\n"
    "4 expect 0x100100000 =0x5\n"
    "4 pagemap 0x100000000 16K\n"
    "1 read 0x100000000\n";

TEST(Exec, EveryDesignTearsDownAndStartsAfresh) {
  std::string first;
  for (const std::string& design : DesignNames()) {
    ExecRun r = ReplayChecked(design, kExecTrace);
    EXPECT_EQ(r.rc, 1) << design;  // only the read on the empty mm fails
    EXPECT_NE(r.out.find("# maps pid=2 line=7\n# pagemap pid=1 line=8\n"),
              std::string::npos)
        << design << ": the exec'd mm is empty\n"
        << r.out;
    // C's exec left P the only mapper of its pages: exclusive again.
    EXPECT_NE(r.out.find("# pagemap pid=1 line=8\n100000000 present exclusive"),
              std::string::npos)
        << design << "\n"
        << r.out;
    EXPECT_NE(r.out.find("# pagemap pid=3 line=12\n"
                         "100000000 present shared value=0x22\n"),
              std::string::npos)
        << design << "\n"
        << r.out;
    // D is the only one left mapping the first 4 pages: exclusive again.
    EXPECT_NE(r.out.find("# pagemap pid=4 line=17\n"
                         "100000000 present exclusive"),
              std::string::npos)
        << design << "\n"
        << r.out;
    EXPECT_NE(r.out.find("error line=18 op=read errno=EFAULT"),
              std::string::npos);
    EXPECT_EQ(r.stats["processes"], 4u) << design;
    EXPECT_EQ(r.stats["exits"], 0u) << design << ": exec is not an exit";
    // D's 4 pages + the shmem page + C's 2 pages (shared with G).
    EXPECT_EQ(r.stats["pages_resident"], 7u) << design;
    if (first.empty()) first = r.out;
    EXPECT_EQ(r.out, first) << design << " prints differently";
  }
}

}  // namespace
}  // namespace rmaplab
