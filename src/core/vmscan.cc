// vmscan.cc: page reclaim through the reverse map (mm/vmscan.c:
// shrink_inactive_list, shrink_folio_list, folio_check_references,
// shrink_active_list; mm/rmap.c: folio_referenced, try_to_unmap;
// mm/swapfile.c: folio_alloc_swap; mm/madvise.c: MADV_COLD, MADV_PAGEOUT;
// mm/oom_kill.c).
//
// Every victim is found on the inactive LRU; its mappings are found only by
// walking the design's reverse map (anonymous pages) or the shmem object's
// i_mmap (shared pages), and those walks are counted as reclaim's cost.
// Reclaim works by folio, as Linux 6.18 does (THP_SWAP): a large folio is
// isolated, aged and unmapped whole, with one walk of the folio
// (WalkFolio), and goes to 2^order contiguous swap slots; only a partially
// mapped folio, or one for which no such slot range exists
// (thp_swpout_fallback), is split and swapped as 4 KiB pages.
//
// Invariants kept here:
//  (1) a page is freed only when nothing but the swap cache or page cache
//      holds it: pinned pages (refcount beyond mappings) stay;
//  (2) a page reclaim unmapped has a swap slot holding its data;
//  (3) the pages of a large folio leave and rejoin the LRU together, and
//      the folio leaves the swap cache (freed, or split) before the op
//      ends (swap.h (4)).
#include <algorithm>
#include <set>
#include <utility>
#include <vector>

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

// rmap_walk() of a large folio, for every client: each (vma, addr) whose
// PTE maps one of its pages, found by one walk of the folio (WalkFolio) and
// counted as one walk whose steps are its candidate ranges, also into the
// client's own *walks and *steps when given.
std::vector<std::pair<Vma*, uint64_t>> Kernel::FolioMappings(Pfn head,
                                                             uint64_t* walks,
                                                             uint64_t* steps) {
  std::vector<std::pair<Vma*, uint64_t>> maps;
  WalkCost cost;
  uint64_t ranges = RmapWalkFolio(
      head,
      [&](const Vma& vma, uint64_t addr, const Pte&) {
        maps.emplace_back(const_cast<Vma*>(&vma), addr);
        return true;
      },
      &cost);
  AccountFolioWalk(ranges, cost);
  if (walks) {
    (*walks)++;
    *steps += ranges;
  }
  return maps;
}

bool Kernel::FolioMapped(Pfn head) const {
  return Frame(head).large() ? folios_.at(head).large_mapcount > 0
                             : Frame(head).mapcount > 0;
}

// Whether test() holds for any page of the folio headed by `head` (a
// folio is locked, or maybe DMA pinned, if one of its pages is).
bool Kernel::FolioAnyPage(Pfn head, bool (*test)(const Page&)) const {
  for (Pfn p = head; p < head + Frame(head).nr_pages(); ++p)
    if (test(Frame(p))) return true;
  return false;
}

