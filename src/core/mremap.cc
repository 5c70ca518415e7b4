// mremap.cc: mm/mremap.c: shrink, grow in place, move (one VMA or, when
// the size does not change, every VMA in the range, as Linux 6.17+ does).
//
// A moved vma keeps vm_pgoff (so page->index stays valid for anon_vma
// designs) unless it never had an anon_vma, in which case vm_pgoff is reset
// to the new address to help it merge (copy_vma).  The new vma merges with
// its new neighbours by the usual rules, so moving a piece away and back
// re-merges it.
//
// Invariant: PTEs move with their pages; mapcounts do not change, except
// where the design asks for a copy (MoveAction::kCopy).
#include <algorithm>
#include <utility>

#include "core/kernel.h"

namespace rmaplab {

Errno Kernel::Mremap(Mm& mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
                     bool fixed, uint64_t new_addr) {
  if (fixed) {
    if (addr + old_len > new_addr && new_addr + new_len > addr)
      return Errno::kEINVAL;  // the ranges overlap
    if (old_len == new_len) return MremapMoveOnly(mm, addr, old_len, new_addr);
    return MremapTo(mm, addr, old_len, new_len, new_addr);
  }
  Vma* vma = mm.VmaLookup(addr);
  if (!vma) return Errno::kEFAULT;
  if (new_len == old_len) return Errno::kOk;
  if (new_len < old_len) return DoMunmap(mm, addr + new_len, addr + old_len);
  if (old_len > vma->end - addr) return Errno::kEFAULT;
  return MremapExpandInPlace(mm, *vma, addr, old_len, new_len);
}

// expand_vma() without MREMAP_MAYMOVE: only if [addr, addr+old_len) runs
// to the vma's end and the space after it is free.
Errno Kernel::MremapExpandInPlace(Mm& mm, Vma& vma, uint64_t addr,
                                  uint64_t old_len, uint64_t new_len) {
  uint64_t delta = new_len - old_len;
  if (vma.end - addr != old_len) return Errno::kENOMEM;
  uint64_t end = vma.end + delta;
  if (end > kUserMax || end < vma.end) return Errno::kENOMEM;
  Vma* next = mm.FindVma(vma.end);
  if (next && next->start < end) return Errno::kENOMEM;
  // vma_merge_extend(): vma_merge_new_range() of [vma.end, end) with vma
  // as prev and the next vma as next.  The left merge always succeeds (the
  // range continues vma exactly); when the new end touches a compatible next
  // vma, that one is merged in too, as for a new mapping.
  MergeArgs m;
  m.prev = &vma;
  m.next = next;
  m.start = vma.end;
  m.end = end;
  m.pgoff = vma.pgoff + vma.pages();
  m.flags = vma.flags;
  m.file = vma.shmem;
  m.anon_vma = vma.anon_vma.get();
  if (!MergeNewRange(mm, m)) return Errno::kENOMEM;
  return Errno::kOk;
}

// remap_move(): move every vma in [addr, addr+len), keeping the gaps.
Errno Kernel::MremapMoveOnly(Mm& mm, uint64_t addr, uint64_t len,
                             uint64_t new_addr) {
  uint64_t end = addr + len;
  uint64_t target = new_addr;
  uint64_t last_end = 0;
  bool seen = false;
  uint64_t cur = addr;
  for (;;) {
    Vma* vma = mm.FindVma(cur);
    if (!vma || vma->start >= end) break;
    if (!seen && addr < vma->start) return Errno::kEFAULT;
    uint64_t a = std::max(vma->start, addr);
    uint64_t l = std::min(end, vma->end) - a;
    uint64_t offset = seen ? vma->start - last_end : 0;
    last_end = vma->end;
    if (Errno e = MremapTo(mm, a, l, l, target + offset); e != Errno::kOk)
      return e;
    seen = true;
    target += offset + l;
    cur = a + l;
  }
  return seen ? Errno::kOk : Errno::kEFAULT;
}

// mremap_to(): MREMAP_MAYMOVE|MREMAP_FIXED for one vma.
Errno Kernel::MremapTo(Mm& mm, uint64_t addr, uint64_t old_len,
                       uint64_t new_len, uint64_t new_addr) {
  Vma* vma = mm.VmaLookup(addr);
  if (!vma) return Errno::kEFAULT;
  if (std::min(old_len, new_len) > vma->end - addr) return Errno::kEFAULT;
  if (Errno e = DoMunmap(mm, new_addr, new_addr + new_len); e != Errno::kOk)
    return e;
  if (new_len < old_len) {
    if (Errno e = DoMunmap(mm, addr + new_len, addr + old_len); e != Errno::kOk)
      return e;
    old_len = new_len;
  }
  vma = mm.VmaLookup(addr);
  if (!vma) return Errno::kEFAULT;
  return MoveVma(mm, *vma, addr, old_len, new_len, new_addr);
}

// move_vma(): copy the vma to the new place, move the PTEs, unmap the old.
Errno Kernel::MoveVma(Mm& mm, Vma& vma, uint64_t old_addr, uint64_t old_len,
                      uint64_t new_len, uint64_t new_addr) {
  if (mm.map_count() >= kMaxMapCount - 3) return Errno::kENOMEM;
  // prep_move_vma(): break KSM pages in the range, but keep VM_MERGEABLE.
  uint32_t flags = vma.flags;
  if (Errno e = KsmMadvise(mm, vma, old_addr, old_addr + old_len,
                           Advice::kUnmergeable, &flags);
      e != Errno::kOk)
    return e;
  uint64_t new_pgoff = vma.pgoff + ((old_addr - vma.start) >> kPageShift);
  Result<Vma*> nv = CopyVma(mm, vma, new_addr, new_len, new_pgoff);
  if (!nv.ok()) return Errno::kENOMEM;
  // The source may have been merged into the new vma (unfaulted vma moved
  // next to itself): look it up again.
  Vma* src = mm.VmaLookup(old_addr);
  MovePageTables(mm, *src, old_addr, *nv.value(), new_addr, old_len);
  return DoMunmap(mm, old_addr, old_addr + old_len);
}

// copy_vma(): a vma for [addr, addr+len) like `vma`, merged with its new
// neighbours if the rules allow.
Result<Vma*> Kernel::CopyVma(Mm& mm, Vma& vma, uint64_t addr, uint64_t len,
                             uint64_t pgoff) {
  if (vma.is_anonymous() && !vma.anon_vma) pgoff = addr >> kPageShift;
  Vma* next = mm.FindVma(addr);
  MergeArgs m;
  m.prev = next ? mm.Prev(*next)
                : (mm.vmas.empty() ? nullptr : mm.vmas.rbegin()->second.get());
  m.next = next;
  m.start = addr;
  m.end = addr + len;
  m.pgoff = pgoff;
  m.flags = vma.flags;
  m.file = vma.shmem;
  m.anon_vma = vma.anon_vma.get();
  m.copied_from = &vma;
  if (Vma* merged = MergeNewRange(mm, m)) return merged;
  auto copy = std::make_unique<Vma>(vma);
  copy->start = addr;
  copy->end = addr + len;
  copy->pgoff = pgoff;
  Vma* nv = InsertVma(mm, std::move(copy));
  rmap_->AnonVmaClone(*nv, vma);
  ShmemLink(*nv);
  return nv;
}

// Asks the design whether the PTE can move as it is.
bool Kernel::MoveNeedsCopy(Vma& from, uint64_t a, Vma& to, uint64_t na,
                           Pte pte) {
  if (pte.is_swap()) {
    const SwapSlot& s = swap_.slot(pte.swp_offset());
    if (s.ksm) return false;  // its page comes back by ksm_might_need_to_copy()
    return rmap_->MoveSwapPte(from, a, to, na, s.count,
                              s.cache ? &Frame(s.cache) : nullptr) ==
           MoveAction::kCopy;
  }
  if (!pte.present() || pte.pfn() == kZeroPfn ||
      !Frame(pte.pfn()).Test(PG_anon))
    return false;
  if (Frame(pte.pfn()).Test(PG_ksm)) {
    KsmMovePte(Frame(pte.pfn()), from, a, to, na);
    return false;
  }
  return rmap_->MovePte(pte.pfn(), Frame(pte.pfn()), from, a, to, na) ==
         MoveAction::kCopy;
}

// move_page_tables() / move_ptes().
void Kernel::MovePageTables(Mm& mm, Vma& from, uint64_t old_addr, Vma& to,
                            uint64_t new_addr, uint64_t len) {
  // One PTE at a time, as move_ptes() does under the rmap locks: a copy's
  // allocation may reclaim, and reclaim's rmap walks must find every PTE
  // not yet moved where it was, as it is now (present, or swapped out by
  // that reclaim).  The ranges never overlap (mremap_to).
  // move_huge_pmd(): a PMD mapping the range holds whole, moving to a
  // 2 MiB aligned address, moves as a PMD; others are split.  The model
  // moves the 512 PTEs one by one like any others (so the design sees each
  // page move) and makes them a PMD again at the new place.
  std::vector<uint64_t> refold;
  for (uint64_t b = old_addr & ~(kPmdSize - 1); b < old_addr + len;
       b += kPmdSize) {
    const Pte* p = mm.pt.Find(b);
    if (!p || !p->pmd()) continue;
    uint64_t nb = new_addr + (b - old_addr);
    bool whole =
        b >= old_addr && b + kPmdSize <= old_addr + len && !(nb % kPmdSize);
    SplitHugePmd(mm, b, !whole);
    if (whole) refold.push_back(nb);
  }
  std::vector<uint64_t> addrs;
  mm.pt.ForEach(old_addr, old_addr + len,
                [&](uint64_t a, const Pte&) { addrs.push_back(a); });
  for (uint64_t a : addrs) {
    Pte* slot = mm.pt.Find(a);
    if (!slot || slot->none()) continue;
    Pte pte = std::exchange(*slot, Pte{});
    uint64_t na = new_addr + (a - old_addr);
    if (MoveNeedsCopy(from, a, to, na, pte)) {
      // The design cannot track the page at its new address: give the new
      // place its own copy (Linus' copy_one_pte remedy).
      Pfn copy;
      uint64_t content = pte.is_swap() ? SwapContent(pte.swp_offset())
                                       : Frame(pte.pfn()).content;
      if (pte.present()) Frame(pte.pfn()).Set(PG_locked);
      Errno e = NewAnonPage(mm, to, na, content, &copy);
      if (pte.present()) Frame(pte.pfn()).Clear(PG_locked);
      if (e == Errno::kOk) {
        ZapPte(from, a, pte);
        pte = Pte::Present(copy, to.flags & VM_WRITE, true, true);
        stats_.wasted_pages++;
      }
    }
    mm.pt.Ensure(na) = pte;
  }
  for (uint64_t nb : refold) RefoldHugePmd(mm, nb);
  mm.pt.FreeEmpty(old_addr, old_addr + len);
}

}  // namespace rmaplab
