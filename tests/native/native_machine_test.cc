// native_machine_test.cc: the ops that need machine features: io_uring pins,
// zram swap, KSM; and that the machine is given back as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "native_test_util.h"

namespace rmaplab::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string KsmSettings() {
  std::string s;
  for (const char* f :
       {"run", "pages_to_scan", "sleep_millisecs", "smart_scan"}) {
    s += ReadFile(std::string("/sys/kernel/mm/ksm/") + f);
  }
  return s;
}

TEST(NativeMachine, PinDmaWriteGoesThroughThePin) {
  // After fork the pinned page stays with the parent (fork copies pinned
  // pages for the child), so a DMA write after fork is seen by the parent
  // only.
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 write 0x100000000 8K =0x7\n"
      "1 pin 0x100000000 8K\n"
      "1 fork 2\n"
      "1 dmawrite 0x100000000 8K =0x99\n"
      "1 expect 0x100000000 8K =0x99\n"
      "2 expect 0x100000000 8K =0x7\n"
      "2 pagemap 0x100000000 4K\n"
      "1 unpin 0x100000000 8K\n"
      "1 dmawrite 0x100000000 4K =0x1\n",
      {"--keep-going"});
  if (r.err.find("not supported natively") != std::string::npos) {
    GTEST_SKIP() << r.err;
  }
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out,
            "# pagemap pid=2 line=8\n"
            "100000000 present exclusive value=0x7\n"
            "error line=10 op=dmawrite errno=EINVAL\n");
}

TEST(NativeMachine, PinOfReadOnlyMappingFails) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 4K r\n"
      "1 pin 0x100000000 4K\n");
  if (r.err.find("not supported natively") != std::string::npos) {
    GTEST_SKIP() << r.err;
  }
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "error line=2 op=pin errno=EFAULT\n");
}

TEST(NativeMachine, PageoutSwapsAnExclusivePageAndSwapoffBringsItBack) {
  if (!IsRoot()) GTEST_SKIP() << "setting up zram swap needs root";
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 write 0x100000000 8K =0x77\n"
      "1 madvise 0x100000000 4K pageout\n"
      "1 pagemap 0x100000000 8K\n"
      "1 expect 0x100000000 =0x77\n"
      "* stats\n"
      "* swapoff\n"
      "1 pagemap 0x100000000 4K\n");
  if (r.status == 2 && r.err.find("needs swap") != std::string::npos) {
    GTEST_SKIP() << "no swap: " << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_GE(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[1], "100000000 swapped");
  EXPECT_EQ(r.lines[2], "100001000 present exclusive value=0x77");
  EXPECT_NE(r.out.find("\npages_swapped 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\npages_resident 1\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.lines.back(), "100000000 present exclusive value=0x77");
  // The zram swap is gone again.
  EXPECT_EQ(ReadFile("/proc/swaps").find("zram"), std::string::npos);
}

TEST(NativeMachine, KsmMergesIdenticalPagesAndRestoresSettings) {
  if (!IsRoot()) GTEST_SKIP() << "driving ksmd needs root";
  if (ReadFile("/sys/kernel/mm/ksm/run").empty()) GTEST_SKIP() << "no KSM";
  std::string before = KsmSettings();
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 write 0x100000000 8K =0x5151\n"
      "1 madvise 0x100000000 8K mergeable\n"
      "* ksm full\n"
      "1 pagemap 0x100000000 8K\n"
      "1 write 0x100001000 =0x2\n"
      "1 pagemap 0x100000000 8K\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# pagemap pid=1 line=5\n"
            "100000000 present shared ksm value=0x5151\n"
            "100001000 present shared ksm value=0x5151\n"
            "# pagemap pid=1 line=7\n"
            // Still the KSM page, but now mapped by one PTE only.
            "100000000 present exclusive ksm value=0x5151\n"
            "100001000 present exclusive value=0x2\n");
  EXPECT_EQ(KsmSettings(), before);
}

std::string ThpSettings() {
  const std::string dir = "/sys/kernel/mm/transparent_hugepage/";
  std::string s = ReadFile(dir + "enabled") + ReadFile(dir + "use_zero_page");
  for (const char* f :
       {"max_ptes_none", "max_ptes_swap", "max_ptes_shared", "pages_to_scan",
        "alloc_sleep_millisecs", "scan_sleep_millisecs"})
    s += ReadFile(dir + "khugepaged/" + f);
  for (int kb = 16; kb <= 2048; kb *= 2)
    s += ReadFile(dir + "hugepages-" + std::to_string(kb) + "kB/enabled");
  return s;
}

// The settings while no native run holds the machine lock (ctest runs
// native tests of other processes in parallel, each with its own policy).
std::string ThpSettingsAtRest() {
  int fd =
      open("/run/lock/rmaplab-native.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd >= 0) flock(fd, LOCK_EX);
  std::string s = ThpSettings();
  if (fd >= 0) close(fd);  // releases the lock
  return s;
}

// `* thp` writes hugepages-<SIZE>kB/enabled; pagemap's `thp` comes from
// KPF_THP; the policy is given back after the run.
TEST(NativeMachine, ThpPolicyAppliesDuringTheRunAndIsRestored) {
  if (!IsRoot()) GTEST_SKIP() << "the THP policy needs root";
  if (ReadFile("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled")
          .empty())
    GTEST_SKIP() << "no 64K mTHP on this kernel";
  std::string before = ThpSettingsAtRest();
  NativeRun r = RunNative(
      "* thp 64K always\n"
      "1 mmap 0x100000000 128K rw\n"
      "1 write 0x100000000 =0x3\n"
      "1 pagemap 0x100000000 8K\n"
      "* thp 64K never\n"
      "1 write 0x100010000 =0x4\n"
      "1 pagemap 0x100010000 8K\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# pagemap pid=1 line=4\n"
            "100000000 present exclusive thp value=0x3\n"
            "100001000 present exclusive thp value=0x0\n"
            "# pagemap pid=1 line=7\n"
            "100010000 present exclusive value=0x4\n"
            "100011000 none\n");
  EXPECT_EQ(ThpSettingsAtRest(), before);
}

TEST(NativeMachine, MigrateToAMissingNodeSaysSo) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 4K rw\n"
      "1 migrate 0x100000000 4K 63\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("node 63 is not online"), std::string::npos) << r.err;
}

TEST(NativeMachine, TimeFlagPrintsPerOpTimes) {
  NativeRun r =
      RunNative("1 mmap 0x100000000 4K rw\n1 write 0x100000000\n", {"--time"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("\nmmap 1 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\nwrite 1 "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rmaplab::testing
