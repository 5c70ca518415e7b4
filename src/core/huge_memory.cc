// huge_memory.cc: large folios (mm/huge_memory.c, alloc_anon_folio() and
// do_anonymous_page() in mm/memory.c, the large-folio half of mm/rmap.c):
// the fault that maps a PMD-mapped 2M THP, the huge zero page or a
// PTE-mapped mTHP folio; fork's copy_huge_pmd(); COW of a PMD mapping
// (do_huge_pmd_wp_page, do_huge_zero_wp_pmd); PMD splits
// (__split_huge_pmd) and folio splits (split_folio, the deferred split
// queue); the entire/large mapcounts and the mm_id exclusivity Linux keeps
// per folio (FolioInfo, folio_add/sub_return_large_mapcount).
//
// A PMD mapping is a page-table leaf whose 512 entries carry Pte::kPmd
// (mm_types.h); page by page it is counted as 512 PTEs, and once in
// FolioInfo::entire_mapcount.
//
// Invariants (checked by check/invariants.cc):
//  (1) folios_ holds exactly the large folios: every page of one carries
//      its order, the head is aligned, not every page's refcount is 0;
//  (2) entire_mapcount == the PMD mappings of the folio; large_mapcount ==
//      the PTE mappings (not kPmd) of its pages + entire_mapcount;
//  (3) maybe_mapped_shared clear => one mm maps the folio, and its slot
//      holds every mapping (folio_maybe_mapped_shared never says "no"
//      wrongly); a slot's count never exceeds that mm's mappings;
//  (4) a PMD mapping is 512 kPmd entries at a 2 MiB aligned address,
//      mapping the pages of one 2 MiB folio in order (or the huge zero
//      page); no other entry has kPmd;
//  (5) a folio that may be pinned (pincount > 0) is never split, and fork
//      never shares its exclusive pages (copy_huge_pmd splits the PMD).
// MADV_COLLAPSE (madvise_collapse, collapse_huge_page in
// mm/khugepaged.c) turns each 2 MiB block of an anonymous vma into a new
// PMD-mapped THP: swapped pages are swapped in, every page is copied (none
// and zero pages become zero-filled), the old pages are released.
#include <algorithm>
#include <vector>

#include "core/kernel.h"

