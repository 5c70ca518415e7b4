// pagetable.cc: leaf allocation and freeing for PageTable.
#include "core/pagetable.h"

namespace rmaplab {

PageTable::Leaf* PageTable::FindLeaf(uint64_t key) const {
  if (key == last_key_) return last_;
  auto it = leaves_.find(key);
  if (it == leaves_.end()) return nullptr;
  last_key_ = key;
  last_ = it->second.get();
  return last_;
}

Pte& PageTable::Ensure(uint64_t addr) {
  uint64_t key = addr >> kLeafShift;
  Leaf* l = FindLeaf(key);
  if (!l) {
    auto leaf = std::make_unique<Leaf>();
    l = leaf.get();
    leaves_.emplace(key, std::move(leaf));
    last_key_ = key;
    last_ = l;
  }
  return l->pte[Slot(addr)];
}

void PageTable::FreeEmpty(uint64_t start, uint64_t end) {
  if (start >= end) return;
  auto it = leaves_.lower_bound(start >> kLeafShift);
  while (it != leaves_.end() && (it->first << kLeafShift) < end) {
    bool empty = true;
    for (const Pte& p : it->second->pte) {
      if (!p.none()) {
        empty = false;
        break;
      }
    }
    if (empty) {
      if (it->second.get() == last_) {
        last_ = nullptr;
        last_key_ = ~0ULL;
      }
      it = leaves_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace rmaplab
