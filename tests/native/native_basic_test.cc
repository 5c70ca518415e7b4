// native_basic_test.cc: the native replayer against this machine's kernel:
// mmap/mprotect/munmap/mremap and the maps they leave, read/write faults
// and the pagemap they leave.  Each expected line is what Linux 6.x prints.
#include <gtest/gtest.h>

#include <cstdio>

#include "native_test_util.h"
#include "rmaplab/trace.h"

namespace rmaplab::testing {
namespace {

TEST(NativeBasic, MprotectSplitsAndMerges) {
  // 0123   4 pages at 0x100000000
  // AAAA   mmap rw
  // ABBA   mprotect r-- on pages 1-2: three VMAs
  // AAAA   mprotect rw- back: one VMA again
  NativeRun r = RunNative(
      "1 mmap 0x100000000 16K rw\n"
      "1 mprotect 0x100001000 8K r\n"
      "1 maps\n"
      "1 mprotect 0x100001000 8K rw\n"
      "1 maps\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# maps pid=1 line=3\n"
            "100000000-100001000 rw-p 00000000 00:00 0\n"
            "100001000-100003000 r--p 00000000 00:00 0\n"
            "100003000-100004000 rw-p 00000000 00:00 0\n"
            "# maps pid=1 line=5\n"
            "100000000-100004000 rw-p 00000000 00:00 0\n");
}

TEST(NativeBasic, MunmapSplitsAndMremapMoves) {
  // 0123            pages at 0x100000000; 0x110000000 is the move target
  // AAAA  munmap 1  A.AA
  //       mremap 2-3 to 0x110000000: A... and BB at the target
  NativeRun r = RunNative(
      "1 mmap 0x100000000 16K rw\n"
      "1 write 0x100002000 =0x42\n"
      "1 munmap 0x100001000 4K\n"
      "1 maps\n"
      "1 mremap 0x100002000 8K 8K 0x110000000\n"
      "1 maps\n"
      "1 pagemap 0x110000000 8K\n"
      "1 expect 0x110000000 =0x42\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# maps pid=1 line=4\n"
            "100000000-100001000 rw-p 00000000 00:00 0\n"
            "100002000-100004000 rw-p 00000000 00:00 0\n"
            "# maps pid=1 line=6\n"
            "100000000-100001000 rw-p 00000000 00:00 0\n"
            "110000000-110002000 rw-p 00000000 00:00 0\n"
            "# pagemap pid=1 line=7\n"
            "110000000 present exclusive value=0x42\n"
            "110001000 none\n");
}

TEST(NativeBasic, SharedMappingOffsetsAfterSplit) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 16K rw shared\n"
      "1 mprotect 0x100002000 4K r\n"
      "1 maps\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# maps pid=1 line=3\n"
            "100000000-100002000 rw-s 00000000 00:00 0\n"
            "100002000-100003000 r--s 00002000 00:00 0\n"
            "100003000-100004000 rw-s 00003000 00:00 0\n");
}

TEST(NativeBasic, ReadOfNeverWrittenPrivatePageMapsTheZeroPage) {
  if (!IsRoot())
    GTEST_SKIP() << "the zero-page flag needs /proc/kpageflags (root)";
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 read 0x100000000\n"
      "1 pagemap 0x100000000 8K\n"
      "1 expect 0x100000000 8K =0\n");
  ASSERT_EQ(r.status, 0) << r.err;
  // The kernel never sets PM_MMAP_EXCLUSIVE on the shared zero page.
  EXPECT_EQ(r.out,
            "# pagemap pid=1 line=3\n"
            "100000000 present shared zero value=0x0\n"
            "100001000 none\n");
}

TEST(NativeBasic, OverlappingMmapFailsWithEexist) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 mmap 0x100001000 8K rw\n"
      "1 maps\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "error line=2 op=mmap errno=EEXIST\n");
}

TEST(NativeBasic, WriteFaultKeepsEarlierPagesAndTheWorkerLives) {
  // 012   page 2 is read-only: a write over 0-2 does 0 and 1, then EFAULT
  // wwr
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 mmap 0x100002000 4K r\n"
      "1 write 0x100000000 12K =0x9\n"
      "1 pagemap 0x100000000 12K\n",
      {"--keep-going"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out,
            "error line=3 op=write errno=EFAULT\n"
            "# pagemap pid=1 line=4\n"
            "100000000 present exclusive value=0x9\n"
            "100001000 present exclusive value=0x9\n"
            "100002000 none\n");
}

TEST(NativeBasic, ErrorStopsTheReplayWithoutKeepGoing) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 4K r\n"
      "1 write 0x100000000\n"
      "1 maps\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "error line=2 op=write errno=EFAULT\n");
}

TEST(NativeBasic, ExpectMismatchIsReported) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw\n"
      "1 write 0x100000000 =0x5\n"
      "1 expect 0x100000000 =0x5\n"
      "1 expect 0x100000000 =0x6\n"
      "1 expect 0x100001000 =0x1\n"
      "1 expect 0x100001000 =0\n",
      {"--keep-going"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "error line=4 op=expect errno=EXPECT\n"
            "error line=5 op=expect errno=EXPECT\n");
}

TEST(NativeBasic, DefaultWriteValueIsTheSpecFormula) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 4K rw\n"
      "1 write 0x100000000\n"
      "1 pagemap 0x100000000 4K\n");
  ASSERT_EQ(r.status, 0) << r.err;
  char want[64];
  std::snprintf(
      want, sizeof want, "100000000 present exclusive value=0x%llx",
      static_cast<unsigned long long>(DefaultWriteValue(2, 1, 0x100000000)));
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[1], want);
}

TEST(NativeBasic, ParseErrorExitsWith2) {
  NativeRun r = RunNative("1 mmap 0x100000001 4K rw\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(":1:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rmaplab::testing
