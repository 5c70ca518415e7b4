// memory.cc: page faults, PTE teardown and fork's page-table copy
// (mm/memory.c: do_anonymous_page, do_wp_page, wp_can_reuse_anon_folio,
// zap_pte_range, copy_present_pte; mm/mprotect.c: change_pte_range).
//
// Invariants kept here:
//  (1) a writable PTE of a private vma maps a PageAnonExclusive page;
//  (2) every change to a PTE that maps a page changes page->mapcount and
//      page->refcount with it, and tells the reverse map (anon pages);
//  (3) the zero page is mapped read-only, never counted, never in an rmap.
#include "core/kernel.h"

namespace rmaplab {

Errno Kernel::CheckAccess(const Vma* vma, uint64_t addr, bool write) const {
  if (!vma || addr < vma->start) return Errno::kEFAULT;
  // x86: a writable page is readable too; an exec-only page is not (with
  // protection keys, PROT_EXEC alone is execute-only, as on this kernel).
  uint32_t need = write ? VM_WRITE : (VM_READ | VM_WRITE);
  return (vma->flags & need) ? Errno::kOk : Errno::kEFAULT;
}

Errno Kernel::AnonVmaPrepare(Mm& mm, Vma& vma) {
  if (!vma.anon_vma) rmap_->AnonVmaPrepare(vma, mm.Prev(vma), mm.Next(vma));
  return Errno::kOk;
}

// A new exclusive anonymous page at (vma, addr) holding `content`.
static constexpr uint32_t kNewAnonFlags = PG_anon | PG_anon_exclusive | PG_dirty | PG_lru;

Errno Kernel::AnonFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte) {
  stats_.page_faults++;
  if (!write) {
    pte = Pte::Present(kZeroPfn, false, false, true);
    stats_.zero_page_maps++;
    return Errno::kOk;
  }
  AnonVmaPrepare(mm, vma);
  Result<Pfn> pfn = AllocPage();
  if (!pfn.ok()) return Errno::kENOMEM;
  Page& page = Frame(pfn.value());
  page.flags = kNewAnonFlags;
  rmap_->AddNewAnonRmap(pfn.value(), page, vma, addr, true);
  page.mapcount = 1;
  page.refcount = 1;
  pte = Pte::Present(pfn.value(), true, true, true);
  return Errno::kOk;
}

// do_wp_page() on a private vma: reuse the page if we hold the only
// reference, else copy it (wp_page_copy).
Errno Kernel::WpFault(Mm& mm, Vma& vma, uint64_t addr, Pte& pte) {
  stats_.page_faults++;
  Pfn old = pte.pfn();
  if (old != kZeroPfn) {
    Page& page = Frame(old);
    if (page.Test(PG_anon_exclusive)) {
      pte = Pte::Present(old, true, true, true);
      stats_.cow_reuses++;
      return Errno::kOk;
    }
    // wp_can_reuse_anon_folio(): only our mapping holds a reference.
    if (!page.Test(PG_ksm) && page.refcount == 1 && !page.Test(PG_swapcache)) {
      rmap_->MoveAnonRmap(old, page, vma, addr);
      page.Set(PG_anon_exclusive);
      pte = Pte::Present(old, true, true, true);
      stats_.cow_reuses++;
      return Errno::kOk;
    }
  }
  AnonVmaPrepare(mm, vma);
  Result<Pfn> pfn = AllocPage();
  if (!pfn.ok()) return Errno::kENOMEM;
  Page& fresh = Frame(pfn.value());
  fresh.flags = kNewAnonFlags;
  fresh.content = old == kZeroPfn ? 0 : Frame(old).content;
  rmap_->AddNewAnonRmap(pfn.value(), fresh, vma, addr, true);
  fresh.mapcount = 1;
  fresh.refcount = 1;
  if (old != kZeroPfn) {
    Page& page = Frame(old);
    rmap_->RemoveRmap(old, page, vma, addr);
    page.mapcount--;
    PutPage(old);
    stats_.cow_copies++;
  }
  pte = Pte::Present(pfn.value(), true, true, true);
  return Errno::kOk;
}

// shmem_fault() + finish_fault(): map the object's page, allocating it.
Errno Kernel::ShmemFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte) {
  ShmemObject& obj = *vma.shmem;
  uint64_t pgoff = vma.LinearPageIndex(addr);
  if (pgoff >= obj.size_pages) return Errno::kEFAULT;  // SIGBUS past i_size
  stats_.page_faults++;
  Pte& slot = obj.pages[pgoff];
  if (!slot.present()) {
    Result<Pfn> pfn = AllocPage();
    if (!pfn.ok()) return Errno::kENOMEM;
    Page& page = Frame(pfn.value());
    page.flags = PG_shmem | PG_lru;
    page.mapping = obj.id;
    page.index = pgoff;
    page.refcount = 1;  // the page cache's reference
    slot = Pte::Present(pfn.value(), false, false, false);
  }
  Page& page = Frame(slot.pfn());
  page.mapcount++;
  page.refcount++;
  pte = Pte::Present(slot.pfn(), vma.flags & VM_WRITE, write, true);
  return Errno::kOk;
}

