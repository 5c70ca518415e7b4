// sim_api_test.cc: the public API's results as values (rmaplab/sim.h,
// rmaplab/stats.h): typed stats, maps and pagemap entries, ReplayResult.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rmaplab/output.h"
#include "rmaplab/sim.h"
#include "rmaplab/stats.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

constexpr char kTrace[] =
    "1 mmap 0x100000000 16K rw\n"
    "1 write 0x100000000 8K\n"
    "1 fork 2\n"
    "2 write 0x100001000\n"
    "1 mprotect 0x100003000 4K r\n"
    "1 read 0x100002000\n"
    "1 maps\n"
    "2 pagemap 0x100000000 16K\n"
    "* stats\n";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string s; std::getline(in, s);) v.push_back(s);
  return v;
}

struct Replayed {
  std::unique_ptr<Simulator> sim;
  std::vector<std::string> printed;
  ReplayResult result;
};

Replayed ReplayText(const std::string& text, const std::string& design,
                    ReplayOptions ro = {}) {
  Result<Trace> trace = ParseTrace(text, "api.trace");
  EXPECT_TRUE(trace.ok()) << trace.status().message();
  SimOptions opts;
  opts.design = design;
  opts.check = true;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  EXPECT_TRUE(sim.ok());
  std::ostringstream out;
  Replayed r;
  r.result = Replay(trace.value(), *sim.value(), out, ro);
  r.sim = std::move(sim.value());
  r.printed = Lines(out.str());
  return r;
}

// The lines after header `h` up to the next header.
std::vector<std::string> Block(const std::vector<std::string>& lines,
                               const std::string& h) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < lines.size() && lines[i].rfind(h, 0) != 0) ++i;
  for (++i; i < lines.size() && lines[i][0] != '#'; ++i) v.push_back(lines[i]);
  return v;
}

class SimApiTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SimApiTest, StatsFieldsAreWhatTheStatsOpPrints) {
  Replayed r = ReplayText(kTrace, GetParam());
  ASSERT_TRUE(r.result.ok()) << r.result.check.message();
  Stats s = r.sim->Stats();
  std::vector<std::string> want;
  for (const auto& [name, value] : StatsEntries(s))
    want.push_back(name + " " + std::to_string(value));
  EXPECT_EQ(Block(r.printed, "# stats"), want);
  // Named fields hold the values, not a lookup by name.
  EXPECT_EQ(s.processes, 2u);
  EXPECT_EQ(s.forks, 1u);
  EXPECT_EQ(StatByName(s, "vmas"), s.vmas);
  EXPECT_EQ(StatByName(s, "no_such_counter"), std::nullopt);
}

TEST_P(SimApiTest, MapsAndPagemapEntriesAreWhatTheOpsPrint) {
  Replayed r = ReplayText(kTrace, GetParam());
  Result<std::vector<MapsEntry>> maps = r.sim->Maps(1);
  ASSERT_TRUE(maps.ok()) << maps.status().message();
  std::vector<std::string> maps_lines;
  for (const MapsEntry& e : maps.value())
    maps_lines.push_back(FormatMapsLine(e));
  EXPECT_EQ(Block(r.printed, "# maps pid=1"), maps_lines);
  ASSERT_EQ(maps.value().size(), 2u);  // the mprotect split the VMA
  EXPECT_EQ(maps.value()[1].start, 0x100003000u);
  EXPECT_EQ(maps.value()[1].prot, kProtRead);

  Result<std::vector<PagemapEntry>> pm = r.sim->Pagemap(2, 0x100000000, 0x4000);
  ASSERT_TRUE(pm.ok()) << pm.status().message();
  std::vector<std::string> pm_lines;
  for (const PagemapEntry& e : pm.value())
    pm_lines.push_back(FormatPagemapLine(e));
  EXPECT_EQ(Block(r.printed, "# pagemap pid=2"), pm_lines);
  ASSERT_EQ(pm.value().size(), 4u);
  EXPECT_EQ(pm.value()[1].state, PageState::kPresent);
  EXPECT_TRUE(pm.value()[1].exclusive);  // the child's COW copy
  EXPECT_EQ(pm.value()[3].state, PageState::kNone);
}

TEST_P(SimApiTest, QueriesOfAnExitedPidAreErrors) {
  Replayed r =
      ReplayText("1 mmap 0x100000000 4K rw\n1 fork 2\n2 exit\n", GetParam());
  EXPECT_FALSE(r.sim->Maps(2).ok());
  EXPECT_FALSE(r.sim->Pagemap(2, 0x100000000, 0x1000).ok());
  EXPECT_FALSE(r.sim->Pagemap(1, 0x100000001, 0x1000).ok());  // misaligned
  EXPECT_TRUE(r.sim->Maps(1).ok());
}

INSTANTIATE_TEST_SUITE_P(AllDesigns, SimApiTest,
                         ::testing::ValuesIn(DesignNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           return n;
                         });

TEST(ReplayResult, CountsRefusedOpsAndStopsUnlessKeepGoing) {
  const std::string text =
      "1 mmap 0x100000000 4K rw\n"
      "1 read 0x200000000\n"  // EFAULT
      "1 munmap 0x300000000 4K\n"
      "1 expect 0x100000000 =5\n";  // EXPECT
  Replayed stop = ReplayText(text, "anon_vma_chain");
  EXPECT_EQ(stop.result.ops_run, 2);
  EXPECT_EQ(stop.result.ops_failed, 1);
  EXPECT_FALSE(stop.result.ok());
  EXPECT_TRUE(stop.result.check.ok());
  ReplayOptions ro;
  ro.keep_going = true;
  ro.time = true;
  Replayed go = ReplayText(text, "anon_vma_chain", ro);
  EXPECT_EQ(go.result.ops_run, 4);
  EXPECT_EQ(go.result.ops_failed, 2);
  EXPECT_EQ(go.printed.back(), "error line=4 op=expect errno=EXPECT");
  uint64_t timed = 0;
  for (const OpKindTime& t : go.result.times) timed += t.count;
  EXPECT_EQ(timed, 4u);
}

TEST(StatFields, EveryNameOnceInPrintOrder) {
  std::set<std::string_view> names;
  for (const StatField& f : kStatFields) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_NE(f.value == nullptr, f.optional == nullptr) << f.name;
  }
  // The contract's first and last always-present counters.
  EXPECT_EQ(kStatFields[0].name, "pages_resident");
  Stats s;
  EXPECT_EQ(StatsEntries(s).size(), std::size(kStatFields) - 1);
  s.swapoff_object_visits = 7;
  EXPECT_EQ(StatsEntries(s).back(),
            (std::pair<std::string, uint64_t>("swapoff_object_visits", 7)));
}

}  // namespace
}  // namespace rmaplab
