// memory.cc: page faults, PTE teardown and fork's page-table copy; the
// large-folio cases call into huge_memory.cc
// (mm/memory.c: do_anonymous_page, do_wp_page, wp_can_reuse_anon_folio,
// do_swap_page, zap_pte_range, copy_present_pte, copy_nonpresent_pte;
// mm/mprotect.c: change_pte_range).
//
// Invariants kept here:
//  (1) a writable PTE of a private vma maps a PageAnonExclusive page;
//  (2) every change to a PTE that maps a page changes page->mapcount and
//      page->refcount with it, and tells the reverse map (anon pages);
//      every change to a swap PTE changes its slot's count with it;
//  (3) the zero page is mapped read-only, never counted, never in an rmap;
//  (4) a page a fault is working on carries PG_locked, so direct reclaim
//      under that fault leaves it alone (the kernel's folio lock).
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

Errno Kernel::CheckAccess(const Vma* vma, uint64_t addr, bool write) const {
  if (!vma || addr < vma->start) return Errno::kEFAULT;
  // x86: a writable page is readable too; an exec-only page is readable
  // only without protection keys (with PKU, PROT_EXEC alone is
  // execute-only).
  uint32_t need =
      write ? VM_WRITE
            : (VM_READ | VM_WRITE | (opts_.pku ? 0u : uint32_t{VM_EXEC}));
  return (vma->flags & need) ? Errno::kOk : Errno::kEFAULT;
}

Errno Kernel::AnonFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte) {
  stats_.page_faults++;
  if (!write) {
    pte = Pte::Present(kZeroPfn, false, false, true);
    stats_.zero_page_maps++;
    return Errno::kOk;
  }
  Pfn pfn;
  if (Errno e = NewAnonPage(mm, vma, addr, 0, &pfn); e != Errno::kOk) return e;
  pte = Pte::Present(pfn, true, true, true);
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
    // wp_can_reuse_anon_folio(): only our mapping holds a reference, once
    // an unused swap-cache copy is dropped; for a large folio, every
    // reference is a mapping of this mm.
    if (!page.large() && !page.Test(PG_ksm) && page.Test(PG_swapcache) &&
        page.refcount == 2)
      FolioFreeSwap(old);
    if (page.large() ? WpCanReuseLargeFolio(FolioHead(old))
                     : !page.Test(PG_ksm) && page.refcount == 1) {
      rmap_->MoveAnonRmap(old, page, vma, addr);
      page.Set(PG_anon_exclusive);
      pte = Pte::Present(old, true, true, true);
      stats_.cow_reuses++;
      return Errno::kOk;
    }
  }
  uint64_t content = old == kZeroPfn ? 0 : Frame(old).content;
  if (old != kZeroPfn) Frame(old).Set(PG_locked);
  Pfn fresh;
  Errno e = NewAnonPage(mm, vma, addr, content, &fresh);
  if (old != kZeroPfn) {
    Page& page = Frame(old);
    page.Clear(PG_locked);
    if (e != Errno::kOk) return e;
    FolioRemoveRmapPte(old, page, vma, addr);
    page.mapcount--;
    if (page.large()) FolioPteUnmapped(old, mm);
    PutPage(old);
    stats_.cow_copies++;
  }
  if (e != Errno::kOk) return e;
  pte = Pte::Present(fresh, true, true, true);
  return Errno::kOk;
}

// do_fault_around() + filemap_map_pages(): a read fault on a shmem vma
// first maps, read-only, every page of the object already in its cache
// within the fault_around_bytes window (64 KiB: 16 PTEs, aligned, clamped
// to the vma and the page table) whose PTE is none.  So after one process
// faults a shmem page in, a read fault by another on a neighbour maps that
// page too (visible in pagemap as present, and as shared).
void Kernel::ShmemFaultAround(Mm& mm, Vma& vma, uint64_t addr) {
  constexpr uint64_t kFaultAroundPages = 16, kPtrsPerPte = 512;
  const ShmemObject& obj = *vma.shmem;
  uint64_t pte_off = (addr >> kPageShift) % kPtrsPerPte;
  uint64_t vma_off = (addr - vma.start) >> kPageShift;
  uint64_t vma_pages = (vma.end - vma.start) >> kPageShift;
  uint64_t from = std::max(pte_off / kFaultAroundPages * kFaultAroundPages,
                           pte_off - std::min(pte_off, vma_off));
  uint64_t to = std::min(
      {from + kFaultAroundPages, kPtrsPerPte, pte_off + vma_pages - vma_off});
  uint64_t table = addr - pte_off * kPageSize;
  for (uint64_t i = from; i < to; ++i) {
    uint64_t a = table + i * kPageSize;
    uint64_t pgoff = vma.LinearPageIndex(a);
    if (a == addr || pgoff >= obj.size_pages) continue;
    auto it = obj.pages.find(pgoff);
    if (it == obj.pages.end() || !it->second.present()) continue;
    Pte& pte = mm.pt.Ensure(a);
    if (!pte.none()) continue;
    Page& page = Frame(it->second.pfn());
    page.mapcount++;
    page.refcount++;
    pte = Pte::Present(it->second.pfn(), false, false, true);
  }
}

