// worker.cc: the worker's request loop and its op implementations
// (see worker.h).  Accesses run under a SIGSEGV/SIGBUS handler that
// siglongjmps back to the access loop, so the pages before a bad one stay
// done and the op fails with EFAULT.
#include "native/worker.h"

#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "native/channel.h"
#include "native/pin.h"
#include "native/proc.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

namespace rmaplab::native {
namespace {

sigjmp_buf g_fault_jmp;
volatile sig_atomic_t g_in_access = 0;

void OnFault(int sig) {
  if (g_in_access) siglongjmp(g_fault_jmp, sig);
  // A fault outside a trace access is a bug: die of it (the controller
  // reports the worker's death).
  signal(sig, SIG_DFL);
  kill(getpid(), sig);
}

void InstallFaultHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnFault;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
}

// Touches every page of [addr, addr+len) in order: one volatile byte load,
// or an 8-byte store of WriteValue(op, page).  EFAULT at the first page the
// kernel answers with SIGSEGV or SIGBUS.
int AccessPages(const Op& op, bool write) {
  if (sigsetjmp(g_fault_jmp, 1) != 0) {
    g_in_access = 0;
    return EFAULT;
  }
  g_in_access = 1;
  for (uint64_t page = op.addr; page < op.addr + op.len; page += kPageSize) {
    if (write) {
      *reinterpret_cast<volatile uint64_t*>(page) = WriteValue(op, page);
    } else {
      (void)*reinterpret_cast<volatile uint8_t*>(page);
    }
  }
  g_in_access = 0;
  return 0;
}

int DoMmap(const Op& op) {
  int flags = MAP_FIXED_NOREPLACE | MAP_ANONYMOUS |
              (op.shared ? MAP_SHARED : MAP_PRIVATE);
  void* want = reinterpret_cast<void*>(op.addr);
  void* got = mmap(want, op.len, op.prot, flags, -1, 0);
  if (got == MAP_FAILED) return errno;
  if (got != want) {  // pre-4.17 kernels ignore MAP_FIXED_NOREPLACE
    munmap(got, op.len);
    return EEXIST;
  }
  return 0;
}

int DoMremap(const Op& op) {
  void* old = reinterpret_cast<void*>(op.addr);
  void* r = op.has_new_addr
                ? mremap(old, op.len, op.new_len, MREMAP_MAYMOVE | MREMAP_FIXED,
                         reinterpret_cast<void*>(op.new_addr))
                : mremap(old, op.len, op.new_len, 0);
  return r == MAP_FAILED ? errno : 0;
}

int LinuxAdvice(Advice a) {
  switch (a) {
    case Advice::kDontneed:
      return MADV_DONTNEED;
    case Advice::kMergeable:
      return MADV_MERGEABLE;
    case Advice::kUnmergeable:
      return MADV_UNMERGEABLE;
    case Advice::kPageout:
      return MADV_PAGEOUT;
    case Advice::kCold:
      return MADV_COLD;
    case Advice::kDontfork:
      return MADV_DONTFORK;
    case Advice::kDofork:
      return MADV_DOFORK;
    case Advice::kWipeonfork:
      return MADV_WIPEONFORK;
    case Advice::kKeeponfork:
      return MADV_KEEPONFORK;
    case Advice::kHugepage:
      return MADV_HUGEPAGE;
    case Advice::kNohugepage:
      return MADV_NOHUGEPAGE;
    case Advice::kCollapse:
      return MADV_COLLAPSE;
  }
  return -1;
}

// move_pages(2) on this process, as the trace format (version 2) states
// it: MPOL_MF_MOVE_ALL (root) so that pages other processes map move too,
// as the model moves them with every mapping; a page never touched
// (-ENOENT), the zero page or an address outside every vma (-EFAULT) are
// skipped; pages that could not move (a positive return: how many) fail
// the op with EBUSY; any other per-page status is that errno.
int DoMigrate(const Op& op) {
  size_t n = op.len / kPageSize;
  std::vector<void*> pages;
  std::vector<int> nodes, status;
  for (size_t i = 0; i < n; ++i) {
    pages.push_back(reinterpret_cast<void*>(op.addr + i * kPageSize));
    nodes.push_back(op.node);
    status.push_back(0);
  }
  constexpr int kMpolMfMoveAll = 1 << 2;
  long r = syscall(SYS_move_pages, 0, n, pages.data(), nodes.data(),
                   status.data(), kMpolMfMoveAll);
  if (r < 0) return errno;
  if (r > 0) return EBUSY;
  for (int s : status) {
    if (s < 0 && s != -ENOENT && s != -EFAULT) return -s;
  }
  return 0;
}

void SetMessage(Reply* reply, const std::string& msg) {
  std::snprintf(reply->message, sizeof reply->message, "%s", msg.c_str());
}

void RunPinOp(const Op& op, PinTable* pins, Reply* reply) {
  PinResult r;
  if (op.kind == OpKind::kPin) {
    r = pins->Pin(op.addr, op.len);
  } else if (op.kind == OpKind::kDmaWrite) {
    r = pins->DmaWrite(op);
  } else {
    r = pins->Unpin(op.addr, op.len);
  }
  reply->error = r.error;
  if (!r.unsupported.empty()) SetMessage(reply, r.unsupported);
}

void RunOp(const Op& op, PinTable* pins, Reply* reply) {
  switch (op.kind) {
    case OpKind::kMmap:
      reply->error = DoMmap(op);
      return;
    case OpKind::kMunmap:
      reply->error =
          munmap(reinterpret_cast<void*>(op.addr), op.len) ? errno : 0;
      return;
    case OpKind::kMprotect:
      reply->error = mprotect(reinterpret_cast<void*>(op.addr), op.len, op.prot)
                         ? errno
                         : 0;
      return;
    case OpKind::kMremap:
      reply->error = DoMremap(op);
      return;
    case OpKind::kMadvise:
      reply->error = madvise(reinterpret_cast<void*>(op.addr), op.len,
                             LinuxAdvice(op.advice))
                         ? errno
                         : 0;
      return;
    case OpKind::kRead:
      reply->error = AccessPages(op, false);
      return;
    case OpKind::kWrite:
      reply->error = AccessPages(op, true);
      return;
    case OpKind::kMigrate:
      reply->error = DoMigrate(op);
      return;
    case OpKind::kPin:
    case OpKind::kDmaWrite:
    case OpKind::kUnpin:
      RunPinOp(op, pins, reply);
      return;
    default:
      SetMessage(reply,
                 "op " + std::string(OpName(op.kind)) + " is not a worker op");
      return;
  }
}

uint64_t FaultCount() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_minflt + ru.ru_majflt);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The window a trace meant for a real kernel keeps to; the worker's own
// code, data, heap and stack are never inside it.
constexpr uint64_t kTraceWindowStart = 0x100000000;
constexpr uint64_t kTraceWindowEnd = 0x200000000000;

