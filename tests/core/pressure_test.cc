// pressure_test.cc: memory so small that reclaim runs on almost every
// fault, under every design, with the content oracle and the invariants
// checked after every op: nothing lost, nothing leaked, and when every
// process has exited no frame or swap slot is left.
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>

#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

// A deterministic workload: forks, COW writes, reads, dontneed, pageout,
// mremap moves, exits, reclaim and swapoff, over a few processes sharing a
// 32-page region.
std::string PressureTrace(unsigned seed) {
  std::mt19937 rng(seed);
  std::ostringstream t;
  const uint64_t base = 0x100000000;
  t << "1 mmap 0x100000000 128K rw\n1 mmap 0x100100000 32K rw shared\n";
  std::vector<unsigned> live = {1};
  unsigned next_pid = 2;
  for (int i = 0; i < 160; ++i) {
    unsigned pid = live[rng() % live.size()];
    uint64_t page = base + (rng() % 32) * kPageSize;
    uint64_t n = 1 + rng() % 6;
    switch (rng() % 14) {
      case 0:
        if (live.size() < 5) {
          t << pid << " fork " << next_pid << "\n";
          live.push_back(next_pid++);
        }
        break;
      case 1:
        if (live.size() > 1 && pid != 1) {
          t << pid << " exit\n";
          std::erase(live, pid);
        }
        break;
      case 2: t << pid << " read 0x" << std::hex << page << std::dec << " " << n * 4 << "K\n"; break;
      case 3: t << pid << " madvise 0x" << std::hex << page << std::dec << " 8K dontneed\n"; break;
      case 4: t << pid << " madvise 0x" << std::hex << page << std::dec << " 16K pageout\n"; break;
      case 5: t << "* reclaim " << 1 + rng() % 8 << "\n"; break;
      case 6: t << pid << " write 0x" << std::hex << 0x100100000 + (rng() % 8) * kPageSize
                << std::dec << "\n"; break;
      case 7: if (rng() % 4 == 0) t << "* swapoff\n"; break;
      case 9:
        t << pid << " migrate 0x" << std::hex << page << std::dec << " 16K " << rng() % 2
          << "\n";
        break;
      case 8:  // move two pages elsewhere in the region (or fail: EINVAL/EFAULT)
        t << pid << " mremap 0x" << std::hex << page << " 8K 8K 0x"
          << base + (rng() % 32) * kPageSize << std::dec << "\n";
        break;
      default:
        t << pid << " write 0x" << std::hex << page << std::dec << " " << n * 4 << "K\n";
    }
  }
  for (unsigned pid : live) t << pid << " exit\n";
  t << "* stats\n";
  return t.str();
}

class PressureTest : public testing::TestWithParam<std::string> {};

TEST_P(PressureTest, NothingLostNothingLeaked) {
  uint64_t migrated = 0, wasted = 0, swapins = 0;
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SimOptions opts;
    opts.design = GetParam();
    opts.check = true;
    opts.mem_pages = 24;   // a fraction of what the processes touch
    opts.swap_pages = 4096;
    Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
    ASSERT_TRUE(sim.ok()) << sim.status().message();
    Result<Trace> trace = ParseTrace(PressureTrace(seed), "pressure");
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
    migrated += stats.pgmigrate_success;
    swapins += stats.pswpin;
    wasted += stats.wasted_pages;
  }
  // The workload really exercised migration and swap-in through this design.
  EXPECT_GT(migrated, 0u);
  EXPECT_GT(swapins, 0u);
  if (GetParam() == "anonmm-copy") {
    EXPECT_GT(wasted, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(AllDesigns, PressureTest, testing::ValuesIn(DesignNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

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
  EXPECT_NE(out.str().find("# oom-kill pid=2 line=5"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("error line=7 op=read errno=ESRCH"), std::string::npos);
  EXPECT_EQ(out.str().find("op=expect"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace rmaplab
