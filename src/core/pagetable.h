// pagetable.h: one mm's page tables.
//
// Leaf tables of 512 PTEs (one per 2 MiB, like a PMD's PTE page) in an
// ordered map keyed by address >> 21.  Invariants:
//  (1) a leaf exists only while some PTE in it is not none (FreeEmpty
//      removes the others, as free_pgtables does);
//  (2) PTE values are plain data: references they hold (pages, swap slots)
//      are accounted by the caller.
#ifndef RMAPLAB_CORE_PAGETABLE_H_
#define RMAPLAB_CORE_PAGETABLE_H_

#include <cstdint>
#include <map>
#include <memory>

#include "core/page.h"

namespace rmaplab {

class PageTable {
 public:
  static constexpr int kLeafShift = 21;
  static constexpr uint64_t kLeafEntries = 512;

  // The PTE at `addr`, none if no leaf covers it.
  Pte Get(uint64_t addr) const {
    const Leaf* l = FindLeaf(addr >> kLeafShift);
    return l ? l->pte[Slot(addr)] : Pte{};
  }
  // A reference to the PTE at `addr`, allocating its leaf.
  Pte& Ensure(uint64_t addr);
  // Pointer to the PTE at `addr`, or nullptr if no leaf covers it.
  Pte* Find(uint64_t addr) {
    Leaf* l = FindLeaf(addr >> kLeafShift);
    return l ? &l->pte[Slot(addr)] : nullptr;
  }

  // Calls fn(addr, Pte&) for every PTE that is not none in [start, end).
  template <typename Fn>
  void ForEach(uint64_t start, uint64_t end, Fn&& fn);
  template <typename Fn>
  void ForEach(uint64_t start, uint64_t end, Fn&& fn) const;

  // Drops leaves in [start, end) whose PTEs are all none.
  void FreeEmpty(uint64_t start, uint64_t end);
  void Clear() { leaves_.clear(); last_key_ = ~0ULL; last_ = nullptr; }

  size_t leaf_count() const { return leaves_.size(); }
  uint64_t bytes() const { return leaves_.size() * sizeof(Leaf); }

 private:
  struct Leaf {
    Pte pte[kLeafEntries];
  };
  static size_t Slot(uint64_t addr) { return (addr >> 12) & (kLeafEntries - 1); }
  Leaf* FindLeaf(uint64_t key) const;

  std::map<uint64_t, std::unique_ptr<Leaf>> leaves_;
  mutable uint64_t last_key_ = ~0ULL;
  mutable Leaf* last_ = nullptr;
};

template <typename Fn>
void PageTable::ForEach(uint64_t start, uint64_t end, Fn&& fn) {
  if (start >= end) return;
  auto it = leaves_.lower_bound(start >> kLeafShift);
  for (; it != leaves_.end(); ++it) {
    uint64_t base = it->first << kLeafShift;
    if (base >= end) break;
    uint64_t lo = base < start ? start : base;
    uint64_t leaf_end = base + (kLeafEntries << 12);
    uint64_t hi = leaf_end < end ? leaf_end : end;
    Leaf& leaf = *it->second;
    for (uint64_t a = lo; a < hi; a += 4096) {
      Pte& p = leaf.pte[Slot(a)];
      if (!p.none()) fn(a, p);
    }
  }
}

template <typename Fn>
void PageTable::ForEach(uint64_t start, uint64_t end, Fn&& fn) const {
  const_cast<PageTable*>(this)->ForEach(
      start, end, [&](uint64_t a, Pte& p) { fn(a, static_cast<const Pte&>(p)); });
}

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_PAGETABLE_H_
