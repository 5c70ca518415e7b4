// record_translate_test.cc: the recorder's translation of kernel events into
// trace ops, on synthetic event streams (no kernel needed): relocation by
// class, MAP_FIXED replacement, faults by kind and protection, private file
// mappings that get written, fork/vfork/exec/exit bookkeeping, and that
// what it writes replays cleanly under --check.
#include "native/record_translate.h"

#include <gtest/gtest.h>

#include <sstream>

#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab::record {
namespace {

constexpr uint64_t kMapPrivate = 0x2, kMapShared = 0x1, kMapAnon = 0x20,
                   kMapFixed = 0x10;
constexpr int kRw = kProtRead | kProtWrite;

class Events {
 public:
  Events& Mmap(int tid, uint64_t addr, uint64_t len, int prot, uint64_t flags,
               int64_t fd = -1) {
    Syscall(tid, Sys::kMmap,
            {addr, len, uint64_t(prot), flags, uint64_t(fd), 0},
            static_cast<int64_t>(addr));
    return *this;
  }
  Events& Syscall(int tid, Sys sys, std::vector<uint64_t> args, int64_t ret) {
    RawEvent in = Base(tid, EventKind::kSysEnter);
    in.sys = sys;
    for (size_t i = 0; i < args.size(); ++i) in.a[i] = args[i];
    ev_.push_back(in);
    RawEvent out = Base(tid, EventKind::kSysExit);
    out.sys = sys;
    out.ret = ret;
    ev_.push_back(out);
    return *this;
  }
  Events& Fault(int tid, uint64_t addr, bool write) {
    RawEvent e = Base(tid, EventKind::kFaultUser);
    e.a[0] = addr;
    e.a[1] = write ? 2 : 0;
    ev_.push_back(e);
    return *this;
  }
  Events& NewTask(int parent, int child, uint64_t flags) {
    RawEvent e = Base(parent, EventKind::kNewTask);
    e.a[0] = child;
    e.a[1] = flags;
    ev_.push_back(e);
    return *this;
  }
  Events& Exec(int tid) {
    RawEvent e = Base(tid, EventKind::kExec);
    e.a[0] = e.a[1] = tid;
    ev_.push_back(e);
    return *this;
  }
  Events& Exit(int tid) {
    RawEvent e = Base(tid, EventKind::kTaskExit);
    e.a[0] = tid;
    ev_.push_back(e);
    return *this;
  }
  std::string Body() {
    Result<Translation> t = Translate(ev_, {}, TranslateOptions{});
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? t.value().body : "";
  }

