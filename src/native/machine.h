// machine.h: the machine-wide state a native run borrows, and gives back.
//
// KSM (/sys/kernel/mm/ksm), the THP policy
// (/sys/kernel/mm/transparent_hugepage), a zram swap device, and a cgroup v2
// memory controller are shared by the whole machine.  A Machine takes a lock so
// that only one native run uses them at a time, sets each up the first time an
// op needs it, and restores every setting it changed when it is destroyed or
// when SIGINT/SIGTERM arrives.
//
// Invariants:
//  (1) At most one Machine exists per process, and one per machine while its
//      flock on /run/lock/rmaplab-native.lock (or /tmp/...) is held.
//  (2) Before a setting is changed, its old value is recorded in a static,
//      fixed-size restore log; restoring uses only async-signal-safe calls
//      (open/write/close, swapoff, kill, waitpid, rmdir), so the signal
//      handler can run it.  Restoring kills and reaps the registered workers
//      first, so nothing of theirs remains in swap or in the cgroup.
//  (3) A zram device already in use by the system is never touched: a new
//      one is hot-added and hot-removed again.
//  (4) Counters read here (KSM, THP) are machine-wide totals; a trace's own
//      count is a difference of two reads, exact only while nothing else on
//      the machine changes them (the lock keeps other native runs out).
#ifndef RMAPLAB_NATIVE_MACHINE_H_
#define RMAPLAB_NATIVE_MACHINE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "native/proc.h"
#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab::native {

struct KsmCounters {
  uint64_t pages_shared = 0;
  uint64_t pages_sharing = 0;
  uint64_t stable_node_chains = 0;
  uint64_t stable_node_dups = 0;
};

// The THP event counters of a `stats` block as (key, machine-wide total),
// keyed and ordered as include/rmaplab/stats.h's kStatFields.
using ThpCounters = std::vector<std::pair<std::string, uint64_t>>;

// The KSM settings a trace runs under (SimOptions' ksm_* on the model).
struct KsmTunables {
  uint32_t max_page_sharing = 256;  // Linux's default
  bool use_zero_pages = false;      // Linux's default
};

class Machine {
 public:
  // Blocks until the lock is free; installs the SIGINT/SIGTERM handlers.
  static Result<std::unique_ptr<Machine>> Acquire();
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // The signal handler kills these.
  void AddWorker(pid_t pid);
  void RemoveWorker(pid_t pid);

  // The KSM settings the first `* ksm` op sets (and the end restores).
  void SetKsmTunables(const KsmTunables& t) { ksm_tunables_ = t; }
  // Saves the KSM settings, stops ksmd, lets it drop what exited processes
  // left (stale stable nodes, rmap_items), then sets the KsmTunables;
  // idempotent.  The `* ksm` ops call it too.
  Status EnsureKsm();
  // `* ksm PAGES`: ksmd runs one batch of PAGES pages (pages_to_scan), then
  // is stopped again.
  Status KsmScan(uint64_t pages);
  // `* ksm full`: ksmd runs until full_scans has advanced by at least 2 and
  // a whole pass changed none of pages_shared/sharing/unshared.
  Status KsmFull();
  KsmCounters ReadKsm() const;

  // Sets up zram swap on first use; idempotent.
  Status EnsureSwap();
  bool has_swap() const { return !swap_device_.empty(); }
  // swapoff (bringing every page back), then swapon again.
  Status SwapoffAndOn();
  // The first 8 bytes of a swapped-out page, read from the zram device
  // (O_DIRECT: swap writes bypass the block device's page cache).
  Result<uint64_t> ReadSwapSlot(const PagemapBits& pte) const;
  uint64_t SwapSlotsUsed() const;

  // The spec's start-of-trace THP policy, khugepaged kept from collapsing
  // (machine_thp.cc); idempotent.
  Status EnsureThp();
  // `* thp SIZE MODE`: hugepages-<SIZE>kB/enabled.
  Status SetThp(int order, ThpMode mode);
  // An error if khugepaged collapsed anything since EnsureThp().
  Status CheckNoCollapse() const;
  // Every THP counter of kStatFields this kernel keeps (machine_thp.cc); a
  // counter it does not keep is left out, never given as 0.
  Result<ThpCounters> ReadThpCounters() const;

  // `* reclaim` through a cgroup v2 memory.reclaim holding `workers`.
  // Returns false (and does nothing) if cgroup v2 has no memory controller.
  Result<bool> ReclaimThroughCgroup(uint64_t pages,
                                    const std::vector<pid_t>& workers);

 private:
  Machine() = default;
  Status DropStaleKsmState();
  Status DropEmptyChains();
  Status SetKsmTunable(const char* name, uint64_t value);
  Status SetupZram();
  Status EnsureCgroup();

  int lock_fd_ = -1;
  bool ksm_ready_ = false;
  unsigned ksm_kick_ = 0;
  KsmTunables ksm_tunables_;
  std::string swap_device_;  // "/dev/zramN" once swapon succeeded
  std::string cgroup_dir_;   // set once the reclaim cgroup exists
  bool cgroup_unavailable_ = false;
  bool thp_ready_ = false;
  uint64_t collapsed_base_ = 0;  // khugepaged/pages_collapsed at EnsureThp
  void* khugepaged_keepalive_ = nullptr;  // keeps our mm on khugepaged's list
};

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_MACHINE_H_
