// native_process_test.cc: fork, exit and COW on the real kernel: which
// process gets a new page, and when pagemap's exclusive bit appears.
#include <gtest/gtest.h>

#include "native_test_util.h"

namespace rmaplab::testing {
namespace {

TEST(NativeProcess, CowAfterForkGivesTheWriterANewPage) {
  // After fork both PTEs map one page (shared).  The parent writes: it gets
  // a copy; the child still maps the old page, now with mapcount 1, so it is
  // exclusive again without having written.
  NativeRun r = RunNative(
      "1 mmap 0x100000000 4K rw\n"
      "1 write 0x100000000 =0x11\n"
      "1 fork 2\n"
      "2 pagemap 0x100000000 4K\n"
      "1 write 0x100000000 =0x22\n"
      "1 pagemap 0x100000000 4K\n"
      "2 pagemap 0x100000000 4K\n"
      "2 expect 0x100000000 =0x11\n"
      "* stats\n");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_GE(r.lines.size(), 6u);
  EXPECT_EQ(r.lines[0], "# pagemap pid=2 line=4");
  EXPECT_EQ(r.lines[1], "100000000 present shared value=0x11");
  EXPECT_EQ(r.lines[3], "100000000 present exclusive value=0x22");
  EXPECT_EQ(r.lines[5], "100000000 present exclusive value=0x11");
  // Faults: the first write, then the parent's COW write.
  EXPECT_NE(r.out.find("\npage_faults 2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nprocesses 2\n"), std::string::npos) << r.out;
}

TEST(NativeProcess, SharedMappingIsNotCopiedAtFork) {
  if (!IsRoot()) GTEST_SKIP() << "reading a shmem object needs root";
  // fork copies no PTEs of a shared mapping: the child faults them in
  // later; expect still sees the content through the shmem object.
  NativeRun r = RunNative(
      "1 mmap 0x100000000 8K rw shared\n"
      "1 write 0x100000000 =0x5\n"
      "1 fork 2\n"
      "2 pagemap 0x100000000 8K\n"
      "2 expect 0x100000000 =0x5\n"
      "2 expect 0x100001000 =0\n"
      "2 read 0x100000000\n"
      "2 pagemap 0x100000000 4K\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# pagemap pid=2 line=4\n"
            "100000000 none\n"
            "100001000 none\n"
            "# pagemap pid=2 line=8\n"
            "100000000 present shared value=0x5\n");
}

TEST(NativeProcess, ExitAndUnknownPids) {
  NativeRun r = RunNative(
      "1 mmap 0x100000000 4K rw\n"
      "1 fork 2\n"
      "1 fork 2\n"
      "2 exit\n"
      "2 read 0x100000000\n"
      "7 maps\n"
      "1 fork 3\n"
      "3 maps\n"
      "* stats\n",
      {"--keep-going"});
  EXPECT_EQ(r.status, 1) << r.err;
  ASSERT_GE(r.lines.size(), 5u);
  EXPECT_EQ(r.lines[0], "error line=3 op=fork errno=EEXIST");
  EXPECT_EQ(r.lines[1], "error line=5 op=read errno=ESRCH");
  EXPECT_EQ(r.lines[2], "error line=6 op=maps errno=ESRCH");
  EXPECT_EQ(r.lines[3], "# maps pid=3 line=8");
  EXPECT_EQ(r.lines[4], "100000000-100001000 rw-p 00000000 00:00 0");
  EXPECT_NE(r.out.find("\nprocesses 2\n"), std::string::npos) << r.out;
}

TEST(NativeProcess, AWorkerThatDiesIsReportedNotWaitedFor) {
  // Unmapping the worker's own code (outside the window native traces keep
  // to) kills it; the controller must say so and stop with status 2.
  NativeRun r = RunNative(
      "1 munmap 0x10000 0x7fffffe00000\n"
      "1 maps\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("died unexpectedly"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rmaplab::testing