// handle_mm_fault() for one page, access already checked.  On success
// *out is the PTE now mapping the page.
Errno Kernel::HandleFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte** out) {
  Pte& pte = mm.pt.Ensure(addr);
  Errno e = Errno::kOk;
  if (pte.none()) {
    e = vma.shmem ? ShmemFault(mm, vma, addr, write, pte)
                  : AnonFault(mm, vma, addr, write, pte);
  } else if (pte.is_swap()) {
    message_ = "swap-in is not supported yet";
    e = Errno::kENOSYS;
  } else if (write && !pte.write()) {
    if (vma.shmem) {
      stats_.page_faults++;  // wp_page_shared
      pte.v |= Pte::kWrite | Pte::kDirty | Pte::kYoung;
    } else {
      e = WpFault(mm, vma, addr, pte);
    }
  } else {
    pte.v |= Pte::kYoung | (write ? Pte::kDirty : 0);
  }
  *out = &pte;
  return e;
}

Errno Kernel::ReadPage(Mm& mm, uint64_t addr) {
  Vma* vma = mm.FindVma(addr);
  if (Errno e = CheckAccess(vma, addr, false); e != Errno::kOk) return e;
  Pte* pte;
  return HandleFault(mm, *vma, addr, false, &pte);
}

Errno Kernel::WritePage(Mm& mm, uint64_t addr, uint64_t value) {
  Vma* vma = mm.FindVma(addr);
  if (Errno e = CheckAccess(vma, addr, true); e != Errno::kOk) return e;
  Pte* pte;
  Errno e = HandleFault(mm, *vma, addr, true, &pte);
  if (e == Errno::kOk) Frame(pte->pfn()).content = value;
  return e;
}

// zap_pte_range() for one PTE.
void Kernel::ZapPte(Vma& vma, uint64_t addr, Pte& pte) {
  if (pte.present() && pte.pfn() != kZeroPfn) {
    Pfn pfn = pte.pfn();
    Page& page = Frame(pfn);
    if (page.Test(PG_anon)) rmap_->RemoveRmap(pfn, page, vma, addr);
    page.mapcount--;
    PutPage(pfn);
  }
  pte = Pte{};
}

void Kernel::ZapRange(Mm& mm, Vma& vma, uint64_t start, uint64_t end) {
  mm.pt.ForEach(start, end, [&](uint64_t addr, Pte& pte) { ZapPte(vma, addr, pte); });
}

// copy_page_range() for a private vma with an anon_vma: share every page
// with the child, write-protected in both; copy a maybe-pinned exclusive
// page instead, so DMA through the pin stays with the parent.
void Kernel::CopyPageRange(Vma& dst, Vma& src) {
  Mm& child = *dst.mm;
  bool parent_pinned = src.mm->has_pinned;
  src.mm->pt.ForEach(src.start, src.end, [&](uint64_t addr, Pte& spte) {
    stats_.fork_ptes++;
    Pte& dpte = child.pt.Ensure(addr);
    if (!spte.present()) return;  // swap entries: not modelled yet
    Pfn pfn = spte.pfn();
    if (pfn == kZeroPfn) {
      dpte = spte;
      return;
    }
    Page& page = Frame(pfn);
    if (page.Test(PG_anon_exclusive) && parent_pinned && page.MaybeDmaPinned()) {
      Result<Pfn> copy = AllocPage();
      if (!copy.ok()) return;  // the child just lacks the page (fork would fail)
      Page& fresh = Frame(copy.value());
      fresh.flags = kNewAnonFlags;
      fresh.content = page.content;
      rmap_->AddNewAnonRmap(copy.value(), fresh, dst, addr, true);
      fresh.mapcount = 1;
      fresh.refcount = 1;
      dpte = Pte::Present(copy.value(), dst.flags & VM_WRITE, true, true);
      stats_.fork_copies++;
      return;
    }
    page.Clear(PG_anon_exclusive);
    rmap_->DupAnonRmap(pfn, page, dst, addr);
    page.mapcount++;
    page.refcount++;
    spte.v &= ~Pte::kWrite;
    dpte.v = spte.v & ~Pte::kYoung;
  });
}

// change_pte_range(): write-protect, or make writable what a write fault
// would make writable without copying (can_change_pte_writable).
void Kernel::ChangeProtection(Mm& mm, Vma& vma, uint64_t start, uint64_t end) {
  bool writable = vma.flags & VM_WRITE;
  mm.pt.ForEach(start, end, [&](uint64_t, Pte& pte) {
    if (!pte.present()) return;
    if (!writable) {
      pte.v &= ~Pte::kWrite;
      return;
    }
    if (pte.write() || pte.pfn() == kZeroPfn) return;
    const Page& page = Frame(pte.pfn());
    bool ok = vma.shmem ? pte.dirty()
                        : (page.Test(PG_anon) && page.Test(PG_anon_exclusive));
    if (ok) pte.v |= Pte::kWrite;
  });
}

}  // namespace rmaplab
