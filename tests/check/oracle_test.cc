// oracle_test.cc: the content oracle (src/check/oracle.h) catches a model
// that reads back a wrong value, a write that reached the wrong process,
// and a page the model maps that the oracle does not; over every design.
#include "check/oracle.h"

#include <gtest/gtest.h>

#include "core/kernel_test_util.h"

namespace rmaplab {
namespace {

constexpr int kRW = kProtRead | kProtWrite;

class OracleTest : public KernelTest {
 protected:
  // pid 1 writes 0x11 and 0x22 into two pages, then forks pid 2; the
  // oracle is told the same.
  void SetUp() override {
    ASSERT_EQ(k_.Mmap(mm(), P(0), 2 * kPageSize, kRW, false), Errno::kOk);
    oracle_.Mmap(1, P(0), 2 * kPageSize, false);
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(k_.WritePage(mm(), P(i), 0x11 * (i + 1)), Errno::kOk);
      oracle_.Write(1, P(i), 0x11 * (i + 1));
    }
    ASSERT_EQ(k_.Fork(mm(), 2), Errno::kOk);
    oracle_.Fork(1, 2);
    Status s = oracle_.Check(k_);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  ContentOracle oracle_{true};
};

TEST_P(OracleTest, CatchesAWrongValue) {
  Page& page = KernelTestPeer::Frame(k_, PfnAt(1, 1));
  page.content = 0x99;  // both processes now read 0x99 at page 1
  Status s = oracle_.Check(k_);
  EXPECT_NE(s.message().find("reads 0x99, expected 0x22"), std::string::npos)
      << s.message();
  page.content = 0x22;
  EXPECT_TRUE(oracle_.Check(k_).ok());
}

TEST_P(OracleTest, CatchesAWriteThatReachedTheWrongProcess) {
  ASSERT_EQ(k_.WritePage(mm(1), P(0), 0x33), Errno::kOk);
  oracle_.Write(2, P(0), 0x33);  // what should have happened
  Status s = oracle_.Check(k_);
  EXPECT_NE(s.message().find("content oracle: pid "), std::string::npos)
      << s.message();
}

TEST_P(OracleTest, CatchesAnUnexpectedMapping) {
  ASSERT_EQ(k_.Mmap(mm(2), P(8), kPageSize, kRW, false), Errno::kOk);
  Status s = oracle_.Check(k_);
  EXPECT_NE(s.message().find("pid 2 maps 3 pages, expected 2"),
            std::string::npos)
      << s.message();
}

RMAPLAB_INSTANTIATE_FOR_ALL_DESIGNS(OracleTest);

}  // namespace
}  // namespace rmaplab
