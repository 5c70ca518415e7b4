// report.cc: what `maps`, `pagemap`, `expect` and `stats` see
// (fs/proc/task_mmu.c: show_map_vma, pte_to_pagemap_entry).  Nothing here
// changes state: no fault, no young bit, no counter.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

Errno Kernel::Peek(const Mm& mm, uint64_t addr, uint64_t* value) const {
  const Vma* vma = mm.VmaLookup(addr);
  if (!vma) return Errno::kEFAULT;
  Pte pte = mm.pt.Get(addr);
  *value = 0;
  if (pte.present()) {
    *value = Frame(pte.pfn()).content;
  } else if (pte.is_swap()) {
    *value = SwapContent(pte.swp_offset());
  } else if (vma->shmem) {
    auto it = vma->shmem->pages.find(vma->LinearPageIndex(addr));
    if (it != vma->shmem->pages.end()) {
      const Pte& e = it->second;
      *value =
          e.present() ? Frame(e.pfn()).content : SwapContent(e.swp_offset());
    }
  }
  return Errno::kOk;
}

uint64_t Kernel::SwapContent(uint64_t slot) const {
  const SwapSlot& s = swap_.slot(slot);
  return s.cache ? Frame(s.cache).content : s.content;
}

PagemapEntry Kernel::PagemapOf(const Mm& mm, uint64_t addr) const {
  PagemapEntry e;
  e.addr = addr;
  Pte pte = mm.pt.Get(addr);
  if (pte.is_swap()) {
    e.state = PageState::kSwapped;
  } else if (pte.present()) {
    e.state = PageState::kPresent;
    e.thp = pte.pmd();  // the huge zero page, or a PMD-mapped THP
    if (pte.pfn() == kZeroPfn) {
      e.zero = true;  // not a normal page: never "exclusive"
    } else {
      const Page& page = Frame(pte.pfn());
      // __folio_page_mapped_exclusively() (CONFIG_PAGE_MAPCOUNT) for a
      // PTE; a PMD asks folio_maybe_mapped_shared() of the folio.
      e.thp = page.large();
      e.exclusive = pte.pmd() ? !FolioMaybeMappedShared(FolioHead(pte.pfn()))
                              : page.mapcount == 1;
      e.ksm = page.Test(PG_ksm);
      e.value = page.content;
    }
  }
  return e;
}

std::vector<MapsEntry> Kernel::Maps(const Mm& mm) const {
  std::vector<MapsEntry> out;
  for (const auto& [start, vma] : mm.vmas) {
    MapsEntry e;
    e.start = vma->start;
    e.end = vma->end;
    e.prot = ((vma->flags & VM_READ) ? kProtRead : 0) |
             ((vma->flags & VM_WRITE) ? kProtWrite : 0) |
             ((vma->flags & VM_EXEC) ? kProtExec : 0);
    e.shared = vma->flags & VM_MAYSHARE;
    e.offset = vma->shmem ? vma->pgoff << kPageShift : 0;
    out.push_back(e);
  }
  return out;
}

// Every design has the same counters, but for swapoff_object_visits: only a
// design with an object index (anon_inode) has that alternative at all.
Stats Kernel::Stats() const {
  rmaplab::Stats s;
  for (const auto& [pid, mm] : procs_) {
    s.vmas += mm->vmas.size();
    s.pte_slots += mm->pt.leaf_count() * PageTable::kLeafEntries;
  }
  const RmapStats& rs = rmap_->stats();
  s.pages_resident = resident_;
  s.pages_swapped = swap_.used() - swap_.cache_index().size();
  s.swap_slots_used = swap_.used();
  s.processes = procs_.size();
  s.rmap_bytes = rmap_->MetadataBytes(Layout::kX86_64);
  s.rmap_bytes_i386 = rmap_->MetadataBytes(Layout::kI386);
  // struct page under the design, i386 (seed 001's 48-byte baseline).
  s.page_struct_bytes_i386 =
      static_cast<uint64_t>(48 + rmap_->PageBytesDelta(Layout::kI386));
  s.rmap_walks = stats_.rmap_walks;
  s.rmap_walk_steps = stats_.rmap_walk_steps;
  s.rmap_wasted_steps = rs.wasted_steps;
  s.rmap_lock_acquisitions = rs.lock_acquisitions;
  s.rmap_chain_entries = rs.chain_entries;
  s.rmap_fork_work = rs.fork_work;
  s.rmap_exit_work = rs.exit_work;
  s.ksm_pages_shared = ksm_.pages_shared();
  s.ksm_pages_sharing = ksm_.pages_sharing();
  s.ksm_pages_unshared = ksm_.pages_unshared();
  s.ksm_full_scans = ksm_.full_scans();
  s.ksm_stable_node_chains = ksm_.stable_node_chains();
  s.ksm_stable_node_dups = ksm_.stable_node_dups();
  s.cow_copies = stats_.cow_copies;
  s.cow_reuses = stats_.cow_reuses;
  s.page_faults = stats_.page_faults;
  s.zero_page_maps = stats_.zero_page_maps;
  s.wasted_pages = stats_.wasted_pages;
  s.fork_ptes = stats_.fork_ptes;
  s.fork_copies = stats_.fork_copies;
  s.forks = stats_.forks;
  s.exits = stats_.exits;
  s.vma_merges = stats_.vma_merges;
  s.vma_splits = stats_.vma_splits;
  s.pswpin = stats_.pswpin;
  s.pswpout = stats_.pswpout;
  s.pgscan = stats_.pgscan;
  s.pgsteal = stats_.pgsteal;
  s.pgactivate = stats_.pgactivate;
  s.reclaim_rmap_walks = stats_.reclaim_walks;
  s.reclaim_rmap_walk_steps = stats_.reclaim_steps;
  s.swapoff_ptes = stats_.swapoff_ptes;
  s.swapoff_pages = stats_.swapoff_pages;
  s.swapoff_pte_slots = stats_.swapoff_pte_slots;
  s.oom_kills = stats_.oom_kills;
  s.pgmigrate_success = stats_.pgmigrate_success;
  s.pgmigrate_fail = stats_.pgmigrate_fail;
  s.migrate_rmap_walks = stats_.migrate_walks;
  s.migrate_rmap_walk_steps = stats_.migrate_steps;
  s.lru_inactive = lru_.size(Lru::kInactive);
  s.lru_active = lru_.size(Lru::kActive);
  s.thp_fault_alloc = stats_.thp_fault_alloc;
  s.thp_fault_fallback = stats_.thp_fault_fallback;
  s.thp_split_pmd = stats_.thp_split_pmd;
  s.thp_split_page = stats_.thp_split_page;
  s.thp_deferred_split_page = stats_.thp_deferred_split_page;
  s.thp_collapse_alloc = stats_.thp_collapse_alloc;
  s.thp_swpout = stats_.thp_swpout;
  s.thp_swpout_fallback = stats_.thp_swpout_fallback;
  for (int order = kThpMinOrder; order <= kPmdOrder; ++order) {
    s.*kAnonFaultAlloc[order - kThpMinOrder] = stats_.anon_fault_alloc[order];
    s.*kAnonFaultFallback[order - kThpMinOrder] =
        stats_.anon_fault_fallback[order];
  }
  if (rmap_->SwapoffByObjectVisits(0) >= 0)
    s.swapoff_object_visits =
        std::max<int64_t>(stats_.swapoff_object_visits, 0);
  return s;
}

}  // namespace rmaplab