// folio_referenced(): test and clear the young bit of every mapping of the
// folio headed by `head` (one walk); returns how many were young, a PMD
// mapping counting once (pmdp_clear_flush_young).
int Kernel::PageReferenced(Pfn head) {
  bool large = Frame(head).large();
  auto maps =
      large ? FolioMappings(head, &stats_.reclaim_walks, &stats_.reclaim_steps)
            : Mappings(head, &stats_.reclaim_walks, &stats_.reclaim_steps);
  std::set<std::pair<const Mm*, uint64_t>> young_pmds;
  int young = 0;
  for (auto [vma, addr] : maps) {
    Pte& pte = *vma->mm->pt.Find(addr);
    if (!pte.young()) continue;
    pte.v &= ~Pte::kYoung;
    if (!pte.pmd() ||
        young_pmds.insert({vma->mm, addr & ~(kPmdSize - 1)}).second)
      young++;
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

// try_to_unmap(TTU_SPLIT_HUGE_PMD) of a large anonymous folio whose pages
// sit in the swap cache from slot `first` on: one walk finds every
// mapping; a PMD mapping is split to PTEs first (split_huge_pmd_locked,
// thp_split_pmd); then each PTE becomes the swap entry of its own page's
// slot, first + (pfn - head), exclusive if the page was
// (try_to_unmap_one).  A swap-cache folio losing some of its mappings is
// not queued for deferred split (deferred_split_folio() skips it), so the
// mapcounts drop without FolioPteUnmapped().
void Kernel::TryToUnmapFolio(Pfn head, uint64_t first) {
  auto maps = FolioMappings(head, &stats_.reclaim_walks, &stats_.reclaim_steps);
  for (auto [vma, addr] : maps)
    if (vma->mm->pt.Get(addr).pmd() && addr % kPmdSize == 0)
      SplitHugePmd(*vma->mm, addr);
  for (auto [vma, addr] : maps) {
    Pte& pte = *vma->mm->pt.Find(addr);
    Pfn pfn = pte.pfn();
    Page& page = Frame(pfn);
    rmap_->RemoveRmap(pfn, page, *vma, addr);
    uint64_t slot = first + (pfn - head);
    pte = Pte::Swap(slot, page.Test(PG_anon_exclusive));
    swap_.slot(slot).count++;
    page.mapcount--;
    page.refcount--;
    FolioSubMapcount(head, *vma->mm, 1);
  }
  for (Pfn p = head; p < head + Frame(head).nr_pages(); ++p)
    Frame(p).Clear(PG_anon_exclusive);
}

// split_folio_to_list() of the isolated folio headed by `head`: the pages
// it leaves besides head (mapped, or in the swap cache) are isolated with
// a reference of their own and go to *split, as Linux hands the tails to
// shrink_folio_list()'s list; each makes its own pass (pgscan).  With
// remap_zero, zero-filled pages become the shared zero page (and go).
void Kernel::SplitIsolated(Pfn head, bool remap_zero, std::vector<Pfn>* split) {
  Pfn nr = Frame(head).nr_pages();
  SplitFolio(head, remap_zero);
  stats_.pgscan -= nr - 1;
  for (Pfn p = head + 1; p < head + nr; ++p) {
    if (Frame(p).refcount == 0) continue;  // freed by the split
    GetPage(p);
    split->push_back(p);
  }
}

// shrink_folio_list()'s way into the swap cache for an anonymous folio: a
// partially mapped large folio is split first (its unmapped pages go
// without I/O); a large folio goes whole if folio_alloc_swap() finds
// 2^order contiguous slots, else it is split and its pages go one by one
// (thp_swpout_fallback for a PMD-sized folio).  False: no slot.
bool Kernel::FolioToSwapCache(Pfn head, std::vector<Pfn>* split) {
  if (Frame(head).large() && folios_.at(head).partially_mapped)
    SplitIsolated(head, true, split);
  if (AddToSwapCache(head)) return true;
  if (!Frame(head).large()) return false;
  if (Frame(head).order() == kPmdOrder) stats_.thp_swpout_fallback++;
  SplitIsolated(head, true, split);
  return AddToSwapCache(head);
}

// The rest of shrink_folio_list() for a large folio in the swap cache:
// try_to_unmap() it whole, pageout() writes every page (pswpout by page;
// thp_swpout for a PMD-sized folio, an mTHP counts only in Linux's
// hugepages-<size>/stats), and __remove_mapping() frees it once only the
// swap cache and our isolation hold it (folio_ref_count == 1 + nr).
Kernel::ShrinkResult Kernel::PageoutFolio(Pfn head, std::vector<Pfn>* split) {
  Pfn nr = Frame(head).nr_pages();
  uint64_t first = swap_.cache_index().at(head);
  if (FolioMapped(head)) TryToUnmapFolio(head, first);
  for (Pfn i = 0; i < nr; ++i)
    swap_.slot(first + i).content = Frame(head + i).content;
  stats_.pswpout += nr;
  if (Frame(head).order() == kPmdOrder) stats_.thp_swpout++;
  if (FolioRefCount(head) != int64_t{nr} + 1) {
    // Held elsewhere (the model has no such holder: pins were refused
    // above).  A large folio never stays in the swap cache: split it.
    SplitIsolated(head, false, split);
    return ShrinkResult::kActivate;
  }
  for (Pfn i = 0; i < nr; ++i) DeleteFromSwapCache(head + i);
  stats_.pgsteal += nr;
  return ShrinkResult::kReclaimed;
}

// shrink_folio_list() for one isolated folio headed by `pfn` (4 KiB or
// large); pages a split leaves go to *split for the caller.
Kernel::ShrinkResult Kernel::ShrinkFolio(Pfn pfn, bool ignore_references,
                                         std::vector<Pfn>* split) {
  Page& page = Frame(pfn);
  stats_.pgscan += uint64_t{1} << page.order();
  if (FolioAnyPage(pfn, [](const Page& p) { return p.Test(PG_locked); }))
    return ShrinkResult::kKeep;
  if (FolioMaybeDmaPinned(pfn)) return ShrinkResult::kActivate;
  if (!ignore_references && FolioMapped(pfn)) {
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
    if (!page.Test(PG_swapcache) && !FolioToSwapCache(pfn, split))
      return ShrinkResult::kActivate;
    if (page.large()) return PageoutFolio(pfn, split);
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

// isolate_lru_folios() for the folio of `pfn`: all its pages off their LRU
// list, and a reference of ours on the head; returns the head.
Pfn Kernel::IsolateFolio(Pfn pfn) {
  Pfn head = FolioHead(pfn);
  for (Pfn p = head; p < head + Frame(head).nr_pages(); ++p)
    if (Frame(p).Test(PG_lru)) lru_.Del(Frame(p), p);
  GetPage(head);
  return head;
}

// Every page of the folio headed by `head` back on list `list`.
void Kernel::PutbackFolio(Pfn head, Lru::List list) {
  for (Pfn p = head; p < head + Frame(head).nr_pages(); ++p)
    lru_.AddHead(Frame(p), p, list);
}

// shrink_folio_list() over one isolated folio and the pages a split of it
// leaves: each is freed or goes back to the LRU, and loses our reference.
// Returns the pages freed.
uint64_t Kernel::ShrinkIsolated(Pfn head, bool ignore_references) {
  std::vector<Pfn> list = {head};
  uint64_t freed = 0;
  while (!list.empty()) {
    Pfn pfn = list.back();
    list.pop_back();
    ShrinkResult r = ShrinkFolio(pfn, ignore_references, &list);
    uint64_t nr = uint64_t{1} << Frame(pfn).order();
    if (r == ShrinkResult::kReclaimed) {
      freed += nr;
    } else {
      if (r == ShrinkResult::kActivate) stats_.pgactivate += nr;
      PutbackFolio(
          pfn, r == ShrinkResult::kActivate ? Lru::kActive : Lru::kInactive);
    }
    PutPage(pfn);  // the last reference of a freed folio
  }
  return freed;
}

// shrink_active_list(): anonymous folios move to the inactive list whether
// or not they were referenced (only executable file pages stay active);
// `nr` counts pages, a large folio moving whole.
void Kernel::ShrinkActiveList(uint64_t nr) {
  for (uint64_t moved = 0; moved < nr;) {
    Pfn pfn = lru_.Tail(Lru::kActive);
    if (!pfn) return;
    Pfn head = IsolateFolio(pfn);
    if (FolioMapped(head)) PageReferenced(head);
    for (Pfn p = head; p < head + Frame(head).nr_pages(); ++p)
      Frame(p).Clear(PG_referenced);
    PutbackFolio(head, Lru::kInactive);
    PutPage(head);
    moved += uint64_t{1} << Frame(head).order();
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
    reclaimed += ShrinkIsolated(IsolateFolio(pfn), false);
  }
  return reclaimed;
}

// The number of PTEs from addr on, below end and in addr's page table,
// that map pfn, pfn + 1, ... below `limit` (folio_pte_batch()).
static uint64_t PteBatch(PageTable& pt, uint64_t addr, uint64_t end, Pfn pfn,
                         Pfn limit) {
  uint64_t n = 0;
  for (; addr < end && pfn + n < limit; addr += kPageSize, ++n) {
    const Pte* pte = pt.Find(addr);
    if (!pte || !pte->present() || pte->pfn() != pfn + n) break;
  }
  return n;
}

// madvise_cold_or_pageout_pte_range() for [start, end), inside one 2 MiB
// block of `mm`: the folios MADV_COLD / MADV_PAGEOUT takes go to *victims
// (heads), their PTEs made old.  A PMD-mapped THP this mm alone maps
// (!folio_maybe_mapped_shared) is taken whole if the block lies inside the
// range, else split (split_folio) and its PTEs looked at; a PTE-mapped
// large folio whose batch of PTEs here is shorter than the folio is split
// unless maybe shared; one mapped whole here, by its only mappings
// (folio_mapcount == nr), is taken whole; a 4 KiB page mapped once is
// taken; shared folios are skipped.
void Kernel::ColdPageoutBlock(Mm& mm, uint64_t start, uint64_t end,
                              std::vector<Pfn>* victims) {
  uint64_t haddr = start & ~(kPmdSize - 1);
  const Pte* first = mm.pt.Find(haddr);
  if (first && first->pmd()) {
    Pfn head = first->pfn();
    if (head == kZeroPfn || FolioMaybeMappedShared(head)) return;
    if (start == haddr && end == haddr + kPmdSize) {
      for (uint64_t a = start; a < end; a += kPageSize)
        mm.pt.Find(a)->v &= ~Pte::kYoung;
      victims->push_back(head);
      return;
    }
    if (!SplitFolio(head, true)) return;  // pinned: left as it is
  }
  for (uint64_t a = start; a < end;) {
    Pte* pte = mm.pt.Find(a);
    if (!pte || !pte->present() || pte->pfn() == kZeroPfn) {
      a += kPageSize;
      continue;
    }
    Pfn pfn = pte->pfn();
    Pfn head = FolioHead(pfn);
    Pfn nr = Frame(pfn).nr_pages();
    uint64_t batch = nr == 1 ? 1 : PteBatch(mm.pt, a, end, pfn, head + nr);
    if (batch < nr) {
      // Split, then look at a again (4 KiB pages now); a folio that is
      // shared or cannot be split (pinned) is skipped.
      if (FolioMaybeMappedShared(head) || !SplitFolio(head, true))
        a += batch * kPageSize;
      continue;
    }
    bool exclusive = nr == 1 ? Frame(pfn).mapcount == 1
                             : folios_.at(head).large_mapcount == int32_t(nr);
    if (exclusive && Frame(pfn).Test(PG_lru)) {
      for (uint64_t i = 0; i < nr; ++i)
        mm.pt.Find(a + i * kPageSize)->v &= ~Pte::kYoung;
      victims->push_back(head);
    }
    a += nr * kPageSize;
  }
}

// MADV_COLD / MADV_PAGEOUT over [start, end) of one vma, 2 MiB block by
// block as the page-table walk goes: the folios taken are deactivated, or
// reclaimed without looking at their referenced bits (reclaim_pages()).
Errno Kernel::MadvisePageout(Mm& mm, Vma& vma, uint64_t start, uint64_t end,
                             bool pageout) {
  for (uint64_t b = start; b < end;) {
    uint64_t next = std::min(end, (b & ~(kPmdSize - 1)) + kPmdSize);
    std::vector<Pfn> victims;
    ColdPageoutBlock(mm, b, next, &victims);
    for (Pfn head : victims) {
      IsolateFolio(head);
      for (Pfn p = head; p < head + Frame(head).nr_pages(); ++p)
        Frame(p).Clear(PG_referenced);
      if (pageout) {
        ShrinkIsolated(head, true);
        continue;
      }
      PutbackFolio(head, Lru::kInactive);  // deactivate
      PutPage(head);
    }
    b = next;
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
