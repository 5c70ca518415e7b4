// swap.h: one swap device (mm/swapfile.c's swap_map and its cluster
// allocator, reduced) and the anonymous LRU lists (mm/vmscan.c), as the
// model keeps them.
//
// Slots are handed out one at a time (get_swap_page) or, for a large folio
// swapped out whole (THP_SWAP), as 2^order contiguous, naturally aligned
// slots (folio_alloc_swap -> cluster_alloc_swap_entry of that order): page
// i of the folio goes to slot first + i.  The slot numbers are the model's
// own; only whether a range exists matters (Linux: a free or same-order
// cluster; here: an aligned run of free slots, or room past the last slot
// handed out).
//
// Invariants (checked by CheckInvariants()):
//  (1) a slot is in use iff count > 0 or it holds a swap-cache page;
//      count == swap PTEs holding the slot + shmem objects holding it;
//  (2) slot.cache == pfn iff the page has PG_swapcache and
//      SwapArea::slot_of(pfn) == the slot;
//  (3) a page is on exactly one LRU list iff PG_lru; PG_active says which;
//  (4) between ops no swap-cache page belongs to a large folio: reclaim
//      puts a folio in the swap cache whole and frees it after pageout
//      (or splits it), so swap-in always meets 4 KiB pages;
//  (5) cluster_used_[c] == the slots in use among [c * kClusterSlots,
//      (c + 1) * kClusterSlots).
#ifndef RMAPLAB_CORE_SWAP_H_
#define RMAPLAB_CORE_SWAP_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/page.h"

namespace rmaplab {

struct SwapSlot {
  uint32_t count = 0;  // swap_map: references from PTEs and shmem objects
  Pfn cache = 0;       // the swap-cache page, 0 if none
  bool used = false;
  uint64_t content = 0;  // what was written out
  bool ksm = false;      // written from a KSM page (ksm_might_need_to_copy)
};

class SwapArea {
 public:
  // SWAPFILE_CLUSTER: the slots of one cluster (HPAGE_PMD_NR).
  static constexpr uint64_t kClusterSlots = 512;

  explicit SwapArea(uint64_t slots) : limit_(slots) {}

  // get_swap_page(): a free slot, or UINT64_MAX if the device is full.
  uint64_t Alloc();
  // folio_alloc_swap() for a folio of `order`: the first of 2^order free
  // slots, contiguous and aligned to 2^order, or UINT64_MAX if no such
  // run exists (the device may still have free slots: fragmentation).
  // REQUIRES: 2^order <= kClusterSlots.
  uint64_t AllocRange(int order);
  void Free(uint64_t slot);
  SwapSlot& slot(uint64_t s) { return slots_[s]; }
  const SwapSlot& slot(uint64_t s) const { return slots_[s]; }
  uint64_t size() const { return slots_.size(); }  // slots ever handed out
  uint64_t used() const { return used_; }

  // folio->swap for swap-cache pages.
  std::unordered_map<Pfn, uint64_t>& cache_index() { return cache_of_; }
  const std::unordered_map<Pfn, uint64_t>& cache_index() const {
    return cache_of_;
  }

 private:
  void Take(uint64_t s);         // marks a free slot used
  void Grow(uint64_t new_size);  // new slots, free, up to new_size
  bool RangeFree(uint64_t first, uint64_t nr) const;

  uint64_t limit_;
  std::vector<SwapSlot> slots_;
  // Free slots to reuse first, most recent last; may hold stale entries
  // (slots AllocRange took since), skipped when popped.
  std::vector<uint64_t> free_;
  std::vector<uint32_t> cluster_used_;
  uint64_t used_ = 0;
  std::unordered_map<Pfn, uint64_t> cache_of_;
};

// Two LRU lists (inactive, active) threaded through per-frame links.  The
// pages of a large folio are listed one by one but move together: reclaim
// isolates and puts back a folio whole.
class Lru {
 public:
  enum List { kInactive = 0, kActive = 1 };
  void Grow(Pfn frames) {
    if (next_.size() < frames) {
      next_.resize(frames, 0);
      prev_.resize(frames, 0);
    }
  }
  void AddHead(Page& page, Pfn pfn, List list);
  void Del(Page& page, Pfn pfn);
  Pfn Tail(List list) const { return tail_[list]; }
  uint64_t size(List list) const { return size_[list]; }
  uint64_t bytes() const { return (next_.size() + prev_.size()) * sizeof(Pfn); }

 private:
  // 0 (the zero page, never on a list) is the end of a list.
  std::vector<Pfn> next_, prev_;  // next_ runs head -> tail
  Pfn head_[2] = {0, 0}, tail_[2] = {0, 0};
  uint64_t size_[2] = {0, 0};
};

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_SWAP_H_