 private:
  RawEvent Base(int tid, EventKind kind) {
    RawEvent e;
    e.kind = kind;
    e.tid = e.pid = tid;
    e.time = ++time_;
    return e;
  }
  std::vector<RawEvent> ev_;
  uint64_t time_ = 0;
};

// Replays `body` under every design with --check: every op succeeds.
void ExpectReplaysClean(const std::string& body) {
  Result<Trace> trace = ParseTrace(body, "recorded");
  ASSERT_TRUE(trace.ok()) << trace.status().message() << "\n" << body;
  for (const std::string& design : DesignNames()) {
    SimOptions so;
    so.design = design;
    so.check = true;
    auto sim = Simulator::Create(so);
    ASSERT_TRUE(sim.ok());
    std::ostringstream out;
    ReplayResult r = Replay(trace.value(), *sim.value(), out);
    EXPECT_TRUE(r.ok()) << design << "\n"
                        << body << out.str() << r.check.message();
  }
}

TEST(RecordTranslate, RelocatesByClassAndKeepsAdjacency) {
  // Two classes (0x55.. and 0x7f..), not adjacent: a gap of one class.
  std::string body =
      Events()
          .Exec(100)
          .Mmap(100, 0x55aa00000000, 0x2000, kRw, kMapPrivate | kMapAnon)
          .Mmap(100, 0x7f0000200000, 0x1000, kRw, kMapPrivate | kMapAnon)
          .Mmap(100, 0x7f0000201000, 0x1000, kProtRead, kMapPrivate | kMapAnon)
          .Fault(100, 0x55aa00001234, true)
          .Fault(100, 0x7f0000201000, false)
          .Body();
  EXPECT_EQ(body,
            "1 mmap 0x1aa00000000 0x2000 rw-\n"
            "1 mmap 0x30000200000 0x1000 rw-\n"
            "1 mmap 0x30000201000 0x1000 r--\n"
            "1 write 0x1aa00001000\n"
            "1 read 0x30000201000\n");
  ExpectReplaysClean(body);
}

TEST(RecordTranslate, MapFixedUnmapsFirstAndRefusedFaultsAreLeftOut) {
  std::string body =
      Events()
          .Mmap(7, 0x7f0000000000, 0x4000, kRw, kMapPrivate | kMapAnon)
          .Fault(7, 0x7f0000001000, true)
          .Mmap(7, 0x7f0000001000, 0x1000, kProtRead,
                kMapPrivate | kMapAnon | kMapFixed)
          .Fault(7, 0x7f0000001000, true)   // SIGSEGV: left out
          .Fault(7, 0x7f0000100000, false)  // no mapping: left out
          .Body();
  EXPECT_EQ(body,
            "1 mmap 0x10000000000 0x4000 rw-\n"
            "1 write 0x10000001000\n"
            "1 munmap 0x10000001000 0x1000\n"
            "1 mmap 0x10000001000 0x1000 r--\n");
  ExpectReplaysClean(body);
}

TEST(RecordTranslate, PrivateFileMappingIsAnonymousOnlyIfWritten) {
  std::string body =
      Events()
          .Mmap(5, 0x7f0000000000, 0x2000, kRw, kMapPrivate, 3)  // .data
          .Mmap(5, 0x7f0000010000, 0x2000, kProtRead, kMapPrivate, 3)
          .Mmap(5, 0x7f0000020000, 0x2000, kRw, kMapShared, 3)
          .Fault(5, 0x7f0000000000, false)
          .Fault(5, 0x7f0000001000, true)
          .Fault(5, 0x7f0000010000, false)
          .Fault(5, 0x7f0000020000, true)
          .Body();
  EXPECT_NE(
      body.find(
          "# private file mapping of (file unknown) at offset 0x0, written"),
      std::string::npos)
      << body;
  EXPECT_NE(body.find("1 mmap 0x10000000000 0x2000 rw-\n1 read 0x10000000000\n"
                      "1 write 0x10000001000\n"),
            std::string::npos)
      << body;
  EXPECT_EQ(body.find("0x10000010000"), std::string::npos)
      << "read-only file: not shown";
  EXPECT_EQ(body.find("0x10000020000"), std::string::npos)
      << "shared file: not shown";
  ExpectReplaysClean(body);
}

TEST(RecordTranslate, ForkThreadVforkExecExit) {
  constexpr uint64_t kCloneVm = 0x100, kCloneVfork = 0x4000,
                     kCloneThread = 0x10000;
  std::string body =
      Events()
          .Mmap(10, 0x7f0000000000, 0x2000, kRw, kMapPrivate | kMapAnon)
          .Fault(10, 0x7f0000000000, true)
          .NewTask(10, 11, kCloneVm | kCloneThread)  // a thread: same pid
          .Fault(11, 0x7f0000001000, true)
          .NewTask(10, 12, 0)  // fork: pid 2
          .Fault(12, 0x7f0000000000, true)
          .NewTask(12, 13, kCloneVm | kCloneVfork)  // vfork child of 2
          .Exec(13)                                 // becomes pid 3
          .Mmap(13, 0x7f0000000000, 0x1000, kRw, kMapPrivate | kMapAnon)
          .Exit(13)
          .Exit(12)
          .Exit(11)  // the thread: its process lives on
          .Fault(10, 0x7f0000001000, false)
          .Exit(10)
          .Body();
  EXPECT_EQ(body,
            "1 mmap 0x10000000000 0x2000 rw-\n"
            "1 write 0x10000000000\n"
            "1 write 0x10000001000\n"
            "1 fork 2\n"
            "2 write 0x10000000000\n"
            "2 fork 3\n"
            "3 exec\n"
            "3 mmap 0x10000000000 0x1000 rw-\n"
            "3 exit\n"
            "2 exit\n"
            "1 read 0x10000001000\n"
            "1 exit\n");
  ExpectReplaysClean(body);
}

TEST(RecordTranslate, BrkMremapAndAdvice) {
  std::string body =
      Events()
          .Syscall(1, Sys::kBrk, {0}, 0x555500001000)  // the heap starts here
          .Syscall(1, Sys::kBrk, {0x555500023000}, 0x555500023000)
          .Fault(1, 0x555500002000, true)
          .Syscall(1, Sys::kBrk, {0x555500011000}, 0x555500011000)  // shrinks
          .Mmap(1, 0x7f0000000000, 0x4000, kRw, kMapPrivate | kMapAnon)
          .Syscall(1, Sys::kMremap, {0x7f0000000000, 0x4000, 0x8000, 1, 0},
                   0x7f0000100000)
          .Syscall(1, Sys::kMadvise, {0x7f0000100000, 0x2000, 4},
                   0)  // dontneed
          .Syscall(1, Sys::kMadvise, {0x7f0000100000, 0x2000, 8},
                   0)  // free: left out
          .Syscall(1, Sys::kMadvise, {0x7f0000100000, 0x2000, 14},
                   0)  // hugepage: left out
          .Body();
  EXPECT_EQ(body,
            "1 mmap 0x15500001000 0x22000 rw-\n"
            "1 write 0x15500002000\n"
            "1 munmap 0x15500011000 0x12000\n"
            "1 mmap 0x30000000000 0x4000 rw-\n"
            "1 mremap 0x30000000000 0x4000 0x8000 0x30000100000\n"
            "1 madvise 0x30000100000 0x2000 dontneed\n");
  ExpectReplaysClean(body);
}

}  // namespace
}  // namespace rmaplab::record
