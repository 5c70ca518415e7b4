// pin_switches_test.cc: the two switches that bring historical pin bugs
// back on purpose (SimOptions::unsafe_pin_check, legacy_fork_cow; `replay
// --unsafe-pin-check`, `--legacy-fork-cow`), through the traces of
// tests/traces/pin-bugs/.
//
// Each trace names its switch on its first line ("# switch: --NAME").  Under
// every design:
//  (1) without a switch the replay under --check finds nothing (exit 0; a
//      migrate refused with EBUSY, as spec v2 has it, is the one op allowed
//      to fail);
//  (2) with the trace's switch the content oracle reports the lost or
//      leaked DMA write right after the dmawrite (exit 3);
//  (3) the other switch alone brings back a different bug, not this one
//      (exit as in (1)).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"                    // RunCommand
#include "core/kernel_test_util.h"  // RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS
#include "rmaplab/sim.h"

namespace rmaplab {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(RMAPLAB_SOURCE_DIR) / "tests/traces/pin-bugs";
constexpr char kUnsafe[] = "--unsafe-pin-check";
constexpr char kLegacy[] = "--legacy-fork-cow";

struct CliRun {
  int status;
  std::string out, err;
};

CliRun ReplayCli(const fs::path& trace, const std::string& design,
                 const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--design", design, "--check",
                                   "--keep-going"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(trace.string());
  std::ostringstream out, err;
  int status = RunCommand("replay", args, out, err);
  return {status, out.str(), err.str()};
}

// The switch a trace brings its bug back with ("# switch: --NAME").
std::string SwitchOf(const fs::path& trace) {
  std::ifstream in(trace);
  std::string first;
  std::getline(in, first);
  const std::string tag = "# switch: ";
  return first.rfind(tag, 0) == 0 ? first.substr(tag.size()) : "";
}

std::vector<fs::path> Traces() {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".trace") v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

// Invariant (1): the checker finds nothing; the only op allowed to fail is
// a migrate refused with EBUSY.
void ExpectClean(const CliRun& r, const std::string& what) {
  EXPECT_NE(r.status, 3) << what << "\n" << r.err;
  EXPECT_EQ(r.err.find("content oracle"), std::string::npos) << what << r.err;
  std::istringstream lines(r.out);
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("error ", 0) == 0) {
      EXPECT_NE(l.find("op=migrate errno=EBUSY"), std::string::npos)
          << what << ": " << l;
    }
  }
  if (r.out.find("error ") == std::string::npos) {
    EXPECT_EQ(r.status, 0) << what << "\n" << r.out << r.err;
  }
}

TEST(PinSwitches, DefaultOff) {
  SimOptions opts;
  EXPECT_FALSE(opts.unsafe_pin_check);
  EXPECT_FALSE(opts.legacy_fork_cow);
}

TEST(PinSwitches, EveryTraceNamesAKnownSwitch) {
  std::vector<fs::path> traces = Traces();
  ASSERT_GE(traces.size(), 4u);
  int unsafe = 0, legacy = 0;
  for (const fs::path& t : traces) {
    std::string s = SwitchOf(t);
    EXPECT_TRUE(s == kUnsafe || s == kLegacy) << t << ": '" << s << "'";
    unsafe += s == kUnsafe;
    legacy += s == kLegacy;
  }
  EXPECT_GE(unsafe, 1);
  EXPECT_GE(legacy, 1);
}

TEST(PinSwitches, ReplayHelpListsBoth) {
  std::ostringstream out, err;
  ASSERT_EQ(RunCommand("replay", {"--help"}, out, err), 0);
  EXPECT_NE(out.str().find(kUnsafe), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(kLegacy), std::string::npos) << out.str();
}

class PinSwitchesByDesign : public ::testing::TestWithParam<std::string> {};

TEST_P(PinSwitchesByDesign, WithoutSwitchesTheCheckerFindsNothing) {
  for (const fs::path& t : Traces())
    ExpectClean(ReplayCli(t, GetParam(), {}), t.filename().string());
}

TEST_P(PinSwitchesByDesign, TheTracesSwitchLosesOrLeaksTheDmaWrite) {
  for (const fs::path& t : Traces()) {
    CliRun r = ReplayCli(t, GetParam(), {SwitchOf(t)});
    std::string what = t.filename().string() + " " + SwitchOf(t);
    EXPECT_EQ(r.status, 3) << what << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find("check failed after 'dmawrite"), std::string::npos)
        << what << "\n"
        << r.err;
    EXPECT_NE(r.err.find("content oracle: pid "), std::string::npos)
        << what << "\n"
        << r.err;
  }
}

TEST_P(PinSwitchesByDesign, TheOtherSwitchAloneFindsNothing) {
  for (const fs::path& t : Traces()) {
    std::string other = SwitchOf(t) == kUnsafe ? kLegacy : kUnsafe;
    ExpectClean(ReplayCli(t, GetParam(), {other}),
                t.filename().string() + " " + other);
  }
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(PinSwitchesByDesign);

}  // namespace
}  // namespace rmaplab
