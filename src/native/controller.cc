// controller.cc: worker lifecycle and op dispatch (see controller.h).
#include "native/controller.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "native/channel.h"
#include "native/worker.h"

namespace rmaplab::native {
namespace {

// A worker that takes longer than this over one op is considered hung.
constexpr int kReplyTimeoutMs = 120000;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) {
    return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  }
  if (WIFEXITED(status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return "stopped";
}

Status LineError(const Op& op, const std::string& msg) {
  return Status::Error("line " + std::to_string(op.line) + ": " + msg);
}

bool NodeOnline(int node) {
  struct stat st;
  std::string dir = "/sys/devices/system/node/node" + std::to_string(node);
  return node >= 0 && stat(dir.c_str(), &st) == 0;
}

}  // namespace

Controller::Controller(Machine* machine, const Options& options,
                       std::ostream& out, std::ostream& err)
    : machine_(machine), options_(options), out_(out), err_(err) {
  ksm_base_ = machine_->ReadKsm();
  machine_->SetKsmTunables(options.ksm);
}

Controller::~Controller() {
  for (auto& [trace_pid, w] : workers_) {
    kill(w.pid, SIGKILL);
    close(w.sock);
  }
  for (auto& [trace_pid, w] : workers_) {
    waitpid(w.pid, nullptr, 0);
    machine_->RemoveWorker(w.pid);
  }
}

Status Controller::AwaitReply(uint32_t trace_pid, const Worker& w,
                              Reply* reply) {
  pollfd p{w.sock, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, kReplyTimeoutMs);
  } while (r < 0 && errno == EINTR);
  std::string who = "the worker for pid " + std::to_string(trace_pid) +
                    " (real pid " + std::to_string(w.pid) + ")";
  if (r == 0) return Status::Error(who + " did not answer in 120 s");
  if (ReceiveReply(w.sock, reply)) return Status::Ok();
  int status = 0;
  waitpid(w.pid, &status, 0);
  machine_->RemoveWorker(w.pid);
  return Status::Error(who +
                       " died unexpectedly: " + DescribeWaitStatus(status));
}

Status Controller::AddWorker(uint32_t trace_pid, pid_t pid, int sock) {
  machine_->AddWorker(pid);
  Worker w{pid, sock};
  workers_[trace_pid] = w;
  Reply ready;
  Status s = AwaitReply(trace_pid, w, &ready);
  if (!s.ok()) {
    close(sock);
    workers_.erase(trace_pid);
    return s;
  }
  return Status::Ok();
}

Status Controller::Start() {
  // Every trace starts with the spec's THP policy; a kernel without THP
  // runs only traces that never ask for it (SetThp then fails).
  if (Status s = machine_->EnsureThp();
      !s.ok() && s.message().find("not available") == std::string::npos)
    return s;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::Error(std::string("socketpair: ") + strerror(errno));
  }
  out_.flush();
  err_.flush();
  pid_t pid = fork();
  if (pid < 0) return Status::Error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    close(sv[0]);
    RunWorker(sv[1]);
  }
  close(sv[1]);
  return AddWorker(1, pid, sv[0]);
}

int Controller::Run(const Trace& trace) {
  // A trace that uses KSM starts from a KSM without stale state of earlier
  // runs, in its own settings, so that the ksm_ stats deltas are its own.
  bool uses_ksm =
      std::any_of(trace.ops.begin(), trace.ops.end(), [](const Op& op) {
        return op.kind == OpKind::kKsm ||
               (op.kind == OpKind::kMadvise && op.advice == Advice::kMergeable);
      });
  if (uses_ksm) {
    Status s = machine_->EnsureKsm();
    if (!s.ok()) {
      err_ << "rmaplab native: " << s.message() << '\n';
      return 2;
    }
    ksm_base_ = machine_->ReadKsm();
  }
  Result<ThpCounters> thp = machine_->ReadThpCounters();
  if (!thp.ok()) {
    err_ << "rmaplab native: " << thp.status().message() << '\n';
    return 2;
  }
  thp_base_ = thp.value();
  bool failed = false;
  for (const Op& op : trace.ops) {
    Result<Errno> r = Execute(op);
    if (!r.ok()) {
      out_.flush();
      err_ << "rmaplab native: " << r.status().message() << '\n';
      return 2;
    }
    if (r.value() == Errno::kOk) continue;
    PrintOpError(out_, op, r.value());
    failed = true;
    if (!options_.keep_going) break;
  }
  if (options_.time) PrintTimes();
  if (Status s = machine_->CheckNoCollapse(); !s.ok()) {
    out_.flush();
    err_ << "rmaplab native: " << s.message() << '\n';
    return 2;
  }
  return failed ? 1 : 0;
}

Result<Errno> Controller::Execute(const Op& op) {
  if (op.pid == 0) {
    int64_t t0 = NowNs();
    Result<Errno> r = ExecuteSystemOp(op);
    times_[op.kind].count++;
    times_[op.kind].total_ns += NowNs() - t0;
    return r;
  }
  auto it = workers_.find(op.pid);
  if (it == workers_.end()) return Errno::kESRCH;
  return ExecuteProcessOp(op, it->second);
}

Result<Errno> Controller::ExecuteSystemOp(const Op& op) {
  Status s;
  switch (op.kind) {
    case OpKind::kKsm:
      s = op.ksm_full ? machine_->KsmFull() : machine_->KsmScan(op.pages);
      break;
    case OpKind::kReclaim:
      return Reclaim(op);
    case OpKind::kSwapoff:
      s = machine_->SwapoffAndOn();
      break;
    case OpKind::kStats:
      return Stats(op);
    case OpKind::kThp:
      s = machine_->SetThp(op.thp_order, op.thp_mode);
      break;
    default:
      return LineError(op, "not a system op");
  }
  if (!s.ok()) return LineError(op, s.message());
  return Errno::kOk;
}