// shmem_fault() + finish_fault(): map the object's page, allocating it or
// reading it back from swap.
Errno Kernel::ShmemFault(Mm& mm, Vma& vma, uint64_t addr, bool write,
                         Pte& pte) {
  ShmemObject& obj = *vma.shmem;
  uint64_t pgoff = vma.LinearPageIndex(addr);
  if (pgoff >= obj.size_pages) return Errno::kEFAULT;  // SIGBUS past i_size
  stats_.page_faults++;
  if (!write) ShmemFaultAround(mm, vma, addr);
  Pte entry = obj.pages.count(pgoff) ? obj.pages[pgoff] : Pte{};
  if (!entry.present()) {
    Pfn pfn = AllocPage();
    if (pfn == kNoFrame) return Errno::kENOMEM;
    Page& page = Frame(pfn);
    page.flags = PG_shmem;
    page.mapping = obj.id;
    page.index = pgoff;
    page.refcount = 1;  // the page cache's reference
    if (entry.is_swap()) {
      page.Set(PG_dirty);  // shmem_swapin_folio(): the swap copy is freed
      page.content = swap_.slot(entry.swp_offset()).content;
      stats_.pswpin++;
      SwapFree(entry.swp_offset());
    }
    lru_.AddHead(page, pfn, Lru::kInactive);
    entry = Pte::Present(pfn, false, false, false);
    obj.pages[pgoff] = entry;
  }
  Page& page = Frame(entry.pfn());
  page.mapcount++;
  page.refcount++;
  pte = Pte::Present(entry.pfn(), vma.flags & VM_WRITE, write, true);
  return Errno::kOk;
}

// handle_mm_fault() for one page, access already checked.  On success
// *out is the PTE now mapping the page.
Errno Kernel::HandleFault(Mm& mm, Vma& vma, uint64_t addr, bool write,
                          Pte** out) {
  if (thp_.AllowedOrders(vma)) {
    const Pte* cur = mm.pt.Find(addr);
    if (!cur || cur->none()) {
      bool done = false;
      Errno e = LargeAnonFault(mm, vma, addr, write, &done);
      if (e != Errno::kOk || done) {
        *out = mm.pt.Find(addr);
        return e;
      }
    }
  }
  Pte& pte = mm.pt.Ensure(addr);
  Errno e = Errno::kOk;
  if (pte.none()) {
    e = vma.shmem ? ShmemFault(mm, vma, addr, write, pte)
                  : AnonFault(mm, vma, addr, write, pte);
  } else if (pte.is_swap()) {
    e = SwapIn(mm, vma, addr, write, pte);
  } else if (write && !pte.write()) {
    if (vma.shmem) {
      stats_.page_faults++;  // wp_page_shared
      pte.v |= Pte::kWrite | Pte::kDirty | Pte::kYoung;
    } else {
      bool done = false;
      if (pte.pmd()) e = HugePmdWpFault(mm, vma, addr, &done);
      if (e == Errno::kOk && !done) e = WpFault(mm, vma, addr, pte);
    }
  } else {
    pte.v |= Pte::kYoung | (write ? Pte::kDirty : 0);
  }
  *out = &pte;
  return e;
}

