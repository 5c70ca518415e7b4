// pressure_test.cc: memory so small that reclaim runs on almost every
// fault, under every design, with the content oracle and the invariants
// checked after every op: nothing lost, nothing leaked, and when every
// process has exited no frame or swap slot is left.  The workload is the
// generator's `swap` profile (forks, COW writes, dontneed, pageout, cold,
// mremap, migrate, swapoff, exits).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "core/kernel_test_util.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

class PressureTest : public testing::TestWithParam<std::string> {};

TEST_P(PressureTest, NothingLostNothingLeaked) {
  uint64_t wasted = 0, swapins = 0;
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SimOptions opts;
    opts.design = GetParam();
    opts.check = true;
    opts.mem_pages = 8;  // a fraction of what the processes touch
    opts.swap_pages = 4096;
    Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
    ASSERT_TRUE(sim.ok()) << sim.status().message();
    Result<Trace> trace =
        ParseTrace(GeneratedTrace(seed, "swap", 160), "pressure");
    ASSERT_TRUE(trace.ok()) << trace.status().message();
    std::ostringstream out;
    ReplayOptions ro;
    ro.keep_going = true;
    ReplayResult r = Replay(trace.value(), *sim.value(), out, ro);
    ASSERT_TRUE(r.check.ok()) << "seed " << seed << ": " << r.check.message();
    Stats stats = sim.value()->Stats();
    EXPECT_GT(stats.pswpout, 0u) << "seed " << seed << ": reclaim never ran";
    EXPECT_EQ(stats.pages_resident, 0u) << "seed " << seed;
    EXPECT_EQ(stats.swap_slots_used, 0u) << "seed " << seed;
    EXPECT_EQ(stats.rmap_bytes, 0u) << "seed " << seed;
    swapins += stats.pswpin;
    wasted += stats.wasted_pages;
  }
  // The workload really exercised swap-in through this design (migration
  // is FaultTest.MigrationMovesEveryMappingButNotPins's, per design).
  EXPECT_GT(swapins, 0u);
  if (GetParam() == "anonmm-copy") {
    EXPECT_GT(wasted, 0u);
  }
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(PressureTest);

// With memory for a handful of pages and no swap, the OOM killer takes the
// biggest process and says so; the others keep their data.
TEST(OomTest, KillsTheLargestAndSaysSo) {
  SimOptions opts;
  opts.check = true;
  opts.mem_pages = 12;
  opts.swap_pages = 0;
  auto sim = Simulator::Create(opts);
  ASSERT_TRUE(sim.ok());
  Result<Trace> trace = ParseTrace(
      "1 mmap 0x100000000 128K rw\n"
      "1 write 0x100000000 8K =1\n"
      "1 fork 2\n"
      "2 write 0x100010000 32K =2\n"
      "2 write 0x100008000 24K =3\n"
      "1 expect 0x100000000 8K =1\n"
      "2 read 0x100000000\n",
      "oom");
  ASSERT_TRUE(trace.ok());
  std::ostringstream out;
  ReplayOptions ro;
  ro.keep_going = true;
  ReplayResult r = Replay(trace.value(), *sim.value(), out, ro);
  EXPECT_TRUE(r.check.ok()) << r.check.message();
  EXPECT_EQ(r.ops_failed, 1);  // pid 2 is gone by line 7: ESRCH
  EXPECT_NE(out.str().find("# oom-kill pid=2 line=5"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("error line=7 op=read errno=ESRCH"),
            std::string::npos);
  EXPECT_EQ(out.str().find("op=expect"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace rmaplab