Result<Errno> Controller::ExecuteProcessOp(const Op& op, Worker& w) {
  int64_t t0 = NowNs();
  Result<Errno> r = Errno::kOk;
  switch (op.kind) {
    case OpKind::kFork:
      return Fork(op, w);
    case OpKind::kExit:
      return Exit(op);
    case OpKind::kExec:
      return Exec(op, w);
    case OpKind::kMaps:
      r = Maps(op, w);
      break;
    case OpKind::kPagemap:
      r = Pagemap(op, w);
      break;
    case OpKind::kExpect:
      r = Expect(op, w);
      break;
    default:
      return CallWorker(op, w);
  }
  times_[op.kind].count++;
  times_[op.kind].total_ns += NowNs() - t0;
  return r;
}

void Controller::RecordRange(uint64_t start, uint64_t len) {
  trace_ranges_.emplace_back(start, start + len);
}

Result<Errno> Controller::CallWorker(const Op& op, Worker& w, bool account) {
  if (op.kind == OpKind::kMigrate && !NodeOnline(op.node)) {
    return LineError(op, "NUMA node " + std::to_string(op.node) +
                             " is not online on this machine");
  }
  if (op.kind == OpKind::kMadvise && op.advice == Advice::kPageout) {
    Status s = machine_->EnsureSwap();
    if (!s.ok())
      return LineError(op, "madvise pageout needs swap: " + s.message());
  }
  Request req{Command::kOp, op};
  SendRequest(w.sock, req);  // a failure shows up as EOF in AwaitReply
  Reply reply;
  Status s = AwaitReply(op.pid, w, &reply);
  if (!s.ok()) return s;
  if (account) {
    times_[op.kind].count++;
    times_[op.kind].total_ns += reply.elapsed_ns;
    trace_faults_ += reply.faults;
  }
  if (reply.message[0] != '\0') return LineError(op, reply.message);
  bool known = true;
  Errno e = ErrnoFromLinux(reply.error, &known);
  if (!known) {
    return LineError(op, std::string(OpName(op.kind)) + " failed with " +
                             strerror(reply.error) +
                             ", an errno the trace format cannot name");
  }
  if (e == Errno::kOk && op.kind == OpKind::kMmap) RecordRange(op.addr, op.len);
  if (e == Errno::kOk && op.kind == OpKind::kMremap) {
    RecordRange(op.has_new_addr ? op.new_addr : op.addr, op.new_len);
  }
  return e;
}

Result<Errno> Controller::Fork(const Op& op, Worker& parent) {
  if (workers_.count(op.child) != 0) return Errno::kEEXIST;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return LineError(op, std::string("socketpair: ") + strerror(errno));
  }
  Request req{Command::kFork, op};
  SendRequest(parent.sock, req, sv[1]);  // a failure shows up as EOF
  close(sv[1]);
  Reply reply;
  Status s = AwaitReply(op.pid, parent, &reply);
  if (!s.ok() || reply.error != 0) {
    close(sv[0]);
    if (!s.ok()) return s;
    bool known;
    return ErrnoFromLinux(reply.error, &known);
  }
  times_[op.kind].count++;
  times_[op.kind].total_ns += reply.elapsed_ns;
  s = AddWorker(op.child, reply.child_pid, sv[0]);
  if (!s.ok()) return s;
  return Errno::kOk;
}

Result<Errno> Controller::Exit(const Op& op) {
  Worker w = workers_.at(op.pid);
  int64_t t0 = NowNs();
  Request req{Command::kExit, op};
  SendRequest(w.sock, req);
  int status = 0;
  waitpid(w.pid, &status, 0);
  times_[op.kind].count++;
  times_[op.kind].total_ns += NowNs() - t0;
  close(w.sock);
  machine_->RemoveWorker(w.pid);
  workers_.erase(op.pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return LineError(
        op, "the worker for pid " + std::to_string(op.pid) +
                " did not exit cleanly: " + DescribeWaitStatus(status));
  }
  return Errno::kOk;
}

// The worker re-executes itself (same pid, same socket, a new mm); its
// reply is the new image's "ready".
Result<Errno> Controller::Exec(const Op& op, Worker& w) {
  int64_t t0 = NowNs();
  Request req{Command::kExec, op};
  SendRequest(w.sock, req);  // a failure shows up as EOF in AwaitReply
  Reply reply;
  Status s = AwaitReply(op.pid, w, &reply);
  if (!s.ok()) return s;
  times_[op.kind].count++;
  times_[op.kind].total_ns += NowNs() - t0;
  if (reply.error != 0) {
    return LineError(op, std::string("re-executing the worker failed: ") +
                             strerror(reply.error));
  }
  return Errno::kOk;
}

void Controller::PrintTimes() const {
  err_ << "# native op times: op count total_us mean_us\n";
  for (const auto& [kind, t] : times_) {
    char buf[128];
    double total_us = static_cast<double>(t.total_ns) / 1000.0;
    std::snprintf(buf, sizeof buf, "%s %llu %.1f %.2f\n",
                  std::string(OpName(kind)).c_str(),
                  static_cast<unsigned long long>(t.count), total_us,
                  t.count ? total_us / static_cast<double>(t.count) : 0.0);
    err_ << buf;
  }
}

}  // namespace rmaplab::native
