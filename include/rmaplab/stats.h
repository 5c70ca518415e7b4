// stats.h: the counters of the `stats` op (docs/trace-format.md, "stats")
// as a value: one named field per counter.
//
// Invariants:
//  (1) kStatFields is the one list of counter names: printing, JSON, CSV
//      and name lookups all go through it, in its order, which is the order
//      `stats` prints (a contract: shipped .expected files hold it).
//  (2) Every field of Stats but swapoff_object_visits is in kStatFields
//      exactly once; swapoff_object_visits is present only for a design
//      with an object index (anon_inode) and printed only then.
// Thread-safety: plain values.
#ifndef RMAPLAB_STATS_H_
#define RMAPLAB_STATS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rmaplab {

struct Stats {
  uint64_t pages_resident = 0;  // frames in use
  uint64_t pages_swapped = 0;   // pages only on swap (not in swap cache)
  uint64_t swap_slots_used = 0;
  uint64_t vmas = 0;
  uint64_t processes = 0;
  uint64_t rmap_bytes = 0;              // design metadata, x86-64 layout
  uint64_t rmap_bytes_i386 = 0;         // design metadata, i386 layout
  uint64_t page_struct_bytes_i386 = 0;  // struct page under the design
  uint64_t rmap_walks = 0;
  uint64_t rmap_walk_steps = 0;
  uint64_t rmap_wasted_steps = 0;  // steps that yielded no mapping PTE
  uint64_t rmap_lock_acquisitions = 0;
  uint64_t rmap_chain_entries = 0;
  uint64_t rmap_fork_work = 0;
  uint64_t rmap_exit_work = 0;
  uint64_t ksm_pages_shared = 0;
  uint64_t ksm_pages_sharing = 0;
  uint64_t ksm_pages_unshared = 0;
  uint64_t ksm_full_scans = 0;
  uint64_t ksm_stable_node_chains = 0;  // stable nodes that are chains of dups
  uint64_t ksm_stable_node_dups = 0;    // KSM pages that are dups in a chain
  uint64_t cow_copies = 0;
  uint64_t cow_reuses = 0;
  uint64_t page_faults = 0;
  uint64_t zero_page_maps = 0;
  uint64_t wasted_pages = 0;
  uint64_t fork_ptes = 0;
  uint64_t fork_copies = 0;
  uint64_t forks = 0;
  uint64_t exits = 0;
  uint64_t vma_merges = 0;
  uint64_t vma_splits = 0;
  uint64_t pte_slots = 0;
  uint64_t pswpin = 0;
  uint64_t pswpout = 0;
  uint64_t pgscan = 0;
  uint64_t pgsteal = 0;
  uint64_t pgactivate = 0;
  uint64_t reclaim_rmap_walks = 0;
  uint64_t reclaim_rmap_walk_steps = 0;
  uint64_t swapoff_ptes = 0;
  uint64_t swapoff_pages = 0;
  uint64_t swapoff_pte_slots = 0;
  uint64_t oom_kills = 0;
  uint64_t pgmigrate_success = 0;
  uint64_t pgmigrate_fail = 0;
  uint64_t migrate_rmap_walks = 0;
  uint64_t migrate_rmap_walk_steps = 0;
  uint64_t lru_inactive = 0;
  uint64_t lru_active = 0;
  // THP events as /proc/vmstat names them, then per folio size the
  // anon_fault_alloc / anon_fault_fallback of hugepages-<SIZE>/stats.
  uint64_t thp_fault_alloc = 0;
  uint64_t thp_fault_fallback = 0;
  uint64_t thp_split_pmd = 0;
  uint64_t thp_split_page = 0;
  uint64_t thp_deferred_split_page = 0;
  uint64_t thp_collapse_alloc = 0;
  uint64_t thp_swpout = 0;
  uint64_t thp_swpout_fallback = 0;
  uint64_t anon_fault_alloc_16kB = 0;
  uint64_t anon_fault_alloc_32kB = 0;
  uint64_t anon_fault_alloc_64kB = 0;
  uint64_t anon_fault_alloc_128kB = 0;
  uint64_t anon_fault_alloc_256kB = 0;
  uint64_t anon_fault_alloc_512kB = 0;
  uint64_t anon_fault_alloc_1024kB = 0;
  uint64_t anon_fault_alloc_2048kB = 0;
  uint64_t anon_fault_fallback_16kB = 0;
  uint64_t anon_fault_fallback_32kB = 0;
  uint64_t anon_fault_fallback_64kB = 0;
  uint64_t anon_fault_fallback_128kB = 0;
  uint64_t anon_fault_fallback_256kB = 0;
  uint64_t anon_fault_fallback_512kB = 0;
  uint64_t anon_fault_fallback_1024kB = 0;
  uint64_t anon_fault_fallback_2048kB = 0;
  // Only a design with an object index can swapoff by object (invariant 2).
  std::optional<uint64_t> swapoff_object_visits;
};