// do_swap_page().  A slot with one reference bypasses the swap cache, as
// zram (SWP_SYNCHRONOUS_IO) does, and may bring a whole mTHP back
// (SwapInOrder); a shared one goes through the swap cache.
Errno Kernel::SwapIn(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte) {
  if (int order = SwapInOrder(mm, vma, addr, pte))
    if (SwapInFolio(mm, vma, addr, write, order)) return Errno::kOk;
  stats_.page_faults++;
  uint64_t slot = pte.swp_offset();
  bool fresh = false;
  Result<Pfn> got = ReadSwapPage(slot, &fresh);
  if (!got.ok()) return Errno::kENOMEM;
  Pfn pfn = got.value();
  if (KsmNeedsCopy(slot, pfn)) {
    Result<Pfn> copy = KsmCopySwapPage(mm, vma, addr, pfn);
    if (!copy.ok()) return Errno::kENOMEM;
    FreeSwapAndCache(slot);  // an unmapped cache page goes with the last user
    bool writable = vma.flags & VM_WRITE;
    pte = Pte::Present(copy.value(), writable, writable && write, true);
    return Errno::kOk;
  }
  Page& page = Frame(pfn);
  GetPage(pfn);  // the fault's own reference, as in the kernel
  bool exclusive =
      !page.Test(PG_ksm) && (fresh || (pte.v & Pte::kSwpExclusive));
  bool was_anon = page.Test(PG_anon);
  SwapFree(slot);
  if (page.Test(PG_swapcache) && write && !page.Test(PG_ksm) &&
      page.refcount == 2)
    FolioFreeSwap(pfn);  // should_try_to_free_swap()
  bool map_exclusive = !page.Test(PG_ksm) && (exclusive || page.refcount == 1);
  AnonVmaPrepare(mm, vma);
  if (!was_anon) {
    page.Set(PG_anon);
    rmap_->AddNewAnonRmap(pfn, page, vma, addr, map_exclusive);
  } else {
    FolioAddAnonRmapPte(pfn, page, vma, addr);
  }
  if (map_exclusive) page.Set(PG_anon_exclusive);
  page.mapcount++;  // the mapping takes over the fault's reference
  bool writable = map_exclusive && (vma.flags & VM_WRITE);
  pte = Pte::Present(pfn, writable, writable && write, true);
  if (write && !writable) return WpFault(mm, vma, addr, pte);
  return Errno::kOk;
}

// alloc_swap_folio(): the largest enabled order below PMD_ORDER whose
// aligned block around addr lies in the vma and whose PTEs are swap
// entries of consecutive slots, aligned as the addresses are
// (thp_swap_suitable_orders), with the same exclusive bit and none in the
// swap cache or written from a KSM page (can_swapin_thp); only for an
// entry this PTE alone holds.  0 if none: a 4 KiB page comes in.
int Kernel::SwapInOrder(Mm& mm, const Vma& vma, uint64_t addr, const Pte& pte) {
  uint64_t slot = pte.swp_offset();
  const SwapSlot& s = swap_.slot(slot);
  if (s.count != 1 || s.cache || s.ksm) return 0;
  uint32_t orders = thp_.AllowedOrders(vma) & ((1u << kPmdOrder) - 1);
  for (int order = kPmdOrder - 1; order >= kThpMinOrder; --order) {
    if (!(orders & (1u << order)) || !ThpSuitableOrder(vma, addr, order))
      continue;
    uint64_t nr = uint64_t{1} << order;
    uint64_t idx = (addr >> kPageShift) & (nr - 1);
    if (slot < idx || (slot - idx) % nr) continue;
    uint64_t haddr = addr - idx * kPageSize, first = slot - idx;
    bool batch = true;
    for (uint64_t i = 0; i < nr && batch; ++i) {
      const Pte* p = mm.pt.Find(haddr + i * kPageSize);
      batch = p && p->is_swap() && p->swp_offset() == first + i &&
              (p->v & Pte::kSwpExclusive) == (pte.v & Pte::kSwpExclusive) &&
              !swap_.slot(first + i).cache && !swap_.slot(first + i).ksm;
    }
    if (batch) return order;
  }
  return 0;
}

