// native_ksm_test.cc: rmaplab native's KSM settings (machine_ksm.cc):
// use_zero_pages and max_page_sharing are set for the run and given back,
// a bad value is a usage error, and the ksm_ stats are the trace's own
// even after earlier runs left KSM state behind.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "native_test_util.h"

namespace rmaplab::testing {
namespace {

std::string ReadKsm(const char* name) {
  std::ifstream in(std::string("/sys/kernel/mm/ksm/") + name);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool HasKsm() { return IsRoot() && !ReadKsm("use_zero_pages").empty(); }

TEST(NativeKsm, MaxPageSharingBelowTwoIsAUsageError) {
  NativeRun r =
      RunNative("1 mmap 0x100000000 4K rw\n", {"--ksm-max-page-sharing", "1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("at least 2"), std::string::npos) << r.err;
}

TEST(NativeKsm, UseZeroPagesIsSetForTheRunAndRestored) {
  if (!HasKsm()) GTEST_SKIP() << "needs root and use_zero_pages";
  std::string before = ReadKsm("use_zero_pages") + ReadKsm("max_page_sharing");
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 write 0x100000000 8K =0x0\n"
      "1 madvise 0x100000000 8K mergeable\n"
      "* ksm full\n"
      "1 pagemap 0x100000000 8K\n",
      {"--ksm-use-zero-pages"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 3u) << r.out;
  EXPECT_EQ(r.lines[1], "100000000 present shared zero value=0x0");
  EXPECT_EQ(ReadKsm("use_zero_pages") + ReadKsm("max_page_sharing"), before);
}

// Two runs in a row: the second's counters do not see the first's stale
// KSM pages (DropStaleKsmState, DropEmptyChains).
TEST(NativeKsm, StatsAreTheTracesOwnAfterAnEarlierRun) {
  if (!HasKsm()) GTEST_SKIP() << "needs root and KSM";
  const char* trace =
      "1 mmap 0x100000000 12K rw\n"
      "1 write 0x100000000 12K =0x5a\n"
      "1 madvise 0x100000000 12K mergeable\n"
      "* ksm full\n"
      "* stats\n";
  for (int run = 0; run < 2; ++run) {
    NativeRun r = RunNative(trace, {"--ksm-max-page-sharing", "256"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\nksm_pages_shared 1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nksm_pages_sharing 2\n"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\nksm_stable_node_chains 0\n"), std::string::npos);
  }
}

}  // namespace
}  // namespace rmaplab::testing
