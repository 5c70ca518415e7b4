// swapfile.cc: swap slots and the swap cache (mm/swapfile.c, mm/swap_state.c)
// and swapoff's try_to_unuse(): Hugh's "backwards from sanity" path, which
// finds swapped pages by scanning every page table of every mm, not through
// any reverse map.
//
// Invariants kept here (see swap.h): a slot lives while a PTE, a shmem
// object or a swap-cache page holds it; a swap-cache page holds one
// reference on its frame.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

// swap_free(): one PTE's (or object's) reference to the slot is gone.
void Kernel::SwapFree(uint64_t slot) {
  SwapSlot& s = swap_.slot(slot);
  if (--s.count == 0 && !s.cache) swap_.Free(slot);
}

// free_swap_and_cache(): a swap PTE was zapped.  The last reference also
// drops an unmapped swap-cache page.
void Kernel::FreeSwapAndCache(uint64_t slot) {
  SwapSlot& s = swap_.slot(slot);
  if (--s.count > 0) return;
  if (!s.cache) {
    swap_.Free(slot);
    return;
  }
  Page& page = Frame(s.cache);
  if (page.mapcount == 0 && !page.Test(PG_locked)) DeleteFromSwapCache(s.cache);
}

// folio_alloc_swap(): give the folio of `pfn` its slots (2^order
// contiguous ones for a large folio, page i in slot first + i) and put
// every page of it in the swap cache.  False if there are none.
bool Kernel::AddToSwapCache(Pfn pfn) {
  if (swapoff_running_) return false;
  Pfn head = FolioHead(pfn);
  int order = Frame(head).order();
  uint64_t first = swap_.AllocRange(order);
  if (first == UINT64_MAX) return false;
  for (Pfn i = 0; i < (Pfn{1} << order); ++i) {
    Page& page = Frame(head + i);
    page.Set(PG_swapcache);
    page.refcount++;
    swap_.slot(first + i).cache = head + i;
    swap_.slot(first + i).ksm = page.Test(PG_ksm);
    swap_.cache_index()[head + i] = first + i;
  }
  return true;
}

// Takes the page out of the swap cache; frees the slot if nothing else
// holds it, and the page if nothing else does.
void Kernel::DeleteFromSwapCache(Pfn pfn) {
  auto it = swap_.cache_index().find(pfn);
  uint64_t slot = it->second;
  swap_.cache_index().erase(it);
  SwapSlot& s = swap_.slot(slot);
  s.cache = 0;
  if (s.count == 0) swap_.Free(slot);
  Frame(pfn).Clear(PG_swapcache);
  PutPage(pfn);
}

// folio_free_swap(): drop the swap copy if no PTE refers to the slot.
bool Kernel::FolioFreeSwap(Pfn pfn) {
  uint64_t slot = swap_.cache_index().at(pfn);
  if (swap_.slot(slot).count > 0) return false;
  DeleteFromSwapCache(pfn);
  return true;
}

// The page holding `slot`'s data: the swap-cache page, or one read now.
// A slot with a single reference is read into a fresh page outside the
// swap cache (*fresh = true), like zram's synchronous swap-in.
Result<Pfn> Kernel::ReadSwapPage(uint64_t slot, bool* fresh) {
  *fresh = false;
  if (Pfn cached = swap_.slot(slot).cache) return cached;
  Pfn pfn = AllocPage();
  if (pfn == kNoFrame) return Status::Error("out of memory");
  SwapSlot& s = swap_.slot(slot);
  Page& page = Frame(pfn);
  page.content = s.content;
  page.flags = PG_dirty;
  stats_.pswpin++;
  lru_.AddHead(page, pfn, Lru::kInactive);
  if (s.count == 1) {
    *fresh = true;
    return pfn;
  }
  page.Set(PG_swapcache);
  page.refcount = 1;
  s.cache = pfn;
  swap_.cache_index()[pfn] = slot;
  return pfn;
}

// shmem_unuse(): read an object's swapped pages back into its page cache.
void Kernel::UnuseShmem(ShmemObject& obj) {
  for (auto& [pgoff, entry] : obj.pages) {
    if (!entry.is_swap()) continue;
    stats_.swapoff_ptes++;
    Pfn pfn = AllocPage();
    if (pfn == kNoFrame) return;
    uint64_t slot = entry.swp_offset();
    Page& page = Frame(pfn);
    page.flags = PG_shmem | PG_dirty;  // the swap copy is freed
    page.mapping = obj.id;
    page.index = pgoff;
    page.refcount = 1;
    page.content = swap_.slot(slot).content;
    lru_.AddHead(page, pfn, Lru::kInactive);
    entry = Pte::Present(pfn, false, false, false);
    SwapFree(slot);
    stats_.pswpin++;
    stats_.swapoff_pages++;
  }
}

// try_to_unuse(): every swap PTE of every mm is replaced by its page, read
// through the swap cache and mapped read-only (unuse_pte), exclusive if
// the entry was; then the swap cache is emptied.
Errno Kernel::Swapoff() {
  swapoff_running_ = true;
  int64_t by_object =
      rmap_->SwapoffByObjectVisits(swap_.used() - swap_.cache_index().size());
  if (by_object >= 0)
    stats_.swapoff_object_visits =
        std::max<int64_t>(stats_.swapoff_object_visits, 0) + by_object;
  for (auto& [pid, mmp] : procs_) {
    // unuse_pte_range() reads every PTE slot of every page-table page.
    stats_.swapoff_pte_slots += mmp->pt.leaf_count() * PageTable::kLeafEntries;
    Mm& mm = *mmp;
    for (auto& [start, vmap] : mm.vmas) {
      Vma& vma = *vmap;
      mm.pt.ForEach(vma.start, vma.end, [&](uint64_t addr, Pte& pte) {
        if (!pte.is_swap()) return;
        stats_.swapoff_ptes++;
        uint64_t slot = pte.swp_offset();
        SwapSlot& s = swap_.slot(slot);
        Pfn pfn = s.cache;
        if (!pfn) {
          s.count++;  // read through the cache even for a lone reference
          bool fresh;
          Result<Pfn> got = ReadSwapPage(slot, &fresh);
          swap_.slot(slot).count--;
          if (!got.ok()) return;
          pfn = got.value();
          stats_.swapoff_pages++;
        }
        if (KsmNeedsCopy(slot, pfn)) {
          Result<Pfn> copy = KsmCopySwapPage(mm, vma, addr, pfn);
          if (!copy.ok()) return;
          pte = Pte::Present(copy.value(), false, false, false);
          FreeSwapAndCache(slot);
          return;
        }
        Page& page = Frame(pfn);
        bool exclusive = pte.v & Pte::kSwpExclusive;
        AnonVmaPrepare(mm, vma);
        if (!page.Test(PG_anon)) {
          page.Set(PG_anon);
          rmap_->AddNewAnonRmap(pfn, page, vma, addr, exclusive);
        } else {
          FolioAddAnonRmapPte(pfn, page, vma, addr);
        }
        if (exclusive) page.Set(PG_anon_exclusive);
        page.mapcount++;
        page.refcount++;
        pte = Pte::Present(pfn, false, false, false);
        SwapFree(slot);
      });
    }
  }
  for (auto& [id, obj] : shmem_) UnuseShmem(*obj);
  std::vector<Pfn> cached;
  for (const auto& [pfn, slot] : swap_.cache_index()) cached.push_back(pfn);
  for (Pfn pfn : cached) DeleteFromSwapCache(pfn);
  swapoff_running_ = false;
  return swap_.used() ? Errno::kENOMEM : Errno::kOk;
}

}  // namespace rmaplab
