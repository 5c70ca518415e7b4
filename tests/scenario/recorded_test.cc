// recorded_test.cc: the recorded real programs as scenarios (src/scenario/
// recorded.h): every file of examples/recorded/ is a scenario by its name,
// its trace is the recording byte for byte (less the exits at its end),
// `ops` cuts a prefix and `mem_percent` sets the pressure, other parameters
// are refused with the reason, and every recording, whole, runs under
// every design with the content oracle and the invariant checker clean.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "rmaplab/scenario.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

namespace fs = std::filesystem;

const fs::path kRecordedDir =
    fs::path(RMAPLAB_SOURCE_DIR) / "examples/recorded";

// NAME -> its file name, for every NAME.trace[.gz] of examples/recorded/.
std::map<std::string, std::string> RecordingFiles() {
  std::map<std::string, std::string> files;
  for (const fs::directory_entry& e : fs::directory_iterator(kRecordedDir)) {
    std::string f = e.path().filename().string();
    for (const char* ext : {".trace.gz", ".trace"}) {
      std::string x = ext;
      if (f.size() > x.size() && f.ends_with(x)) {
        files[f.substr(0, f.size() - x.size())] = f;
        break;
      }
    }
  }
  return files;
}

// The file's text, decompressed (gzip -dcf reads plain files too).
std::string ReadRecording(const std::string& file) {
  std::string cmd = "gzip -dcf '" + (kRecordedDir / file).string() + "'";
  std::string text;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return text;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return text;
}

std::vector<std::string> RecordedNames() {
  std::vector<std::string> names;
  for (const Scenario& s : Scenarios())
    if (!s.recorded.empty()) names.push_back(s.name);
  return names;
}

Result<ScenarioTrace> Generate(
    const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& o) {
  const Scenario* s = FindScenario(name);
  if (!s) return Status::Error("no scenario " + name);
  Result<ScenarioArgs> args = ResolveScenarioArgs(*s, o);
  if (!args.ok()) return args.status();
  return GenerateScenario(*s, args.value());
}

TEST(RecordedScenarios, EveryRecordingIsAScenarioByItsName) {
  std::map<std::string, std::string> files = RecordingFiles();
  ASSERT_GE(files.size(), 5u);  // scripts/record-corpus records five
  for (const auto& [name, file] : files) {
    const Scenario* s = FindScenario(name);
    ASSERT_NE(s, nullptr) << file << " is not a scenario";
    EXPECT_EQ(s->recorded, "examples/recorded/" + file);
    // A description of its own (recorded.cc), not the fallback.
    EXPECT_EQ(s->summary.find("recorded: "), 0u) << s->summary;
    EXPECT_EQ(s->summary.find("rmaplab record"), std::string::npos)
        << name << " has no description in recorded.cc";
  }
  EXPECT_EQ(RecordedNames().size(), files.size());
}

// The recording whole, no pressure: its text, less the exits at its end,
// after the header GenerateScenario adds.
TEST(RecordedScenarios, TraceIsTheRecordingLessItsFinalExits) {
  for (const auto& [name, file] : RecordingFiles()) {
    std::string text = ReadRecording(file);
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    // The exit lines after the last other op go; comments stay.
    size_t exits = 0;
    for (size_t i = lines.size(); i-- > 0;) {
      if (lines[i].ends_with(" exit")) {
        lines.erase(lines.begin() + i);
        ++exits;
      } else if (!lines[i].starts_with("#")) {
        break;
      }
    }
    std::string kept;
    for (const std::string& l : lines) kept += l + "\n";
    Result<ScenarioTrace> t = Generate(name, {{"mem_percent", "100"}});
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t.value().mem_pages, 0u) << name;
    const std::string& got = t.value().text;
    size_t at = got.find(kept);
    ASSERT_NE(at, std::string::npos) << name;
    // After the recording, only the note on what was left out.
    std::string note = exits ? "# left out: the " + std::to_string(exits) +
                                   " exit ops at the end, so that the "
                                   "processes stay whole\n"
                             : "";
    EXPECT_TRUE(got.substr(at + kept.size()) == note) << name;
    Result<Trace> whole = ParseTrace(text, file);
    Result<Trace> cut = ParseTrace(t.value().text, name);
    ASSERT_TRUE(whole.ok() && cut.ok()) << name;
    EXPECT_EQ(cut.value().ops.size() + exits, whole.value().ops.size()) << name;
  }
}

