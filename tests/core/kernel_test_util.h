// kernel_test_util.h: a Kernel with one design, helpers that draw and check
// an address space the way tools/testing/vma does, and the one way a suite
// runs over every registered design (value-parameterised over the
// registry: a design added to it, in this tree or by RegisterDesign, is
// tested without touching the suites).
#ifndef RMAPLAB_TESTS_CORE_KERNEL_TEST_UTIL_H_
#define RMAPLAB_TESTS_CORE_KERNEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "check/invariants.h"
#include "core/kernel.h"
#include "rmaplab/gen.h"
#include "rmaplab/sim.h"
#include "rmaplab/stats.h"

namespace rmaplab {

// Reaches into the Kernel to break it on purpose (checker tests).
class KernelTestPeer {
 public:
  static Page& Frame(Kernel& k, Pfn pfn) { return k.Frame(pfn); }
  static FolioInfo& Folio(Kernel& k, Pfn head) { return k.folios_.at(head); }
};

// A gtest-safe name for a design parameter ("anon_vma-direct" ->
// "anon_vma_direct").
inline std::string DesignTestName(
    const testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

// Runs the value-parameterised suite `Suite` once per registered design.
#define RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(Suite)                        \
  INSTANTIATE_TEST_SUITE_P(AllDesigns, Suite,                             \
                           ::testing::ValuesIn(::rmaplab::DesignNames()), \
                           ::rmaplab::DesignTestName)

// The counters of the `stats` op, by name.
inline std::map<std::string, uint64_t> StatsMap(const Stats& stats) {
  std::vector<std::pair<std::string, uint64_t>> e = StatsEntries(stats);
  return {e.begin(), e.end()};
}

// A trace from the one generator (rmaplab/gen.h), followed by the exit of
// every process still alive at its end, so that a replay ends with nothing
// mapped.
inline std::string GeneratedTrace(uint64_t seed, const std::string& profile,
                                  int ops) {
  GenOptions o;
  o.seed = seed;
  o.ops = ops;
  o.profile = profile;
  Result<std::string> t = GenerateTrace(o);
  EXPECT_TRUE(t.ok()) << t.status().message();
  if (!t.ok()) return "";
  std::set<std::string> live = {"1"};
  std::istringstream in(t.value());
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string pid, op, arg;
    words >> pid >> op >> arg;
    if (op == "fork") live.insert(arg);
    if (op == "exit") live.erase(pid);
  }
  std::string text = t.value();
  for (const std::string& pid : live) text += pid + " exit\n";
  return text;
}

// A Kernel running `design`, checked after each test.
class KernelFixture : public testing::Test {
 protected:
  static constexpr uint64_t kBase = 0x100000000;
  // Address of page n from kBase.
  static uint64_t P(int64_t n) { return kBase + n * kPageSize; }

  explicit KernelFixture(const std::string& design)
      : k_(CreateDesign(design), SimOptions{}) {}

  Mm& mm(uint32_t pid = 1) { return *k_.FindMm(pid); }

  // (start page, end page, pgoff relative to kBase >> kPageShift) per vma.
  using VmaLayout = std::vector<std::tuple<int64_t, int64_t, int64_t>>;
  VmaLayout LayoutOf(uint32_t pid = 1) {
    VmaLayout out;
    for (const auto& [s, v] : mm(pid).vmas)
      out.emplace_back((v->start - kBase) / kPageSize,
                       (v->end - kBase) / kPageSize,
                       static_cast<int64_t>(v->pgoff) -
                           static_cast<int64_t>(kBase >> kPageShift));
    return out;
  }
  Pfn PfnAt(uint32_t pid, int64_t page) {
    return mm(pid).pt.Get(P(page)).pfn();
  }

  void TearDown() override {
    Status s = CheckInvariants(k_);
    EXPECT_TRUE(s.ok()) << s.message();
  }

  Kernel k_;
};

// KernelFixture over every design: TEST_P(Suite, ...) with
// RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(Suite).
class KernelTest : public KernelFixture,
                   public testing::WithParamInterface<std::string> {
 protected:
  KernelTest() : KernelFixture(GetParam()) {}
};

}  // namespace rmaplab

#endif  // RMAPLAB_TESTS_CORE_KERNEL_TEST_UTIL_H_
