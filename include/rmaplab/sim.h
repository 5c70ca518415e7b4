// sim.h: the simulator's public face: build a model kernel with one
// reverse-map design, apply trace ops to it, read its counters, check it.
//
// Thread-safety: a Simulator is not thread-safe; use one per thread.
#ifndef RMAPLAB_SIM_H_
#define RMAPLAB_SIM_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab {

struct SimOptions {
  std::string design = "anon_vma_chain";  // a name from DesignNames()
  // Run the content oracle and CheckInvariants() after every op.
  bool check = false;
  // Frames available to anonymous and shmem memory, and swap slots.
  uint64_t mem_pages = 1ULL << 26;  // 256 GiB: small traces never reclaim
  uint64_t swap_pages = 1ULL << 26;
  int numa_nodes = 2;
  // x86 protection keys (PKU): PROT_EXEC alone makes a vma execute-only
  // (unreadable, and its pkey keeps it from merging).  Without PKU, as on a
  // CPU without the `pku` flag, an exec-only page is readable.  The shipped
  // expected outputs come from a machine with PKU; `rmaplab diff` sets this
  // from the host (HostHasPku()).
  bool pku = true;
};

class Simulator {
 public:
  static Result<std::unique_ptr<Simulator>> Create(const SimOptions& opts);
  virtual ~Simulator() = default;

  // Applies one op, printing what it prints (maps, pagemap, stats) to `out`.
  // Returns kOk or the errno Linux would give; prints nothing for an error
  // (the caller prints the spec's error line).  With opts.check, a broken
  // invariant or oracle mismatch after the op is returned in `check`.
  virtual Errno Apply(const Op& op, std::ostream& out) = 0;

  // The whole-state invariants now, and the content oracle if the
  // simulator was created with SimOptions::check (else it kept no record).
  virtual Status Check() = 0;

  // The `stats` counters, in print order.
  virtual std::vector<std::pair<std::string, uint64_t>> Stats() const = 0;

  // Walks the reverse map of every mapped anonymous page once, counting
  // into rmap_walks / rmap_walk_steps / rmap_wasted_steps: what one pass of
  // page_referenced() over all memory would cost this design.
  virtual void ScanAllPages() = 0;

  // A message explaining the last kENOSYS (which op, why), for stderr.
  virtual const std::string& last_message() const = 0;
};

// Names of the reverse-map designs, in registry order.
std::vector<std::string> DesignNames();
// One-line description of a design, "" if unknown.
std::string DesignSummary(const std::string& name);

struct ReplayOptions {
  bool keep_going = false;
  bool time = false;  // per-op-kind wall time on stderr at the end
};

// Replays `trace` on `sim`: the `rmaplab replay` command.  Returns the exit
// status: 0 all ops succeeded, 1 an op failed (errno or EXPECT), 3 the
// checker found a broken invariant (message on `err`).
// With `check`, Check() runs after every op.
int Replay(const Trace& trace, Simulator& sim, const ReplayOptions& opts,
           bool check, std::ostream& out, std::ostream& err);

}  // namespace rmaplab

#endif  // RMAPLAB_SIM_H_
