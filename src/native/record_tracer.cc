// record_tracer.cc: the ptrace side of `rmaplab record` (see
// record_tracer.h).
#include "native/record_tracer.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "rmaplab/trace.h"

namespace rmaplab::record {
namespace {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Present pages of [start, end) that are anonymous (pagemap bit 63 set,
// bit 61 "file page or shared anonymous" clear).
std::vector<uint64_t> AnonPages(int pagemap_fd, uint64_t start, uint64_t end) {
  std::vector<uint64_t> out;
  std::vector<uint64_t> raw((end - start) / kPageSize);
  ssize_t want = static_cast<ssize_t>(raw.size() * 8);
  if (pread(pagemap_fd, raw.data(), want, (start / kPageSize) * 8) != want)
    return out;
  for (size_t i = 0; i < raw.size(); ++i)
    if ((raw[i] >> 63) & 1 && !((raw[i] >> 61) & 1))
      out.push_back(start + i * kPageSize);
  return out;
}

uint64_t StartBrk(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)),
                std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');  // comm may hold spaces
  if (p == std::string::npos) return 0;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  for (int i = 3; i <= 47 && in >> field; ++i)
    if (i == 47) return std::stoull(field);
  return 0;
}

int64_t AnonKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string key;
  int64_t kb;
  std::string line;
  while (std::getline(f, line))
    if (std::sscanf(line.c_str(), "Anonymous: %ld kB", &kb) == 1) return kb;
  (void)key;
  return -1;
}

Snapshot TakeSnapshot(pid_t tid, bool at_exec) {
  Snapshot s;
  s.at_exec = at_exec;
  s.tid = tid;
  s.time = NowNs();
  Result<std::vector<SnapVma>> vmas = ReadMapsWithPaths(tid);
  if (vmas.ok()) s.vmas = std::move(vmas.value());
  if (at_exec) {
    s.start_brk = StartBrk(tid);
    int fd =
        open(("/proc/" + std::to_string(tid) + "/pagemap").c_str(), O_RDONLY);
    if (fd >= 0) {
      for (SnapVma& v : s.vmas)
        if (v.path != "[vsyscall]")
          v.anon_pages = AnonPages(fd, v.start, v.end);
      close(fd);
    }
  } else {
    s.anon_kb = AnonKb(tid);
  }
  return s;
}

// The ptrace loop's state.
struct Tracer {
  pid_t root = 0;
  uint64_t start_ns = 0;
  std::set<pid_t> live;
  std::set<pid_t> seen_stop;  // tids whose first (attach) stop was seen
  RunOutcome out;

  void OnStop(pid_t tid, int st) {
    int sig = WSTOPSIG(st), event = st >> 16;
    int inject = 0;
    if (!seen_stop.count(tid)) {
      seen_stop.insert(tid);
      live.insert(tid);
      if (sig == SIGSTOP && event == 0) {  // the attach stop of a new task
        ptrace(PTRACE_CONT, tid, 0, 0);
        return;
      }
    }
    if (event == PTRACE_EVENT_EXEC) {
      out.snapshots.push_back(TakeSnapshot(tid, true));
      if (tid == root && !out.started) start_ns = NowNs();
      if (tid == root) out.started = true;
    } else if (event == PTRACE_EVENT_EXIT) {
      out.snapshots.push_back(TakeSnapshot(tid, false));
    } else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
               event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
      live.insert(static_cast<pid_t>(child));
    } else if (event == 0 && sig != SIGTRAP) {
      // A signal for the program: deliver it.  A group-stop (GETSIGINFO
      // fails with EINVAL) is resumed: a recorded program is not stopped.
      siginfo_t si;
      bool group_stop =
          ptrace(PTRACE_GETSIGINFO, tid, 0, &si) < 0 && errno == EINVAL;
      if (!group_stop) inject = sig;
    }
    ptrace(PTRACE_CONT, tid, 0, inject);
  }

  void OnGone(pid_t tid, int st) {
    live.erase(tid);
    if (tid != root) return;
    out.exited = WIFEXITED(st);
    out.status = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    out.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  }
};

[[noreturn]] void Child(const std::vector<std::string>& argv, int err_fd) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  signal(SIGINT, SIG_DFL);  // the recorder ignores them, the command must not
  signal(SIGQUIT, SIG_DFL);
  ptrace(PTRACE_TRACEME, 0, 0, 0);
  raise(SIGSTOP);
  execvp(args[0], args.data());
  int e = errno;
  (void)!write(err_fd, &e, sizeof e);
  _exit(127);
}

}  // namespace

Result<std::vector<SnapVma>> ReadMapsWithPaths(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  if (!f)
    return Status::Error("cannot read /proc/" + std::to_string(pid) + "/maps");
  std::vector<SnapVma> out;
  std::string line;
  while (std::getline(f, line)) {
    SnapVma v;
    char perms[8] = {};
    unsigned long long s, e, off, ino;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %llu %n", &s, &e,
                    perms, &off, &ino, &path_at) < 5)
      continue;
    v.start = s;
    v.end = e;
    v.offset = off;
    v.inode = ino;
    v.prot = (perms[0] == 'r' ? kProtRead : 0) |
             (perms[1] == 'w' ? kProtWrite : 0) |
             (perms[2] == 'x' ? kProtExec : 0);
    v.shared = perms[3] == 's';
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size())
      v.path = line.substr(path_at);
    out.push_back(std::move(v));
  }
  return out;
}

Result<RunOutcome> RunAndRecord(const std::vector<std::string>& argv) {
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) != 0)
    return Status::Error(std::string("pipe: ") + strerror(errno));
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) return Status::Error(std::string("fork: ") + strerror(errno));
  if (child == 0) Child(argv, errp[1]);
  close(errp[1]);
  Tracer t;
  t.root = child;
  t.live.insert(child);
  t.seen_stop.insert(child);
  int st = 0;
  if (waitpid(child, &st, __WALL) != child || !WIFSTOPPED(st)) {
    close(errp[0]);
    return Status::Error("the command did not start under ptrace");
  }
  Result<std::unique_ptr<PerfRecorder>> perf = PerfRecorder::Open(child);
  if (!perf.ok()) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, __WALL);
    close(errp[0]);
    return perf.status();
  }
  ptrace(PTRACE_SETOPTIONS, child, 0,
         PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
             PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE);
  ptrace(PTRACE_CONT, child, 0, 0);
  std::vector<pollfd> fds;
  for (int fd : perf.value()->poll_fds()) fds.push_back({fd, POLLIN, 0});
  for (;;) {
    poll(fds.data(), fds.size(), 5);
    if (Status s = perf.value()->Drain(&t.out.events);
        !s.ok() && t.out.error.empty())
      t.out.error = s.message();
    pid_t tid;
    bool done = false;
    while ((tid = waitpid(-1, &st, __WALL | WNOHANG)) != 0) {
      if (tid < 0) {
        done = errno == ECHILD;
        break;
      }
      if (WIFSTOPPED(st))
        t.OnStop(tid, st);
      else
        t.OnGone(tid, st);
    }
    if (done) break;
  }
  if (t.out.started) t.out.seconds = (NowNs() - t.start_ns) / 1e9;
  if (Status s = perf.value()->Drain(&t.out.events);
      !s.ok() && t.out.error.empty())
    t.out.error = s.message();
  int e = 0;
  if (read(errp[0], &e, sizeof e) == sizeof e) t.out.exec_errno = e;
  close(errp[0]);
  return std::move(t.out);
}

}  // namespace rmaplab::record
