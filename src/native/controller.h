// controller.h: replays a trace on the real kernel, one worker process per
// trace pid, in strict trace order, and prints what the kernel reports in
// the spec's output formats.
//
// Invariants:
//  (1) Ops run one at a time, in trace order; an op on one worker finishes
//      (its Reply is in) before the next op starts anywhere.
//  (2) Every worker is a direct child of the controller; it is reaped on
//      `exit`, and killed and reaped when the controller is destroyed.
//  (3) Output lines only ever show what was read from the kernel; a value
//      that cannot be read without changing state is a fatal error, never a
//      guess.
//  (4) Only the trace's mappings are shown: VMAs overlapping a range the
//      trace mmapped or mremapped to.
//  (5) A `stats` block prints the model's keys (include/rmaplab/stats.h)
//      that the kernel can answer, in the model's order: the trace's pages,
//      VMAs and faults, and the KSM and THP counters as their growth since
//      the run began (machine-wide, machine.h invariant 4).
#ifndef RMAPLAB_NATIVE_CONTROLLER_H_
#define RMAPLAB_NATIVE_CONTROLLER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "native/channel.h"
#include "native/machine.h"
#include "native/proc.h"
#include "rmaplab/output.h"
#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab::native {

struct Options {
  bool time = false;
  bool keep_going = false;
  KsmTunables ksm;
};

class Controller {
 public:
  Controller(Machine* machine, const Options& options, std::ostream& out,
             std::ostream& err);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts trace pid 1.
  Status Start();
  // Replays the trace; returns the exit status (0, 1, or 2 after printing
  // "rmaplab native: ..." to err).
  int Run(const Trace& trace);

 private:
  struct Worker {
    pid_t pid = 0;  // real pid
    int sock = -1;
  };
  struct OpTime {
    uint64_t count = 0;
    int64_t total_ns = 0;
  };

  // One op: its errno (kOk on success), or a Status for "cannot run".
  Result<Errno> Execute(const Op& op);
  Result<Errno> ExecuteSystemOp(const Op& op);
  Result<Errno> ExecuteProcessOp(const Op& op, Worker& w);
  // Sends a process op to a worker and maps its reply; `account` adds its
  // time and faults to the trace's (false for ops the controller invents).
  Result<Errno> CallWorker(const Op& op, Worker& w, bool account = true);
  Result<Errno> Fork(const Op& op, Worker& parent);
  Result<Errno> Exit(const Op& op);
  Result<Errno> Exec(const Op& op, Worker& w);
  Status AwaitReply(uint32_t trace_pid, const Worker& w, Reply* reply);
  Status AddWorker(uint32_t trace_pid, pid_t pid, int sock);
  void RecordRange(uint64_t start, uint64_t len);
  void PrintTimes() const;

  // The views (controller_view.cc).
  Result<std::vector<ProcVma>> TraceVmas(const Worker& w) const;
  Result<std::vector<PagemapEntry>> PagemapEntries(const Worker& w,
                                                   uint64_t addr, uint64_t len);
  Result<uint64_t> PageValue(const Worker& w, const std::vector<ProcVma>& vmas,
                             uint64_t addr, const PagemapBits& pte);
  Result<Errno> Maps(const Op& op, const Worker& w);
  Result<Errno> Pagemap(const Op& op, const Worker& w);
  Result<Errno> Expect(const Op& op, const Worker& w);
  Result<Errno> Stats(const Op& op);
  using StatEntries = std::vector<std::pair<std::string, uint64_t>>;
  Result<StatEntries> TraceCounts() const;
  StatEntries KsmDeltas() const;
  Result<StatEntries> ThpDeltas() const;
  Result<Errno> Reclaim(const Op& op);
  Result<Errno> PageoutFallback(uint64_t pages);

  Machine* machine_;
  Options options_;
  std::ostream& out_;
  std::ostream& err_;
  std::map<uint32_t, Worker> workers_;                       // by trace pid
  std::vector<std::pair<uint64_t, uint64_t>> trace_ranges_;  // [start, end)
  std::map<OpKind, OpTime> times_;
  uint64_t trace_faults_ = 0;  // summed Reply::faults of all worker ops
  KsmCounters ksm_base_;
  ThpCounters thp_base_;  // at the start of Run
  bool warned_no_kpageflags_ = false;
};

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_CONTROLLER_H_
