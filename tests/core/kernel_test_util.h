// kernel_test_util.h: a Kernel with one design, and helpers that draw and
// check an address space the way tools/testing/vma does.
#ifndef RMAPLAB_TESTS_CORE_KERNEL_TEST_UTIL_H_
#define RMAPLAB_TESTS_CORE_KERNEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "check/invariants.h"
#include "core/kernel.h"

namespace rmaplab {

// Reaches into the Kernel to break it on purpose (checker tests).
class KernelTestPeer {
 public:
  static Page& Frame(Kernel& k, Pfn pfn) { return k.Frame(pfn); }
};

class KernelTest : public testing::TestWithParam<std::string> {
 protected:
  static constexpr uint64_t kBase = 0x100000000;
  // Address of page n from kBase.
  static uint64_t P(int64_t n) { return kBase + n * kPageSize; }

  explicit KernelTest(std::string design = "anon_vma_chain")
      : k_(CreateDesign(design), SimOptions{}) {}

  Mm& mm(uint32_t pid = 1) { return *k_.FindMm(pid); }

  // (start page, end page, pgoff relative to kBase >> 12) per vma.
  using VmaLayout = std::vector<std::tuple<int64_t, int64_t, int64_t>>;
  VmaLayout LayoutOf(uint32_t pid = 1) {
    VmaLayout out;
    for (const auto& [s, v] : mm(pid).vmas)
      out.emplace_back((v->start - kBase) / kPageSize, (v->end - kBase) / kPageSize,
                       static_cast<int64_t>(v->pgoff) - static_cast<int64_t>(kBase >> 12));
    return out;
  }
  Pfn PfnAt(uint32_t pid, int64_t page) { return mm(pid).pt.Get(P(page)).pfn(); }

  void TearDown() override {
    Status s = CheckInvariants(k_);
    EXPECT_TRUE(s.ok()) << s.message();
  }

  Kernel k_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_TESTS_CORE_KERNEL_TEST_UTIL_H_