// Maps every page of the worker's own memory (everything outside the trace
// window), breaking COW on its private writable pages, so that the faults
// counted during an op are the trace's.  Needed at start and on both sides
// of a fork: fork copies no PTEs of file mappings, and write-protects the
// private ones.  Errors (vvar, guard pages) are ignored.
[[gnu::noinline]] void GrowStack() {
  volatile char pad[64 * 1024];
  for (size_t i = 0; i < sizeof pad; i += kPageSize) pad[i] = 0;
}

void PrefaultOwnMemory() {
  GrowStack();  // so that the stack vma covers what ops will use
  // The vvar page (VM_PFNMAP) cannot be populated: fault it in by use.
  (void)NowNs();
  (void)FaultCount();
  Result<std::vector<ProcVma>> vmas = ReadProcMaps(getpid());
  if (!vmas.ok()) return;
  for (const ProcVma& v : vmas.value()) {
    if (v.end > kTraceWindowStart && v.start < kTraceWindowEnd) continue;
    if (v.prot == 0) continue;
    bool cow = (v.prot & kProtWrite) && !v.shared;
    madvise(reinterpret_cast<void*>(v.start), v.end - v.start,
            cow ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
  }
}

// The child half of fork: adopt the new socket, drop the parent's.
void BecomeChild(int* sock, int child_sock, PinTable* pins) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  close(*sock);
  *sock = child_sock;
  pins->DropAfterFork();
  PrefaultOwnMemory();
  SendReply(*sock, Reply{});  // "ready"
}

// Forks with CLONE_PARENT so the controller is the child's parent.
void DoFork(int* sock, int child_sock, PinTable* pins, Reply* reply) {
  int64_t t0 = NowNs();
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    BecomeChild(sock, child_sock, pins);
    return;
  }
  reply->elapsed_ns = NowNs() - t0;
  if (pid < 0) reply->error = errno;
  PrefaultOwnMemory();
  reply->child_pid = static_cast<int>(pid);
  close(child_sock);
  SendReply(*sock, *reply);
}

// execve(2) of our own binary: the old mm goes, a new one comes; the
// socket survives on fd 3 (no FD_CLOEXEC) and the new image answers
// "ready" from RunWorker.  Returns only if execve failed.
void DoExec(int sock, Reply* reply) {
  int64_t t0 = NowNs();
  fcntl(sock, F_SETFD, 0);
  setenv(kWorkerFdEnv, std::to_string(sock).c_str(), 1);
  char arg0[] = "rmaplab-native-worker";
  char* argv[] = {arg0, nullptr};
  execve("/proc/self/exe", argv, environ);
  reply->error = errno;
  reply->elapsed_ns = NowNs() - t0;
  unsetenv(kWorkerFdEnv);
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  SendReply(sock, *reply);
}

// Before main() of a re-executed worker: become the worker again.
[[gnu::constructor]] void ResumeWorkerAfterExec() {
  const char* fd = getenv(kWorkerFdEnv);
  if (fd == nullptr) return;
  int sock = atoi(fd);
  unsetenv(kWorkerFdEnv);
  RunWorker(sock);
}

}  // namespace

void RunWorker(int sock) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (sock != 3) {
    dup2(sock, 3);
    sock = 3;
  }
  syscall(SYS_close_range, 4, ~0U, 0);
  InstallFaultHandlers();
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);
  PinTable pins;
  PrefaultOwnMemory();
  SendReply(sock, Reply{});  // "ready"
  for (;;) {
    Request req;
    int passed_fd = -1;
    if (!ReceiveRequest(sock, &req, &passed_fd)) _exit(3);
    if (req.cmd == Command::kExit) _exit(0);
    Reply reply;
    if (req.cmd == Command::kFork) {
      DoFork(&sock, passed_fd, &pins, &reply);
      continue;
    }
    if (req.cmd == Command::kExec) {
      DoExec(sock, &reply);
      continue;
    }
    uint64_t faults0 = FaultCount();
    int64_t t0 = NowNs();
    RunOp(req.op, &pins, &reply);
    reply.elapsed_ns = NowNs() - t0;
    reply.faults = FaultCount() - faults0;
    if (!SendReply(sock, reply)) _exit(3);
  }
}

}  // namespace rmaplab::native
