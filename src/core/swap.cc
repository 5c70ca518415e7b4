// swap.cc: slot allocation and the LRU lists (see swap.h).
#include "core/swap.h"

namespace rmaplab {

uint64_t SwapArea::Alloc() {
  uint64_t s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    if (slots_.size() >= limit_) return UINT64_MAX;
    s = slots_.size();
    slots_.emplace_back();
  }
  slots_[s] = SwapSlot{};
  slots_[s].used = true;
  used_++;
  return s;
}

void SwapArea::Free(uint64_t s) {
  slots_[s] = SwapSlot{};
  free_.push_back(s);
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