TEST(RecordedScenarios, OpsCutsAPrefixAndMemPercentSetsThePressure) {
  for (const std::string& name : RecordedNames()) {
    Result<ScenarioTrace> t = Generate(name, {{"ops", "30"}});
    ASSERT_TRUE(t.ok()) << t.status().message();
    Result<Trace> cut = ParseTrace(t.value().text, name);
    ASSERT_TRUE(cut.ok()) << cut.status().message();
    EXPECT_LE(cut.value().ops.size(), 30u) << name;
    EXPECT_GT(cut.value().ops.size(), 0u) << name;
    // More than the recording has: all of it, as the default (after the
    // first line, which says how it was made).
    auto body = [](const std::string& text) {
      return text.substr(text.find('\n'));
    };
    Result<ScenarioTrace> all = Generate(name, {{"ops", "999999999"}});
    ASSERT_TRUE(all.ok());
    EXPECT_TRUE(body(all.value().text) == body(Generate(name, {}).value().text))
        << name;
    // Less memory, fewer pages (never below 16).
    uint64_t m50 = Generate(name, {{"mem_percent", "50"}}).value().mem_pages;
    uint64_t m10 = Generate(name, {{"mem_percent", "10"}}).value().mem_pages;
    EXPECT_GE(m50, m10) << name;
    EXPECT_GE(m10, 16u) << name;
  }
  uint64_t redis =
      Generate("redis-bgsave", {{"mem_percent", "50"}}).value().mem_pages;
  EXPECT_GT(redis, 16u);
  EXPECT_GT(
      redis,
      Generate("redis-bgsave", {{"mem_percent", "10"}}).value().mem_pages);
}

TEST(RecordedScenarios, ParametersThatDoNotApplyAreRefusedWithTheReason) {
  for (const std::string& name : RecordedNames()) {
    Result<ScenarioTrace> t = Generate(name, {{"children", "4"}});
    ASSERT_FALSE(t.ok()) << name;
    const std::string& m = t.status().message();
    EXPECT_NE(m.find("has no parameter 'children'"), std::string::npos) << m;
    EXPECT_NE(m.find("mem_percent, ops"), std::string::npos) << m;
    EXPECT_NE(m.find("a recorded program"), std::string::npos) << m;
    EXPECT_FALSE(Generate(name, {{"ops", "0"}}).ok()) << name;
    EXPECT_FALSE(Generate(name, {{"mem_percent", "101"}}).ok()) << name;
  }
}

// Every recording, whole, at its default pressure, under every design: no
// refused op, and the content oracle and invariant checker clean every
// kCheckEvery ops and at the end (after every op is O(state) per op: four
// minutes for python-pool alone; ScenarioGenerate's test checks a prefix
// after every op).
class RecordedUnderEveryDesign
    : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

constexpr size_t kCheckEvery = 256;

TEST_P(RecordedUnderEveryDesign, WholeRecordingCheckedClean) {
  const auto& [name, design] = GetParam();
  Result<ScenarioTrace> t = Generate(name, {});
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_GT(t.value().mem_pages, 0u);
  Result<Trace> trace = ParseTrace(t.value().text, name);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  SimOptions so;
  so.design = design;
  so.check = true;
  so.mem_pages = t.value().mem_pages;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(so);
  ASSERT_TRUE(sim.ok()) << sim.status().message();
  Simulator& s = *sim.value();
  std::ostringstream sink;
  const std::vector<Op>& ops = trace.value().ops;
  for (size_t i = 0; i < ops.size(); ++i) {
    ASSERT_EQ(s.Apply(ops[i], sink), Errno::kOk)
        << name << " line " << ops[i].line << ": " << s.last_message();
    sink.str("");
    if (i % kCheckEvery == kCheckEvery - 1 || i + 1 == ops.size()) {
      Status c = s.Check();
      ASSERT_TRUE(c.ok()) << name << " after line " << ops[i].line << ": "
                          << c.message();
    }
  }
  // The pressure made reclaim walk the reverse map.
  EXPECT_GT(s.Stats().pgsteal, 0u) << name;
}

std::string RecordedTestName(
    const testing::TestParamInfo<std::tuple<std::string, std::string>>& info) {
  std::string n = std::get<0>(info.param) + "__" + std::get<1>(info.param);
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Recordings, RecordedUnderEveryDesign,
                         testing::Combine(testing::ValuesIn(RecordedNames()),
                                          testing::ValuesIn(DesignNames())),
                         RecordedTestName);

}  // namespace
}  // namespace rmaplab