namespace rmaplab {

std::string ThpSizeName(int order) {
  uint64_t kib = (kPageSize << order) >> 10;
  return kib >= 1024 ? std::to_string(kib >> 10) + "M"
                     : std::to_string(kib) + "K";
}

namespace {

// pte_range_none() over the naturally aligned block of `order` at addr.
bool PteRangeNone(const PageTable& pt, uint64_t addr, int order) {
  uint64_t size = kPageSize << order;
  uint64_t start = addr & ~(size - 1);
  bool none = true;
  pt.ForEach(start, start + size, [&](uint64_t, const Pte&) { none = false; });
  return none;
}

}  // namespace

int64_t Kernel::FolioRefCount(Pfn head) const {
  const Page* pages = &Frame(head);
  int nr = 1 << pages[0].order();
  int64_t sum = 0;
  for (int i = 0; i < nr; ++i) sum += pages[i].refcount;
  return sum - int64_t{nr - 1} * folios_.at(head).entire_mapcount;
}

// folio_add_return_large_mapcount().
void Kernel::FolioAddMapcount(Pfn head, const Mm& mm, int diff) {
  FolioInfo& f = folios_.at(head);
  f.large_mapcount += diff;
  if (f.mm_id[0] == mm.pid) {
    f.mm_id_mapcount[0] += diff;
  } else if (f.mm_id[1] == mm.pid) {
    f.mm_id_mapcount[1] += diff;
  } else if (f.mm_id[0] == 0) {
    f.mm_id[0] = mm.pid;
    f.mm_id_mapcount[0] = diff;
    if (f.large_mapcount != diff) f.maybe_mapped_shared = true;
  } else if (f.mm_id[1] == 0) {
    f.mm_id[1] = mm.pid;
    f.mm_id_mapcount[1] = diff;
    f.maybe_mapped_shared = true;  // slot 0 has mappings as well
  }
}

// folio_sub_return_large_mapcount().
void Kernel::FolioSubMapcount(Pfn head, const Mm& mm, int diff) {
  FolioInfo& f = folios_.at(head);
  f.large_mapcount -= diff;
  for (int s = 0; s < 2; ++s) {
    if (f.mm_id[s] != mm.pid) continue;
    f.mm_id_mapcount[s] -= diff;
    if (f.mm_id_mapcount[s] > 0) return;
    f.mm_id_mapcount[s] = 0;
    f.mm_id[s] = 0;
    break;
  }
  // One slot owning every mapping: exclusive again.
  if (f.mm_id_mapcount[0] == f.large_mapcount ||
      f.mm_id_mapcount[1] == f.large_mapcount)
    f.maybe_mapped_shared = false;
}

// deferred_split_folio(folio, partially_mapped = true).
static void DeferredSplitFolio(FolioInfo& f, int order, KernelStats& stats) {
  if (f.partially_mapped) return;
  f.partially_mapped = true;
  if (order == kPmdOrder) stats.thp_deferred_split_page++;
}

void Kernel::FolioPteUnmapped(Pfn pfn, const Mm& mm) {
  Pfn head = FolioHead(pfn);
  FolioSubMapcount(head, mm, 1);
  FolioInfo& f = folios_.at(head);
  // __folio_remove_rmap(): the page lost its last PTE while the folio
  // stays mapped, and no PMD maps it entirely (_nr_pages_mapped keeps
  // ENTIRELY_MAPPED: tests/traces/thp-swap-fork.trace).
  if (f.entire_mapcount == 0 && Frame(pfn).mapcount == 0 &&
      f.large_mapcount > 0)
    DeferredSplitFolio(f, Frame(pfn).order(), stats_);
}

// A new exclusive anonymous folio of `order` mapped whole at haddr: by a
// PMD (pmd) or by 2^order PTEs; a fault allocation.
Errno Kernel::NewAnonFolio(Mm& mm, Vma& vma, uint64_t haddr, int order,
                           bool pmd) {
  Pfn head = AllocFolioFrames(order);
  if (head == kNoFrame) return Errno::kENOMEM;
  MapNewAnonFolio(mm, vma, haddr, order, pmd, head);
  stats_.anon_fault_alloc[order]++;
  if (order == kPmdOrder) stats_.thp_fault_alloc++;
  return Errno::kOk;
}

// The frames [head, head + 2^order), just allocated, become an exclusive
// anonymous folio mapped whole at haddr, whose PTEs are none.
void Kernel::MapNewAnonFolio(Mm& mm, Vma& vma, uint64_t haddr, int order,
                             bool pmd, Pfn head) {
  AnonVmaPrepare(mm, vma);
  int nr = 1 << order;
  Page* pages = &Frame(head);
  for (int i = 0; i < nr; ++i) {
    pages[i].flags = PG_anon | PG_anon_exclusive | PG_dirty;
    pages[i].SetOrder(order);
    pages[i].content = 0;
  }
  folios_[head] = FolioInfo{};
  rmap_->AddNewAnonRmapFolio(head, pages, nr, vma, haddr, true);
  bool writable = vma.flags & VM_WRITE;
  for (int i = 0; i < nr; ++i) {
    pages[i].mapcount = 1;
    pages[i].refcount = 1;
    lru_.AddHead(pages[i], head + i, Lru::kInactive);
    Pte pte = Pte::Present(head + i, writable, true, true);
    if (pmd) pte.v |= Pte::kPmd;
    mm.pt.Ensure(haddr + i * kPageSize) = pte;
  }
  folios_.at(head).entire_mapcount = pmd ? 1 : 0;
  FolioAddMapcount(head, mm, pmd ? 1 : nr);
}

static void CountFallback(KernelStats& s, int order) {
  s.anon_fault_fallback[order]++;
  if (order == kPmdOrder) s.thp_fault_fallback++;
}

// __handle_mm_fault(): a PMD-order fault (do_huge_pmd_anonymous_page: a
// THP, or the huge zero page on a read) where no page table exists yet;
// else do_anonymous_page(), whose write fault takes the largest allowed
// order whose block lies in the vma with no PTE (alloc_anon_folio),
// falling back order by order.
Errno Kernel::LargeAnonFault(Mm& mm, Vma& vma, uint64_t addr, bool write,
                             bool* done) {
  *done = false;
  uint32_t orders = thp_.AllowedOrders(vma);
  if ((orders >> kPmdOrder & 1) && ThpSuitableOrder(vma, addr, kPmdOrder) &&
      !mm.pt.Find(addr)) {
    uint64_t haddr = addr & ~(kPmdSize - 1);
    AnonVmaPrepare(mm, vma);  // vmf_anon_prepare(), even for the zero page
    if (!write && thp_.use_zero_page()) {
      for (uint64_t i = 0; i < kPmdPages; ++i)
        mm.pt.Ensure(haddr + i * kPageSize).v =
            Pte::Present(kZeroPfn, false, false, true).v | Pte::kPmd;
      stats_.page_faults++;
      stats_.zero_page_maps++;
      *done = true;
      return Errno::kOk;
    }
    if (NewAnonFolio(mm, vma, haddr, kPmdOrder, true) == Errno::kOk) {
      stats_.page_faults++;
      *done = true;
      return Errno::kOk;
    }
    CountFallback(stats_, kPmdOrder);
  }
  if (!write) return Errno::kOk;
  int order = kPmdOrder - 1;
  for (; order >= kThpMinOrder; --order)
    if ((orders >> order & 1) && ThpSuitableOrder(vma, addr, order) &&
        PteRangeNone(mm.pt, addr, order))
      break;
  for (; order >= kThpMinOrder; --order) {
    if (!(orders >> order & 1) || !ThpSuitableOrder(vma, addr, order)) continue;
    uint64_t size = kPageSize << order;
    if (NewAnonFolio(mm, vma, addr & ~(size - 1), order, false) == Errno::kOk) {
      stats_.page_faults++;
      *done = true;
      return Errno::kOk;
    }
    CountFallback(stats_, order);
  }
  return Errno::kOk;
}

// wp_can_reuse_anon_folio() for a large folio
// (__wp_can_reuse_large_anon_folio): every reference is a mapping of this
// mm, and more than one page is mapped.
bool Kernel::WpCanReuseLargeFolio(Pfn head) const {
  const FolioInfo& f = folios_.at(head);
  if (f.large_mapcount <= 1 || f.maybe_mapped_shared) return false;
  return f.large_mapcount == FolioRefCount(head);
}

// do_huge_pmd_wp_page(): reuse the folio if it is exclusive (or only this
// PMD references it), replace the huge zero page with a THP
// (do_huge_zero_wp_pmd); else split the PMD and let the PTE fault COW one
// page.
Errno Kernel::HugePmdWpFault(Mm& mm, Vma& vma, uint64_t addr, bool* done) {
  uint64_t haddr = addr & ~(kPmdSize - 1);
  Pfn head = mm.pt.Find(haddr)->pfn();
  *done = false;
  if (head == kZeroPfn) {
    if (NewAnonFolio(mm, vma, haddr, kPmdOrder, true) == Errno::kOk) {
      stats_.page_faults++;
      *done = true;
      return Errno::kOk;
    }
    CountFallback(stats_, kPmdOrder);
    SplitHugePmd(mm, haddr);
    return Errno::kOk;
  }
  Page* pages = &Frame(head);
  if (!pages[0].Test(PG_anon_exclusive) && FolioRefCount(head) == 1) {
    for (int i = 0; i < kPmdPages; ++i) {
      rmap_->MoveAnonRmap(head + i, pages[i], vma, haddr + i * kPageSize);
      pages[i].Set(PG_anon_exclusive);
    }
  }
  if (!pages[0].Test(PG_anon_exclusive)) {
    SplitHugePmd(mm, haddr);
    return Errno::kOk;
  }
  for (uint64_t i = 0; i < kPmdPages; ++i)
    mm.pt.Find(haddr + i * kPageSize)->v |=
        Pte::kWrite | Pte::kDirty | Pte::kYoung;
  stats_.page_faults++;
  stats_.cow_reuses++;
  *done = true;
  return Errno::kOk;
}

// zap_huge_pmd().
void Kernel::ZapHugePmd(Vma& vma, uint64_t haddr) {
  Mm& mm = *vma.mm;
  Pfn head = mm.pt.Find(haddr)->pfn();
  for (uint64_t i = 0; i < kPmdPages; ++i)
    *mm.pt.Find(haddr + i * kPageSize) = Pte{};
  if (head == kZeroPfn) return;
  Page* pages = &Frame(head);
  rmap_->RemoveRmapPmd(head, pages, vma, haddr);
  FolioInfo& f = folios_.at(head);
  f.entire_mapcount--;
  FolioSubMapcount(head, mm, 1);
  bool some_unmapped = false;
  for (int i = 0; i < kPmdPages; ++i) some_unmapped |= --pages[i].mapcount == 0;
  if (some_unmapped && f.entire_mapcount == 0 && f.large_mapcount > 0)
    DeferredSplitFolio(f, kPmdOrder, stats_);
  for (int i = 0; i < kPmdPages; ++i) PutPage(head + i);  // may free it
}

// copy_huge_pmd(): the child shares the PMD, both write-protected.  An
// exclusive folio that may be pinned in a parent that ever pinned
// (folio_try_dup_anon_rmap_pmd() failing: folio_needs_cow_for_dma) is not
// shared: the source PMD is split and copy_pte_range() copies the range by
// PTEs, copying each exclusive page for the child (-EAGAIN, false here).
bool Kernel::CopyHugePmd(Vma& dst, Vma& src, uint64_t haddr) {
  Mm& child = *dst.mm;
  Mm& parent = *src.mm;
  Pfn head = parent.pt.Find(haddr)->pfn();
  if (head != kZeroPfn && Frame(head).Test(PG_anon_exclusive) &&
      parent.has_pinned && !opts_.legacy_fork_cow &&
      FolioMaybeDmaPinned(head)) {
    SplitHugePmd(parent, haddr);
    return false;
  }
  stats_.fork_ptes++;
  if (head != kZeroPfn) {
    Page* pages = &Frame(head);
    rmap_->DupAnonRmapPmd(head, pages, dst, haddr);
    for (int i = 0; i < kPmdPages; ++i) {
      pages[i].Clear(PG_anon_exclusive);
      pages[i].mapcount++;
      pages[i].refcount++;
    }
    folios_.at(head).entire_mapcount++;
    FolioAddMapcount(head, child, 1);
  }
  for (uint64_t i = 0; i < kPmdPages; ++i) {
    Pte& spte = *parent.pt.Find(haddr + i * kPageSize);
    spte.v &= ~Pte::kWrite;
    child.pt.Ensure(haddr + i * kPageSize).v = spte.v & ~Pte::kYoung;
  }
  return true;
}

// __split_huge_pmd(): the PMD becomes 512 PTEs mapping the same pages
// (folio_add_anon_rmap_ptes(512) + folio_remove_rmap_pmd(); the design's
// (vma, address) pairs do not change).
void Kernel::SplitHugePmd(Mm& mm, uint64_t haddr, bool count) {
  if (count) stats_.thp_split_pmd++;
  Pfn head = mm.pt.Find(haddr)->pfn();
  for (uint64_t i = 0; i < kPmdPages; ++i)
    mm.pt.Find(haddr + i * kPageSize)->v &= ~Pte::kPmd;
  if (head == kZeroPfn) return;
  folios_.at(head).entire_mapcount--;
  FolioAddMapcount(head, mm, kPmdPages);
  FolioSubMapcount(head, mm, 1);
}

// split_huge_pmd_address() at a range boundary (vma_adjust_trans_huge(),
// zap_pmd_range(), change_pmd_range(), move_page_tables()).
void Kernel::SplitHugePmdAt(Mm& mm, uint64_t addr) {
  if (!(addr & (kPmdSize - 1))) return;
  const Pte* p = mm.pt.Find(addr);
  if (p && p->pmd()) SplitHugePmd(mm, addr & ~(kPmdSize - 1));
}

void Kernel::RefoldHugePmd(Mm& mm, uint64_t haddr) {
  Pte* first = mm.pt.Find(haddr);
  if (!first || !first->present()) return;
  Pfn head = first->pfn();
  bool zero = head == kZeroPfn;
  if (!zero && (Frame(head).order() != kPmdOrder || (head & (kPmdPages - 1))))
    return;
  uint64_t same = Pte::kPresent | Pte::kWrite;
  for (uint64_t i = 0; i < kPmdPages; ++i) {
    const Pte* p = mm.pt.Find(haddr + i * kPageSize);
    if (!p->present() || p->pfn() != (zero ? kZeroPfn : head + i) ||
        (p->v & same) != (first->v & same))
      return;
  }
  for (uint64_t i = 0; i < kPmdPages; ++i)
    mm.pt.Find(haddr + i * kPageSize)->v |= Pte::kPmd;
  if (zero) return;
  folios_.at(head).entire_mapcount++;
  FolioAddMapcount(head, mm, 1);
  FolioSubMapcount(head, mm, kPmdPages);
}

// split_folio() to order 0 (__folio_split): one walk of the folio finds
// its mappings (unmap_folio), its PMD mappings are split, every page
// becomes a 4 KiB folio and pages nothing references are freed.  With
// remap_zero, as every successful anonymous split does since Linux 6.12
// (RMP_USE_SHARED_ZEROPAGE, try_to_map_unused_to_zeropage), each mapping
// of a zero-filled page becomes the shared zero page (confirmed natively:
// tests/traces/thp-deferred-split.trace).
//
// can_split_folio(): a folio holding references beyond its mappings and
// caches cannot be split; in the model those are pins (FolioInfo::pincount,
// one reference each), so a maybe-pinned folio stays whole and this
// returns false before any walk: the deferred-split shrinker, reclaim,
// MADV_PAGEOUT, KSM and migration leave it as it is.
bool Kernel::SplitFolio(Pfn pfn, bool remap_zero) {
  if (!Frame(pfn).large()) return true;
  Pfn head = FolioHead(pfn);
  if (FolioMaybeDmaPinned(head)) return false;
  int order = Frame(head).order();
  auto maps = FolioMappings(head);  // one walk, however many pages
  if (UnmapLeavesPartlyMapped(head)) stats_.thp_deferred_split_page++;
  for (auto& [vma, addr] : maps)
    if (vma->mm->pt.Get(addr).pmd() && !(addr % kPmdSize))
      SplitHugePmd(*vma->mm, addr);
  folios_.erase(head);
  if (order == kPmdOrder) stats_.thp_split_page++;
  int nr = 1 << order;
  for (int i = 0; i < nr; ++i) Frame(head + i).SetOrder(0);
  for (int i = 0; i < nr; ++i)
    if (Frame(head + i).refcount == 0) FreePage(head + i);
  if (!remap_zero) return true;
  for (auto& [vma, addr] : maps) {
    Pte& pte = *vma->mm->pt.Find(addr);
    Pfn p = pte.pfn();
    Page& page = Frame(p);
    if (page.content != 0 || page.Test(PG_swapcache)) continue;
    rmap_->RemoveRmap(p, page, *vma, addr);
    page.mapcount--;
    pte = Pte::Present(kZeroPfn, false, false, false);
    PutPage(p);
  }
  return true;
}

// unmap_folio() takes a PTE-mapped folio's mappings one PTE at a time
// (try_to_migrate_one), so the first page to lose its last mapping while
// another page is still mapped leaves the folio partially mapped, and
// __folio_remove_rmap() queues it for deferred split (counted for a 2 MiB
// folio not queued already); a PMD mapping is frozen whole and never does
// (tests/traces/thp-swap-pte-mapped.trace, thp-ksm-thp.trace).
bool Kernel::UnmapLeavesPartlyMapped(Pfn head) const {
  const FolioInfo& f = folios_.at(head);
  if (Frame(head).order() != kPmdOrder || f.partially_mapped ||
      f.entire_mapcount > 0)
    return false;
  int mapped = 0;
  for (Pfn p = head; p < head + kPmdPages && mapped < 2; ++p)
    mapped += Frame(p).mapcount > 0;
  return mapped >= 2;
}

void Kernel::AccountFolioWalk(uint64_t steps, const WalkCost& cost) {
  stats_.rmap_walks++;
  stats_.rmap_walk_steps += steps;
  rmap_->AccountWalk(cost);
}

// deferred_split_scan(): under memory pressure, partly mapped folios are
// split and their unmapped pages freed; a pinned one stays queued.
void Kernel::DeferredSplitScan() {
  std::vector<Pfn> queued;
  for (const auto& [head, f] : folios_)
    if (f.partially_mapped) queued.push_back(head);
  std::sort(queued.begin(), queued.end());
  for (Pfn head : queued) SplitFolio(head, true);
}

// thp_vma_allowable_order(TVA_FORCED_COLLAPSE, PMD_ORDER), the sysfs policy
// ignored: an anonymous vma without VM_NOHUGEPAGE that has had an
// anonymous page (vma->anon_vma: not just mapped) and holds at least one
// whole aligned 2 MiB block (thp_vma_suitable_order at vm_end - 2 MiB).
bool Kernel::CollapseAllowed(const Vma& vma) const {
  if (!vma.is_anonymous() || (vma.flags & VM_NOHUGEPAGE) || !vma.anon_vma)
    return false;
  return vma.end - vma.start >= kPmdSize &&
         ThpSuitableOrder(vma, vma.end - kPmdSize, kPmdOrder);
}

// collapse_huge_page() for the 2 MiB block at haddr, whose page table
// exists and maps no PMD: __collapse_huge_page_swapin(), then a new THP
// (alloc_charge_folio) filled by __collapse_huge_page_copy() replaces the
// block's PTEs; the old pages lose this mm's mappings.
//
// hpage_collapse_scan_pmd() first: a page with references beyond its
// mappings and swap cache (is_refcount_suitable(): a pin) stops the block
// with SCAN_PAGE_COUNT (EAGAIN) before anything changes, so a pinned page
// is never replaced under its pin.
Errno Kernel::CollapseHugePage(Mm& mm, Vma& vma, uint64_t haddr) {
  bool suitable = true;
  mm.pt.ForEach(haddr, haddr + kPmdSize, [&](uint64_t, const Pte& pte) {
    if (!pte.present() || pte.pfn() == kZeroPfn) return;
    const Page& page = Frame(pte.pfn());
    suitable &= page.refcount == page.mapcount +
                                     (page.Test(PG_swapcache) ? 1 : 0) +
                                     (page.Test(PG_shmem) ? 1 : 0);
  });
  if (!suitable) return Errno::kEAGAIN;
  std::vector<uint64_t> content(kPmdPages, 0);
  for (uint64_t i = 0; i < kPmdPages; ++i) {
    uint64_t addr = haddr + i * kPageSize;
    Pte* pte = mm.pt.Find(addr);
    if (pte->is_swap()) {
      // do_swap_page() called directly: no page fault is counted.
      if (Errno e = SwapIn(mm, vma, addr, false, *pte); e != Errno::kOk)
        return e;
      stats_.page_faults--;
      pte = mm.pt.Find(addr);
    }
    if (pte->present() && pte->pfn() != kZeroPfn)
      content[i] = Frame(pte->pfn()).content;
  }
  // alloc_charge_folio() before the old pages go: without a folio the
  // block stays as it is (SCAN_ALLOC_HUGE_PAGE_FAIL).
  Pfn head = AllocFolioFrames(kPmdOrder);
  if (head == kNoFrame) return Errno::kENOMEM;
  ZapRange(mm, vma, haddr, haddr + kPmdSize);
  MapNewAnonFolio(mm, vma, haddr, kPmdOrder, true, head);
  stats_.thp_collapse_alloc++;
  for (uint64_t i = 0; i < kPmdPages; ++i) Frame(head + i).content = content[i];
  return Errno::kOk;
}

// madvise_collapse() for the part [start, end) of one vma: every 2 MiB
// block inside it is collapsed (one already PMD-mapped counts as done); a
// block without a page table (pmd_none: never touched) is SCAN_PMD_NULL,
// EINVAL at the end. A range holding no whole block returns 0, as Linux
// 6.18 does (tests/traces/thp-collapse.trace), but only in a vma that may
// hold a THP at all (tests/traces/thp-collapse-vma.trace).
Errno Kernel::MadviseCollapse(Mm& mm, Vma& vma, uint64_t start, uint64_t end) {
  if (vma.shmem) {
    message_ = "madvise collapse of a shared (shmem) mapping is not modelled";
    return Errno::kENOSYS;
  }
  if (!CollapseAllowed(vma)) return Errno::kEINVAL;
  uint64_t hstart = (start + kPmdSize - 1) & ~(kPmdSize - 1);
  uint64_t hend = end & ~(kPmdSize - 1);
  // A range inside one block that reaches neither of its ends: Linux's
  // count of blocks (hend - hstart, unsigned) is huge, so the
  // "every block collapsed" test fails with last_fail's first value,
  // SCAN_FAIL: EINVAL (tests/traces/thp-collapse-vma.trace).
  if (hend < hstart) return Errno::kEINVAL;
  Errno last_fail = Errno::kOk;
  for (uint64_t haddr = hstart; haddr < hend; haddr += kPmdSize) {
    const Pte* first = mm.pt.Find(haddr);
    if (!first) {
      last_fail = Errno::kEINVAL;  // SCAN_PMD_NULL: try the next block
      continue;
    }
    if (first->pmd()) continue;  // SCAN_PMD_MAPPED
    Errno e = CollapseHugePage(mm, vma, haddr);
    if (e == Errno::kEAGAIN)
      last_fail = e;  // SCAN_PAGE_COUNT: go on
    else if (e != Errno::kOk)
      return e;
  }
  return last_fail;
}

}  // namespace rmaplab
