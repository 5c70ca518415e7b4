// design_kernel_test_util.h: a Kernel of the design a test is
// parameterised with, built by the test itself with its own SimOptions
// (KSM settings, ...), and checked whole (CheckInvariants) after it.
#ifndef RMAPLAB_TESTS_CORE_DESIGN_KERNEL_TEST_UTIL_H_
#define RMAPLAB_TESTS_CORE_DESIGN_KERNEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "check/invariants.h"
#include "core/kernel.h"
#include "core/kernel_test_util.h"  // DesignTestName

namespace rmaplab {

class DesignKernelTest : public testing::TestWithParam<std::string> {
 protected:
  static constexpr uint64_t kBase = 0x100000000;
  // Address of page n from kBase.
  static uint64_t P(int64_t n) { return kBase + n * kPageSize; }

  // A new Kernel of GetParam()'s design with `opts`' other settings.
  void Boot(SimOptions opts) {
    opts.design = GetParam();
    k_ = std::make_unique<Kernel>(CreateDesign(opts.design), opts);
  }
  Mm& mm(uint32_t pid = 1) { return *k_->FindMm(pid); }
  Pfn PfnAt(uint32_t pid, int64_t page) {
    return mm(pid).pt.Get(P(page)).pfn();
  }

  void TearDown() override {
    if (!k_) return;
    Status s = CheckInvariants(*k_);
    EXPECT_TRUE(s.ok()) << s.message();
  }

  std::unique_ptr<Kernel> k_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_TESTS_CORE_DESIGN_KERNEL_TEST_UTIL_H_
