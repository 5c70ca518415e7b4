// vmscan.cc: page reclaim through the reverse map (mm/vmscan.c:
// shrink_inactive_list, shrink_folio_list, folio_check_references,
// shrink_active_list; mm/rmap.c: folio_referenced, try_to_unmap;
// mm/madvise.c: MADV_COLD, MADV_PAGEOUT; mm/oom_kill.c).
//
// Every victim is found on the inactive LRU; its mappings are found only by
// walking the design's reverse map (anonymous pages) or the shmem object's
// i_mmap (shared pages), and those walks are counted as reclaim's cost.
//
// Invariants kept here:
//  (1) a page is freed only when nothing but the swap cache or page cache
//      holds it: pinned pages (refcount beyond mappings) stay;
//  (2) a page reclaim unmapped has a swap slot holding its data.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

namespace {
// Pages shrink_active_list moves per call.
constexpr uint64_t kActiveBatch = 32;
}  // namespace

// rmap_walk() for the clients here and in migrate.cc: every (vma, addr)
// mapping `pfn`, through the design's reverse map for an anonymous page
// (KSM's for a KSM page) or the shmem object's i_mmap (rmap_walk_file).
// Counts one walk and its steps into *walks and *steps.
std::vector<std::pair<Vma*, uint64_t>> Kernel::Mappings(Pfn pfn,
                                                        uint64_t* walks,
                                                        uint64_t* steps) {
  std::vector<std::pair<Vma*, uint64_t>> maps;
  const Page& page = Frame(pfn);
  if (page.Test(PG_anon)) {
    uint64_t before = stats_.rmap_walk_steps;
    RmapWalk(pfn, true, [&](Vma& vma, uint64_t addr, Pte&) {
      maps.emplace_back(&vma, addr);
      return true;
    });
    (*walks)++;
    *steps += stats_.rmap_walk_steps - before;
    return maps;
  }
  ShmemObject& obj = *shmem_.at(page.mapping);
  for (Vma* vma : obj.i_mmap) {
    auto addr = vma->Address(page.index);
    Pte* pte = addr ? vma->mm->pt.Find(*addr) : nullptr;
    if (pte && pte->present() && pte->pfn() == pfn)
      maps.emplace_back(vma, *addr);
  }
  return maps;
}

// folio_referenced(): test and clear the young bit of every PTE mapping
// the page; returns how many were young.
int Kernel::PageReferenced(Pfn pfn) {
  int young = 0;
  for (auto [vma, addr] :
       Mappings(pfn, &stats_.reclaim_walks, &stats_.reclaim_steps)) {
    Pte& pte = *vma->mm->pt.Find(addr);
    if (pte.young()) {
      young++;
      pte.v &= ~Pte::kYoung;
    }
  }
  return young;
}

// try_to_unmap(): every PTE mapping the page becomes a swap entry for
// `slot` (anonymous) or none (shmem).  The mappings are collected first
// and unmapped after the walk, so a design never sees its structures
// change under its own walk.  Returns true if no mapping is left.
bool Kernel::TryToUnmap(Pfn pfn, uint64_t slot) {
  Page& page = Frame(pfn);
  auto maps = Mappings(pfn, &stats_.reclaim_walks, &stats_.reclaim_steps);
  bool exclusive = page.Test(PG_anon_exclusive);
  for (auto [vma, addr] : maps) {
    Pte& pte = *vma->mm->pt.Find(addr);
    if (page.Test(PG_anon)) {
      FolioRemoveRmapPte(pfn, page, *vma, addr);
      pte = Pte::Swap(slot, exclusive);
      swap_.slot(slot).count++;
    } else {
      if (pte.dirty())
        page.Set(PG_dirty);  // try_to_unmap_one(): folio_mark_dirty
      pte = Pte{};
    }
    page.mapcount--;
    page.refcount--;
  }
  if (page.Test(PG_anon)) page.Clear(PG_anon_exclusive);
  return page.mapcount == 0;
}

