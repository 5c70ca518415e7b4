// swap.cc: slot allocation and the LRU lists (see swap.h).
#include "core/swap.h"

#include <algorithm>

namespace rmaplab {

void SwapArea::Take(uint64_t s) {
  slots_[s] = SwapSlot{};
  slots_[s].used = true;
  cluster_used_[s / kClusterSlots]++;
  used_++;
}

void SwapArea::Grow(uint64_t new_size) {
  slots_.resize(new_size);
  cluster_used_.resize((new_size + kClusterSlots - 1) / kClusterSlots, 0);
}

uint64_t SwapArea::Alloc() {
  while (!free_.empty()) {
    uint64_t s = free_.back();
    free_.pop_back();
    if (slots_[s].used) continue;  // stale: AllocRange took it
    Take(s);
    return s;
  }
  if (slots_.size() >= limit_) return UINT64_MAX;
  uint64_t s = slots_.size();
  Grow(s + 1);
  Take(s);
  return s;
}

bool SwapArea::RangeFree(uint64_t first, uint64_t nr) const {
  for (uint64_t s = first; s < first + nr; ++s)
    if (slots_[s].used) return false;
  return true;
}

// An aligned run among the slots handed out before (clusters with room
// enough only), else fresh slots past the last one, aligned; the slots
// skipped to align become free slots.
uint64_t SwapArea::AllocRange(int order) {
  uint64_t nr = uint64_t{1} << order;
  if (nr == 1) return Alloc();
  for (uint64_t c = 0; c < cluster_used_.size(); ++c) {
    if (kClusterSlots - cluster_used_[c] < nr) continue;
    uint64_t end = std::min<uint64_t>((c + 1) * kClusterSlots, slots_.size());
    for (uint64_t first = c * kClusterSlots; first + nr <= end; first += nr) {
      if (!RangeFree(first, nr)) continue;
      for (uint64_t s = first; s < first + nr; ++s) Take(s);
      return first;
    }
  }
  uint64_t first = (slots_.size() + nr - 1) & ~(nr - 1);
  if (first + nr > limit_) return UINT64_MAX;
  uint64_t old = slots_.size();
  Grow(first + nr);
  for (uint64_t s = old; s < first; ++s) free_.push_back(s);
  for (uint64_t s = first; s < first + nr; ++s) Take(s);
  return first;
}

void SwapArea::Free(uint64_t s) {
  slots_[s] = SwapSlot{};
  free_.push_back(s);
  cluster_used_[s / kClusterSlots]--;
  used_--;
}

void Lru::AddHead(Page& page, Pfn pfn, List list) {
  page.Set(PG_lru);
  if (list == kActive)
    page.Set(PG_active);
  else
    page.Clear(PG_active);
  prev_[pfn] = 0;
  next_[pfn] = head_[list];
  if (head_[list])
    prev_[head_[list]] = pfn;
  else
    tail_[list] = pfn;
  head_[list] = pfn;
  size_[list]++;
}

void Lru::Del(Page& page, Pfn pfn) {
  List list = page.Test(PG_active) ? kActive : kInactive;
  Pfn p = prev_[pfn], n = next_[pfn];
  if (p)
    next_[p] = n;
  else
    head_[list] = n;
  if (n)
    prev_[n] = p;
  else
    tail_[list] = p;
  prev_[pfn] = next_[pfn] = 0;
  page.Clear(PG_lru | PG_active);
  size_[list]--;
}

}  // namespace rmaplab
