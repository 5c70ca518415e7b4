// native_basic_test.cc: the native replayer against this machine's kernel:
// mmap/mprotect/munmap/mremap and the maps they leave, read/write faults
// and the pagemap they leave.  Each expected line is what Linux 6.x prints.
#include <gtest/gtest.h>

#include "native_test_util.h"

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

}  // namespace
}  // namespace rmaplab::testing
