// record_perf.h: the kernel events `rmaplab record` is made of, read
// exactly from perf_event_open tracepoints.
//
// One tracepoint event per CPU per kind (page faults, task creation, exec,
// exit, and enter/exit of every memory system call), all attached to the
// recorded command with `inherit`, sampling every hit (sample_period 1) with
// CLOCK_MONOTONIC time stamps, each CPU's events redirected into one ring
// buffer (PERF_EVENT_IOC_SET_OUTPUT).
//
// Invariants:
//  (1) Every hit of every tracepoint in a traced task becomes exactly one
//      RawEvent: a PERF_RECORD_LOST or PERF_RECORD_LOST_SAMPLES record in
//      any ring buffer makes Drain() fail; the recording is then incomplete
//      and says so, never silently short.
//  (2) Within one CPU's buffer events are in the order they happened; across
//      CPUs SortEvents() orders by time stamp, ties by (cpu, buffer order).
//  (3) Tracepoint ids and field offsets come from tracefs, read in a private
//      mount namespace when tracefs is not mounted (nothing machine-wide
//      changes).
#ifndef RMAPLAB_NATIVE_RECORD_PERF_H_
#define RMAPLAB_NATIVE_RECORD_PERF_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rmaplab/status.h"

namespace rmaplab::record {

enum class EventKind : uint8_t {
  kFaultUser,    // exceptions:page_fault_user: a[0] address, a[1] error_code
  kFaultKernel,  // exceptions:page_fault_kernel on a user address
  kNewTask,      // task:task_newtask: a[0] child tid, a[1] clone_flags
  kExec,         // sched:sched_process_exec: a[0] pid, a[1] old_pid
  kTaskExit,     // sched:sched_process_exit: a[0] tid
  kSysEnter,     // syscalls:sys_enter_*: sys = which, a[0..5] the arguments
  kSysExit,      // syscalls:sys_exit_*: ret
  // Synthetic, from the ptrace side (record_tracer.cc): a snapshot of the
  // task's address space at an exec stop or an exit stop.
  kSnapshot,
};

// The memory system calls followed.
enum class Sys : uint8_t {
  kNone,
  kMmap,
  kMunmap,
  kMprotect,
  kPkeyMprotect,
  kMremap,
  kMadvise,
  kBrk,
  kMlock,
  kMlock2,
  kMlockall,
  kShmat,
  kRemapFilePages,
  kProcessMadvise,
};

struct RawEvent {
  uint64_t time = 0;  // CLOCK_MONOTONIC ns
  int32_t pid = 0;    // tgid
  int32_t tid = 0;
  EventKind kind = EventKind::kFaultUser;
  Sys sys = Sys::kNone;
  uint16_t cpu = 0;
  uint32_t snapshot = 0;  // kSnapshot: index into the snapshot list
  uint64_t seq = 0;       // order within its buffer
  uint64_t a[6] = {};
  int64_t ret = 0;
};

// Orders events by time, then cpu, then buffer order.
void SortEvents(std::vector<RawEvent>* events);

class PerfRecorder {
 public:
  ~PerfRecorder();
  // Opens every event on every online CPU for task `pid` and its future
  // descendants, disabled until `pid` execs (enable_on_exec).
  static Result<std::unique_ptr<PerfRecorder>> Open(pid_t pid);

  // Moves what the ring buffers hold into `out`; fails on a lost record.
  Status Drain(std::vector<RawEvent>* out);
  // The fds to poll for data.
  const std::vector<int>& poll_fds() const { return leaders_; }

 private:
  struct Source {
    EventKind kind;
    Sys sys;
    int field_a[6];  // raw-data offsets of the fields we read (-1: none)
  };
  struct Buffer {
    void* base = nullptr;
    size_t size = 0;  // data area bytes
    int cpu = 0;
    uint64_t seq = 0;
  };
  PerfRecorder() = default;
  Status DrainBuffer(Buffer& b, std::vector<RawEvent>* out);
  bool Decode(const unsigned char* rec, size_t len, Buffer& b, RawEvent* ev);

  std::vector<int> fds_;
  std::vector<int> leaders_;  // one per CPU: owns the ring buffer
  std::vector<Buffer> buffers_;
  std::vector<std::pair<uint64_t, Source>> ids_;  // perf id -> source
};

}  // namespace rmaplab::record

#endif  // RMAPLAB_NATIVE_RECORD_PERF_H_