// The rest of do_swap_page() for a large folio read around addr: a new
// exclusive anonymous folio of `order` (certainly exclusive: it never was
// in the swap cache) holds what the slots held and is mapped whole,
// writable only for a write fault; the slots lose this mm's references.
// False if no folio of that order is free (a 4 KiB page comes in).
bool Kernel::SwapInFolio(Mm& mm, Vma& vma, uint64_t addr, bool write,
                         int order) {
  Pfn head = AllocFolioFrames(order);
  if (head == kNoFrame) return false;
  uint64_t nr = uint64_t{1} << order;
  uint64_t haddr = addr & ~(nr * kPageSize - 1);
  uint64_t first = mm.pt.Find(haddr)->swp_offset();
  std::vector<uint64_t> content(nr);
  for (uint64_t i = 0; i < nr; ++i) {
    content[i] = swap_.slot(first + i).content;
    *mm.pt.Find(haddr + i * kPageSize) = Pte{};
    SwapFree(first + i);
  }
  MapNewAnonFolio(mm, vma, haddr, order, false, head);
  for (uint64_t i = 0; i < nr; ++i) {
    Frame(head + i).content = content[i];
    if (!write)
      mm.pt.Find(haddr + i * kPageSize)->v &= ~(Pte::kWrite | Pte::kDirty);
  }
  stats_.page_faults++;
  stats_.pswpin += nr;
  return true;
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
  if (pte.pmd()) {  // one page of a PMD mapping: split it first
    SplitHugePmd(*vma.mm, addr & ~((kPageSize << kPmdOrder) - 1));
    pte.v &= ~Pte::kPmd;
  }
  if (pte.present() && pte.pfn() != kZeroPfn) {
    Pfn pfn = pte.pfn();
    Page& page = Frame(pfn);
    if (page.Test(PG_anon)) FolioRemoveRmapPte(pfn, page, vma, addr);
    // zap_present_folio_ptes(): a file (shmem) page keeps the PTE's dirty bit.
    if (page.Test(PG_shmem) && pte.dirty()) page.Set(PG_dirty);
    page.mapcount--;
    if (page.large()) FolioPteUnmapped(pfn, *vma.mm);
    // free_pages_and_swap_cache(): an unmapped page drops its swap copy
    // once no swap PTE needs it.
    if (page.mapcount == 0 && page.Test(PG_swapcache) && !page.Test(PG_locked))
      FolioFreeSwap(pfn);
    PutPage(pfn);
  } else if (pte.is_swap()) {
    FreeSwapAndCache(pte.swp_offset());
  }
  pte = Pte{};
}

// zap_pmd_range(): a PMD mapping the range covers whole goes at once, one
// it cuts is split first.
void Kernel::ZapRange(Mm& mm, Vma& vma, uint64_t start, uint64_t end) {
  SplitHugePmdAt(mm, start);
  SplitHugePmdAt(mm, end);
  mm.pt.ForEach(start, end, [&](uint64_t addr, Pte& pte) {
    if (pte.pmd())
      ZapHugePmd(vma, addr);  // addr is the PMD's: its start was split
    else
      ZapPte(vma, addr, pte);
  });
}

// copy_page_range() for a private vma with an anon_vma: share every page
// with the child, write-protected in both; copy a maybe-pinned exclusive
// page instead, so DMA through the pin stays with the parent
// (copy_present_page; for a maybe-pinned large folio, every exclusive page
// of it, the parent keeping the folio).  Swap
// entries are shared too (swap_duplicate), and lose their exclusive bit.
Errno Kernel::CopyPageRange(Vma& dst, Vma& src) {
  Mm& child = *dst.mm;
  // --legacy-fork-cow: share pinned pages too, as before Linux 5.9.
  bool parent_pinned = src.mm->has_pinned && !opts_.legacy_fork_cow;
  Errno err = Errno::kOk;
  uint64_t pmd_end = 0;  // the rest of a PMD copy_huge_pmd() did
  src.mm->pt.ForEach(src.start, src.end, [&](uint64_t addr, Pte& spte) {
    if (err != Errno::kOk || addr < pmd_end) return;
    if (spte.pmd() && CopyHugePmd(dst, src, addr)) {
      pmd_end = addr + (kPageSize << kPmdOrder);
      return;
    }  // else -EAGAIN: the PMD was split, copy its PTEs
    stats_.fork_ptes++;
    Pte& dpte = child.pt.Ensure(addr);
    if (spte.is_swap()) {
      swap_.slot(spte.swp_offset()).count++;
      spte.v &= ~Pte::kSwpExclusive;
      dpte = spte;
      return;
    }
    Pfn pfn = spte.pfn();
    if (pfn == kZeroPfn) {
      dpte = spte;
      return;
    }
    Page& page = Frame(pfn);
    if (page.Test(PG_anon_exclusive) && parent_pinned &&
        FolioMaybeDmaPinned(pfn)) {  // folio_try_dup_anon_rmap_pte() fails
      Pfn copy;
      page.Set(PG_locked);
      err = NewAnonPage(child, dst, addr, page.content, &copy);
      page.Clear(PG_locked);
      if (err != Errno::kOk) return;  // fork fails with ENOMEM
      dpte = Pte::Present(copy, dst.flags & VM_WRITE, true, true);
      stats_.fork_copies++;
      return;
    }
    page.Clear(PG_anon_exclusive);
    FolioDupAnonRmapPte(pfn, page, dst, addr);
    page.mapcount++;
    page.refcount++;
    if (page.large()) FolioAddMapcount(FolioHead(pfn), child, 1);
    spte.v &= ~Pte::kWrite;
    dpte.v = spte.v & ~Pte::kYoung;
  });
  return err;
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