// A counter's printed name and where it lives: exactly one of `value` and
// `optional` is set.
struct StatField {
  std::string_view name;
  uint64_t Stats::*value = nullptr;
  std::optional<uint64_t> Stats::*optional = nullptr;
};

#define RMAPLAB_STAT(f) \
  StatField { #f, &Stats::f, nullptr }
inline constexpr StatField kStatFields[] = {
    RMAPLAB_STAT(pages_resident),
    RMAPLAB_STAT(pages_swapped),
    RMAPLAB_STAT(swap_slots_used),
    RMAPLAB_STAT(vmas),
    RMAPLAB_STAT(processes),
    RMAPLAB_STAT(rmap_bytes),
    RMAPLAB_STAT(rmap_bytes_i386),
    RMAPLAB_STAT(page_struct_bytes_i386),
    RMAPLAB_STAT(rmap_walks),
    RMAPLAB_STAT(rmap_walk_steps),
    RMAPLAB_STAT(rmap_wasted_steps),
    RMAPLAB_STAT(rmap_lock_acquisitions),
    RMAPLAB_STAT(rmap_chain_entries),
    RMAPLAB_STAT(rmap_fork_work),
    RMAPLAB_STAT(rmap_exit_work),
    RMAPLAB_STAT(ksm_pages_shared),
    RMAPLAB_STAT(ksm_pages_sharing),
    RMAPLAB_STAT(ksm_pages_unshared),
    RMAPLAB_STAT(ksm_full_scans),
    RMAPLAB_STAT(ksm_stable_node_chains),
    RMAPLAB_STAT(ksm_stable_node_dups),
    RMAPLAB_STAT(cow_copies),
    RMAPLAB_STAT(cow_reuses),
    RMAPLAB_STAT(page_faults),
    RMAPLAB_STAT(zero_page_maps),
    RMAPLAB_STAT(wasted_pages),
    RMAPLAB_STAT(fork_ptes),
    RMAPLAB_STAT(fork_copies),
    RMAPLAB_STAT(forks),
    RMAPLAB_STAT(exits),
    RMAPLAB_STAT(vma_merges),
    RMAPLAB_STAT(vma_splits),
    RMAPLAB_STAT(pte_slots),
    RMAPLAB_STAT(pswpin),
    RMAPLAB_STAT(pswpout),
    RMAPLAB_STAT(pgscan),
    RMAPLAB_STAT(pgsteal),
    RMAPLAB_STAT(pgactivate),
    RMAPLAB_STAT(reclaim_rmap_walks),
    RMAPLAB_STAT(reclaim_rmap_walk_steps),
    RMAPLAB_STAT(swapoff_ptes),
    RMAPLAB_STAT(swapoff_pages),
    RMAPLAB_STAT(swapoff_pte_slots),
    RMAPLAB_STAT(oom_kills),
    RMAPLAB_STAT(pgmigrate_success),
    RMAPLAB_STAT(pgmigrate_fail),
    RMAPLAB_STAT(migrate_rmap_walks),
    RMAPLAB_STAT(migrate_rmap_walk_steps),
    RMAPLAB_STAT(lru_inactive),
    RMAPLAB_STAT(lru_active),
    RMAPLAB_STAT(thp_fault_alloc),
    RMAPLAB_STAT(thp_fault_fallback),
    RMAPLAB_STAT(thp_split_pmd),
    RMAPLAB_STAT(thp_split_page),
    RMAPLAB_STAT(thp_deferred_split_page),
    RMAPLAB_STAT(thp_collapse_alloc),
    RMAPLAB_STAT(thp_swpout),
    RMAPLAB_STAT(thp_swpout_fallback),
    RMAPLAB_STAT(anon_fault_alloc_16kB),
    RMAPLAB_STAT(anon_fault_alloc_32kB),
    RMAPLAB_STAT(anon_fault_alloc_64kB),
    RMAPLAB_STAT(anon_fault_alloc_128kB),
    RMAPLAB_STAT(anon_fault_alloc_256kB),
    RMAPLAB_STAT(anon_fault_alloc_512kB),
    RMAPLAB_STAT(anon_fault_alloc_1024kB),
    RMAPLAB_STAT(anon_fault_alloc_2048kB),
    RMAPLAB_STAT(anon_fault_fallback_16kB),
    RMAPLAB_STAT(anon_fault_fallback_32kB),
    RMAPLAB_STAT(anon_fault_fallback_64kB),
    RMAPLAB_STAT(anon_fault_fallback_128kB),
    RMAPLAB_STAT(anon_fault_fallback_256kB),
    RMAPLAB_STAT(anon_fault_fallback_512kB),
    RMAPLAB_STAT(anon_fault_fallback_1024kB),
    RMAPLAB_STAT(anon_fault_fallback_2048kB),
    StatField{"swapoff_object_visits", nullptr, &Stats::swapoff_object_visits},
};
#undef RMAPLAB_STAT

// The per-size fault counters, by folio order - 2 (16kB .. 2048kB).
inline constexpr uint64_t Stats::*kAnonFaultAlloc[] = {
    &Stats::anon_fault_alloc_16kB,   &Stats::anon_fault_alloc_32kB,
    &Stats::anon_fault_alloc_64kB,   &Stats::anon_fault_alloc_128kB,
    &Stats::anon_fault_alloc_256kB,  &Stats::anon_fault_alloc_512kB,
    &Stats::anon_fault_alloc_1024kB, &Stats::anon_fault_alloc_2048kB,
};
inline constexpr uint64_t Stats::*kAnonFaultFallback[] = {
    &Stats::anon_fault_fallback_16kB,   &Stats::anon_fault_fallback_32kB,
    &Stats::anon_fault_fallback_64kB,   &Stats::anon_fault_fallback_128kB,
    &Stats::anon_fault_fallback_256kB,  &Stats::anon_fault_fallback_512kB,
    &Stats::anon_fault_fallback_1024kB, &Stats::anon_fault_fallback_2048kB,
};

// The field's value in `s`, or nullopt for an absent optional counter.
inline std::optional<uint64_t> StatValue(const Stats& s, const StatField& f) {
  return f.value ? std::optional<uint64_t>(s.*f.value) : s.*f.optional;
}

// (name, value) of every present counter, in print order.
inline std::vector<std::pair<std::string, uint64_t>> StatsEntries(
    const Stats& s) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const StatField& f : kStatFields)
    if (std::optional<uint64_t> v = StatValue(s, f))
      out.emplace_back(std::string(f.name), *v);
  return out;
}

// The counter called `name`, or nullopt if there is none (or it is absent).
inline std::optional<uint64_t> StatByName(const Stats& s,
                                          std::string_view name) {
  for (const StatField& f : kStatFields)
    if (f.name == name) return StatValue(s, f);
  return std::nullopt;
}

}  // namespace rmaplab

#endif  // RMAPLAB_STATS_H_
