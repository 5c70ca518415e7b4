// record_tracer.h: runs the recorded command under ptrace, only to stop
// each task at exec and at exit (PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT,
// following fork, vfork and clone), and to snapshot its address space there
// from /proc, while record_perf.h collects the events.
//
// Invariants:
//  (1) An exec snapshot is taken before the new image runs one instruction:
//      its vmas and its resident anonymous pages are exactly what execve
//      built (the stack with argv and envp, .bss zeroing).
//  (2) An exit snapshot is taken before exit_mm(): the mm is still whole,
//      and nothing of the task runs any more.
//  (3) Snapshots carry CLOCK_MONOTONIC times, the clock of the perf events,
//      so they merge into the event stream at the right place.
//  (4) Every traced task is a tracee of this process (PTRACE_O_EXITKILL):
//      if the recorder dies, the command dies with it.
#ifndef RMAPLAB_NATIVE_RECORD_TRACER_H_
#define RMAPLAB_NATIVE_RECORD_TRACER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "native/record_perf.h"
#include "rmaplab/status.h"

namespace rmaplab::record {

// One line of /proc/PID/maps, with what the recorder needs of it.
struct SnapVma {
  uint64_t start = 0, end = 0;  // [start, end)
  int prot = 0;                 // kProt* bits
  bool shared = false;
  uint64_t offset = 0;
  uint64_t inode = 0;
  std::string path;  // "" for anonymous memory, "[stack]", "/usr/lib/..."
  std::vector<uint64_t> anon_pages;  // exec snapshots: present anonymous pages
};

struct Snapshot {
  bool at_exec = false;  // else at exit
  pid_t tid = 0;
  uint64_t time = 0;       // CLOCK_MONOTONIC ns
  uint64_t start_brk = 0;  // exec snapshots: where the heap starts
  int64_t anon_kb = -1;    // exit snapshots: smaps_rollup Anonymous
  std::vector<SnapVma> vmas;
};

struct RunOutcome {
  bool started = false;  // the command's execve succeeded
  int exec_errno = 0;    // why it did not
  bool exited = false;   // else killed by `signal`
  int status = 0;        // exit status
  int signal = 0;
  double seconds = 0;  // the command's wall time, first exec to last exit
  std::string error;   // a recording error (lost events, ...); "" if none
  std::vector<RawEvent> events;
  std::vector<Snapshot> snapshots;
};

// Runs argv[0] (looked up in PATH) with its arguments until it and every
// descendant are gone.  Fails only if recording cannot start.
Result<RunOutcome> RunAndRecord(const std::vector<std::string>& argv);

// /proc/PID/maps with path names.
Result<std::vector<SnapVma>> ReadMapsWithPaths(pid_t pid);

}  // namespace rmaplab::record

#endif  // RMAPLAB_NATIVE_RECORD_TRACER_H_