// shrink_folio_list() for one page taken off the inactive list.
Kernel::ShrinkResult Kernel::ShrinkFolio(Pfn pfn, bool ignore_references) {
  Page& page = Frame(pfn);
  stats_.pgscan++;
  if (page.Test(PG_locked)) return ShrinkResult::kKeep;
  if (page.MaybeDmaPinned()) return ShrinkResult::kActivate;
  if (!ignore_references && page.mapcount > 0) {
    // folio_check_references(): mapped pages start with a young PTE from
    // their fault, so look twice before activating.
    int young = PageReferenced(pfn);
    if (young) {
      bool was_referenced = page.Test(PG_referenced);
      page.Set(PG_referenced);
      return (was_referenced || young > 1) ? ShrinkResult::kActivate
                                           : ShrinkResult::kKeep;
    }
  }
  uint64_t slot;
  if (page.Test(PG_anon)) {
    if (!page.Test(PG_swapcache) && !AddToSwapCache(pfn))
      return ShrinkResult::kActivate;
    slot = swap_.cache_index().at(pfn);
  } else {
    slot = swap_.Alloc();
    if (slot == UINT64_MAX) return ShrinkResult::kActivate;
  }
  if (page.mapcount > 0 && !TryToUnmap(pfn, slot)) {
    if (!page.Test(PG_anon)) swap_.Free(slot);
    return ShrinkResult::kActivate;
  }
  // A clean shmem page (only ever read: a zero-filled hole page) is not
  // written out: shrink_folio_list() drops it from the page cache, and the
  // object has a hole there again (a later fault allocates a new zero page,
  // and fault-around does not find it).
  if (page.Test(PG_shmem) && !page.Test(PG_dirty)) {
    swap_.Free(slot);
    shmem_.at(page.mapping)->pages.erase(page.index);
    page.Clear(PG_shmem);
    PutPage(pfn);
    stats_.pgsteal++;
    return ShrinkResult::kReclaimed;
  }
  // pageout(): write the data, then free the page if only the cache holds it.
  swap_.slot(slot).content = page.content;
  stats_.pswpout++;
  if (page.Test(PG_shmem)) {
    ShmemObject& obj = *shmem_.at(page.mapping);
    obj.pages[page.index] = Pte::Swap(slot, false);
    swap_.slot(slot).count++;
    page.Clear(PG_shmem);
    PutPage(pfn);
    stats_.pgsteal++;
    return ShrinkResult::kReclaimed;
  }
  // Left: our isolation reference and the swap cache's.
  if (page.refcount != 2) return ShrinkResult::kActivate;  // someone holds it
  DeleteFromSwapCache(pfn);
  stats_.pgsteal++;
  return ShrinkResult::kReclaimed;
}

// shrink_active_list(): anonymous pages move to the inactive list whether
// or not they were referenced (only executable file pages stay active).
void Kernel::ShrinkActiveList(uint64_t nr) {
  for (uint64_t i = 0; i < nr; ++i) {
    Pfn pfn = lru_.Tail(Lru::kActive);
    if (!pfn) return;
    Page& page = Frame(pfn);
    lru_.Del(page, pfn);
    if (page.mapcount > 0) PageReferenced(pfn);
    page.Clear(PG_referenced);
    lru_.AddHead(page, pfn, Lru::kInactive);
  }
}

