// sim.h: the simulator's public face: build a model kernel with one
// reverse-map design, apply trace ops to it, read its counters, maps and
// pagemap as values, check it.
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

#include "rmaplab/output.h"
#include "rmaplab/stats.h"
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
  // /sys/kernel/mm/ksm/max_page_sharing (at least 2) and use_zero_pages.
  uint32_t ksm_max_page_sharing = 256;
  bool ksm_use_zero_pages = false;
  // Historical bugs, brought back on purpose so that the content oracle can
  // be seen to catch them (docs/model.md, "Pins"); both off by default.
  // unsafe_pin_check: KSM (write_protect_page) and migration (the expected-
  // refcount check) no longer refuse a page whose refcount exceeds its
  // mappings and caches, so a pinned page is merged or migrated and a later
  // DMA write through the pin is lost or leaks (seed 003, the 2008 race).
  bool unsafe_pin_check = false;
  // legacy_fork_cow: fork shares a maybe-pinned exclusive anonymous page COW
  // instead of copying it (Linux before 5.9: copy_present_pte did not copy
  // pinned pages), so after the parent's next COW fault the pin holds the
  // child's page (the class of CVE-2020-29374).
  bool legacy_fork_cow = false;
};

class Simulator {
 public:
  static Result<std::unique_ptr<Simulator>> Create(const SimOptions& opts);
  virtual ~Simulator() = default;

  virtual const SimOptions& options() const = 0;

  // Applies one op, printing what it prints (maps, pagemap, stats, oom-kill
  // notes) to `out`.  Returns kOk or the errno Linux would give; prints
  // nothing for an error (the caller prints the spec's error line).
  virtual Errno Apply(const Op& op, std::ostream& out) = 0;

  // The whole-state invariants now, and the content oracle if the
  // simulator was created with SimOptions::check (else it kept no record).
  virtual Status Check() = 0;

  // The `stats` counters now.
  virtual rmaplab::Stats Stats() const = 0;
  // What `PID maps` prints, as values; an error if PID is not alive.
  virtual Result<std::vector<MapsEntry>> Maps(uint32_t pid) const = 0;
  // What `PID pagemap ADDR LEN` prints: one entry per page of
  // [addr, addr + len); an error if PID is not alive.
  virtual Result<std::vector<PagemapEntry>> Pagemap(uint32_t pid, uint64_t addr,
                                                    uint64_t len) const = 0;

  // Walks the reverse map of every mapped anonymous page once, counting
  // into rmap_walks / rmap_walk_steps / rmap_wasted_steps: what one pass of
  // page_referenced() over all memory would cost this design.
  virtual void ScanAllPages() = 0;

  // The reverse-map structures now, for a picture (`rmaplab graph`): every
  // live mm, vma and mapped anonymous page with its PTEs, then the design's
  // own objects (GraphSink: rmaplab/graph.h).  Changes nothing.
  virtual void DescribeRmap(class GraphSink& g) const = 0;

  // A message explaining the last kENOSYS (which op, why), for stderr.
  virtual const std::string& last_message() const = 0;
};

// Names of the reverse-map designs, in registry order.
std::vector<std::string> DesignNames();
// One-line description of a design, "" if unknown.
std::string DesignSummary(const std::string& name);

struct ReplayOptions {
  bool keep_going = false;  // go on after a refused op
  bool time = false;        // measure wall time per op kind
};

// Wall time spent in Simulator::Apply for one op kind.
struct OpKindTime {
  OpKind kind = OpKind::kStats;
  uint64_t count = 0;
  double total_us = 0;
};

// What a replay did, besides what it printed.
struct ReplayResult {
  int ops_run = 0;     // ops applied, refused ones included
  int ops_failed = 0;  // ops refused with an errno or EXPECT
  // "FILE:LINE: why" for every op refused with ENOSYS.
  std::vector<std::string> unsupported;
  // The first broken invariant or lost value, "FILE:LINE: check failed
  // after 'OP': ..."; the replay stopped there.
  Status check;
  std::vector<OpKindTime> times;  // with ReplayOptions::time, by kind

  bool ok() const { return ops_failed == 0 && check.ok(); }
};

// Replays `trace` on `sim`, printing each op's output and the spec's
// "error line=N op=OP errno=E" for a refused op to `out`.  Stops after the
// first refused op unless opts.keep_going, and at the first failed check
// when `sim` was created with SimOptions::check (Check() after every op).
ReplayResult Replay(const Trace& trace, Simulator& sim, std::ostream& out,
                    const ReplayOptions& opts = {});

}  // namespace rmaplab

#endif  // RMAPLAB_SIM_H_
