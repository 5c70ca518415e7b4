// native_thp_stats_test.cc: the THP counters of `stats` on the real kernel
// (/proc/vmstat thp_*, hugepages-<SIZE>kB/stats), printed under the
// model's keys as the trace's own events, and compared by `rmaplab diff`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "native/native.h"
#include "native_test_util.h"
#include "rmaplab/stats.h"

namespace rmaplab::testing {
namespace {

bool IsThpKey(std::string_view key) {
  return key.starts_with("thp_") || key.starts_with("anon_fault_");
}

// The model's THP keys, in the order `stats` prints them.
std::vector<std::string> ModelThpKeys() {
  std::vector<std::string> keys;
  for (const StatField& f : kStatFields)
    if (IsThpKey(f.name)) keys.emplace_back(f.name);
  return keys;
}

// The THP keys of a native `stats` block, in order.
std::vector<std::string> PrintedThpKeys(const NativeRun& r) {
  std::vector<std::string> keys;
  for (const std::string& line : r.lines) {
    std::string key = line.substr(0, line.find(' '));
    if (IsThpKey(key)) keys.push_back(key);
  }
  return keys;
}

bool HasThp() {
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  return IsRoot() && thp.good();
}

// Two PMD-mapped THPs (MADV_HUGEPAGE, the spec's `madvise` policy), then
// half of the second unmapped:
//
//   0x100000000 [THP THP THP THP][THP THP .. ..]  (.. = unmapped 1M)
constexpr char kTwoThpsHalfUnmapped[] =
    "1 mmap 0x100000000 4M rw\n"
    "1 madvise 0x100000000 4M hugepage\n"
    "1 write 0x100000000 =0x1\n"
    "1 write 0x100200000 =0x2\n"
    "1 munmap 0x100300000 1M\n"
    "* stats\n";

TEST(NativeThpStats, StatsPrintEveryModelThpKeyInTheModelsOrder) {
  if (!HasThp()) GTEST_SKIP() << "needs root and transparent huge pages";
  NativeRun r = RunNative(kTwoThpsHalfUnmapped);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(PrintedThpKeys(r), ModelThpKeys()) << r.out;
}

TEST(NativeThpStats, CountersAreTheTracesOwnEventsInEveryRun) {
  if (!HasThp()) GTEST_SKIP() << "needs root and transparent huge pages";
  // A second run prints the same: deltas from the run's start, not totals.
  for (int run = 0; run < 2; ++run) {
    NativeRun r = RunNative(kTwoThpsHalfUnmapped);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\nthp_fault_alloc 2\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nanon_fault_alloc_2048kB 2\n"), std::string::npos)
        << r.out;
    // munmap cuts the second PMD mapping and leaves its folio half mapped.
    EXPECT_NE(r.out.find("\nthp_split_pmd 1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nthp_deferred_split_page 1\n"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\nthp_split_page 0\n"), std::string::npos) << r.out;
  }
}

Trace Parse(const std::string& text) {
  Result<Trace> t = ParseTrace(text, "test.trace");
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? t.value() : Trace{};
}

TEST(DiffComparesStat, EveryModelThpCounterUntilAThpAlways) {
  Trace trace = Parse(
      "1 mmap 0x100000000 2M rw\n"
      "* stats\n"
      "* thp 64K always\n"
      "* stats\n");
  for (const std::string& key : ModelThpKeys()) {
    EXPECT_TRUE(native::DiffComparesStat(trace, 2, key)) << key;
    // From `always` on, every process faults large folios: machine noise.
    EXPECT_FALSE(native::DiffComparesStat(trace, 4, key)) << key;
  }
  EXPECT_TRUE(native::DiffComparesStat(trace, 4, "vmas"));
  EXPECT_FALSE(native::DiffComparesStat(trace, 2, "page_faults"));
  EXPECT_FALSE(native::DiffComparesStat(trace, 2, "pages_resident"));
}

TEST(NativeThpStats, DiffAgreesOnTheThpCountersOfAThpTrace) {
  if (!HasThp()) GTEST_SKIP() << "needs root and transparent huge pages";
  char path[] = "/tmp/rmaplab-thp-diff-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string_view text = kTwoThpsHalfUnmapped;
  ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  native::DiffOptions options;
  options.trace_path = path;
  std::ostringstream out, err;
  int rc = native::Diff(options, out, err);
  unlink(path);
  ASSERT_EQ(rc, 0) << out.str() << err.str();
  // The header, processes, vmas, four ksm_ keys and every THP counter.
  size_t compared = 1 + 2 + 4 + ModelThpKeys().size();
  EXPECT_NE(out.str().find("(" + std::to_string(compared) + " output lines"),
            std::string::npos)
      << out.str();
}

}  // namespace
}  // namespace rmaplab::testing