uint64_t Kernel::Reclaim(uint64_t nr) {
  // swapoff is emptying the device: no anonymous page can go to swap now,
  // so scanning would only thrash; the allocation fails and swapoff with it.
  if (swapoff_running_) return 0;
  uint64_t reclaimed = 0;
  DeferredSplitScan();  // the deferred-split shrinker runs first
  uint64_t budget =
      2 * (lru_.size(Lru::kInactive) + lru_.size(Lru::kActive)) + 1;
  while (reclaimed < nr && budget-- > 0) {
    if (lru_.size(Lru::kInactive) < lru_.size(Lru::kActive) ||
        lru_.size(Lru::kInactive) == 0)
      ShrinkActiveList(kActiveBatch);
    Pfn pfn = lru_.Tail(Lru::kInactive);
    if (!pfn) break;
    if (Frame(pfn).large()) {
      // Large folios go to swap as 4 KiB pages so far: split first (Linux
      // swaps the folio whole, THP_SWAP, so every page still goes: no
      // zero-page remapping here).
      if (!SplitFolio(pfn, false)) ActivateFolio(pfn);  // pinned: keep it
      continue;
    }
    Page& page = Frame(pfn);
    lru_.Del(page, pfn);
    GetPage(pfn);  // isolated: our reference keeps it alive meanwhile
    ShrinkResult r = ShrinkFolio(pfn, false);
    if (r == ShrinkResult::kReclaimed) {
      reclaimed++;
      PutPage(pfn);  // the last reference: frees it
      continue;
    }
    if (r == ShrinkResult::kActivate) stats_.pgactivate++;
    lru_.AddHead(page, pfn,
                 r == ShrinkResult::kActivate ? Lru::kActive : Lru::kInactive);
    PutPage(pfn);
  }
  return reclaimed;
}

// MADV_COLD / MADV_PAGEOUT over [start, end) of one vma: pages mapped by
// this process alone are deactivated, or reclaimed without looking at
// their referenced bits.
Errno Kernel::MadvisePageout(Mm& mm, Vma& vma, uint64_t start, uint64_t end,
                             bool pageout) {
  // madvise_cold_or_pageout_pte_range(): a large folio this mm alone maps
  // is split (the model swaps 4 KiB pages only; Linux swaps it whole, so
  // no zero-page remapping); a shared one is skipped.
  std::vector<Pfn> large;
  mm.pt.ForEach(start, end, [&](uint64_t, Pte& pte) {
    if (pte.present() && pte.pfn() != kZeroPfn && Frame(pte.pfn()).large() &&
        !FolioMaybeMappedShared(FolioHead(pte.pfn())))
      large.push_back(pte.pfn());
  });
  for (Pfn pfn : large) SplitFolio(pfn, false);
  std::vector<Pfn> victims;
  mm.pt.ForEach(start, end, [&](uint64_t, Pte& pte) {
    if (!pte.present() || pte.pfn() == kZeroPfn) return;
    Page& page = Frame(pte.pfn());
    if (page.mapcount > 1 || !page.Test(PG_lru) || page.large())
      return;  // shared: skipped
    pte.v &= ~Pte::kYoung;
    victims.push_back(pte.pfn());
  });
  for (Pfn pfn : victims) {
    Page& page = Frame(pfn);
    lru_.Del(page, pfn);
    page.Clear(PG_referenced);
    if (!pageout) {
      lru_.AddHead(page, pfn, Lru::kInactive);  // deactivate
      continue;
    }
    GetPage(pfn);
    ShrinkResult r = ShrinkFolio(pfn, true);
    if (r != ShrinkResult::kReclaimed)
      lru_.AddHead(
          page, pfn,
          r == ShrinkResult::kActivate ? Lru::kActive : Lru::kInactive);
    PutPage(pfn);
  }
  return Errno::kOk;
}

// select_bad_process(): the largest resident + swap footprint; the lowest
// pid wins a tie.
uint32_t Kernel::OomKill() {
  uint32_t victim = 0;
  uint64_t worst = 0;
  for (auto& [pid, mm] : procs_) {
    uint64_t points = 0;
    mm->pt.ForEach(0, ~0ULL, [&](uint64_t, const Pte& pte) {
      if (pte.is_swap() || (pte.present() && pte.pfn() != kZeroPfn)) points++;
    });
    if (points > worst) {
      worst = points;
      victim = pid;
    }
  }
  if (!victim) return 0;
  Exit(*procs_.at(victim));
  stats_.oom_kills++;
  return victim;
}

}  // namespace rmaplab
