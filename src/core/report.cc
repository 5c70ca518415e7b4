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
      *value = e.present() ? Frame(e.pfn()).content : SwapContent(e.swp_offset());
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
    if (pte.pfn() == kZeroPfn) {
      e.zero = true;  // not a normal page: never "exclusive"
    } else {
      const Page& page = Frame(pte.pfn());
      e.exclusive = page.mapcount == 1;
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

// Every design prints the same keys, but for swapoff_object_visits: only a
// design with an object index (anon_inode) has that alternative at all.
std::vector<std::pair<std::string, uint64_t>> Kernel::Stats() const {
  uint64_t vmas = 0;
  uint64_t ptes = 0;
  for (const auto& [pid, mm] : procs_) {
    vmas += mm->vmas.size();
    ptes += mm->pt.leaf_count() * PageTable::kLeafEntries;
  }
  const RmapStats& rs = rmap_->stats();
  std::vector<std::pair<std::string, uint64_t>> out = {
      {"pages_resident", resident_},
      {"pages_swapped", swap_.used() - swap_.cache_index().size()},
      {"swap_slots_used", swap_.used()},
      {"vmas", vmas},
      {"processes", procs_.size()},
      {"rmap_bytes", rmap_->MetadataBytes(Layout::kX86_64)},
      {"rmap_bytes_i386", rmap_->MetadataBytes(Layout::kI386)},
      // struct page under the design, i386 (seed 001's 48-byte baseline).
      {"page_struct_bytes_i386",
       static_cast<uint64_t>(48 + rmap_->PageBytesDelta(Layout::kI386))},
      {"rmap_walks", stats_.rmap_walks},
      {"rmap_walk_steps", stats_.rmap_walk_steps},
      {"rmap_wasted_steps", rs.wasted_steps},
      {"rmap_lock_acquisitions", rs.lock_acquisitions},
      {"rmap_chain_entries", rs.chain_entries},
      {"rmap_fork_work", rs.fork_work},
      {"rmap_exit_work", rs.exit_work},
      {"ksm_pages_shared", ksm_.pages_shared()},
      {"ksm_pages_sharing", ksm_.pages_sharing()},
      {"ksm_pages_unshared", ksm_.pages_unshared()},
      {"ksm_full_scans", ksm_.full_scans()},
      {"cow_copies", stats_.cow_copies},
      {"cow_reuses", stats_.cow_reuses},
      {"page_faults", stats_.page_faults},
      {"zero_page_maps", stats_.zero_page_maps},
      {"wasted_pages", stats_.wasted_pages},
      {"fork_ptes", stats_.fork_ptes},
      {"fork_copies", stats_.fork_copies},
      {"forks", stats_.forks},
      {"exits", stats_.exits},
      {"vma_merges", stats_.vma_merges},
      {"vma_splits", stats_.vma_splits},
      {"pte_slots", ptes},
      {"pswpin", stats_.pswpin},
      {"pswpout", stats_.pswpout},
      {"pgscan", stats_.pgscan},
      {"pgsteal", stats_.pgsteal},
      {"pgactivate", stats_.pgactivate},
      {"reclaim_rmap_walks", stats_.reclaim_walks},
      {"reclaim_rmap_walk_steps", stats_.reclaim_steps},
      {"swapoff_ptes", stats_.swapoff_ptes},
      {"swapoff_pages", stats_.swapoff_pages},
      {"swapoff_pte_slots", stats_.swapoff_pte_slots},

      {"oom_kills", stats_.oom_kills},
      {"pgmigrate_success", stats_.pgmigrate_success},
      {"pgmigrate_fail", stats_.pgmigrate_fail},
      {"migrate_rmap_walks", stats_.migrate_walks},
      {"migrate_rmap_walk_steps", stats_.migrate_steps},
      {"lru_inactive", lru_.size(Lru::kInactive)},
      {"lru_active", lru_.size(Lru::kActive)},
  };
  if (rmap_->SwapoffByObjectVisits(0) >= 0)
    out.emplace_back("swapoff_object_visits",
                     std::max<int64_t>(stats_.swapoff_object_visits, 0));
  return out;
}

}  // namespace rmaplab
