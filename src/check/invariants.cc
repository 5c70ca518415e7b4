// invariants.cc: CheckInvariants(), the whole-state checker (like
// validate_mm() plus the rmap and refcount audits a kernel developer runs
// by hand).  It reads the model without changing it or its counters.
//
// It checks, in order:
//  (1) each mm's VMAs: sorted, non-empty, page aligned, non-overlapping,
//      owned by the mm, shared <=> shmem object, no anon_vma on shmem;
//  (2) each PTE lies inside a VMA and maps an allocated frame (or the zero
//      page); a writable private PTE maps a PageAnonExclusive page;
//  (3) each allocated frame: mapcount == PTEs mapping it, refcount ==
//      mapcount + pin references + shmem/swap-cache references (a pin is
//      kPinBias references on a 4 KiB folio, one on a page of a large
//      folio), so nothing is referenced that is not counted and nothing
//      counted is lost;
//  (4) each mapped anonymous page: the reverse-map walk yields exactly the
//      PTEs that map it;
//  (5) shmem objects and their i_mmap lists agree with the VMAs;
//  (6) swap: every slot's count equals the swap PTEs and shmem entries
//      holding it, a slot with no count still has a swap-cache page, the
//      swap cache and PG_swapcache agree, and no large folio stays in the
//      swap cache after an op;
//  (7) LRU: every allocated page is on one list, and the lists' sizes add
//      up;
//  (8) KSM: every KSM page is anonymous, never exclusive, and the page of
//      a live stable node; KSM's own bookkeeping (core/ksm.h);
//  (9) the design's own invariants;
//  (10) large folios (core/huge_memory.cc): each known to the kernel, whole
//      (one order, aligned, not leaked), entire mapcount == its PMD
//      mappings, large mapcount == PTE + PMD mappings, per-page mapcounts
//      adding up, the mm_id slots and the shared bit never claiming
//      exclusivity wrongly, PMD mappings well formed, and a walk per folio
//      finding every mapping of every page (no folio split twice: a split
//      one is no longer in the table and its pages have order 0); its
//      _pincount equals the pins the mms hold on its pages.
#include "check/invariants.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rmaplab {
namespace {

std::string Fmt(const char* fmt, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  char buf[200];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

Status CheckVmas(const Mm& mm) {
  uint64_t last_end = 0;
  for (const auto& [start, vma] : mm.vmas) {
    if (vma->start != start || vma->start >= vma->end ||
        vma->start % kPageSize || vma->end % kPageSize)
      return Status::Error(Fmt("vma %" PRIx64 "-%" PRIx64 " is malformed",
                               vma->start, vma->end));
    if (vma->start < last_end)
      return Status::Error(
          Fmt("vma %" PRIx64 " overlaps the one before", vma->start));
    if (vma->mm != &mm)
      return Status::Error(Fmt("vma %" PRIx64 " has the wrong mm", vma->start));
    bool shared = vma->flags & VM_SHARED;
    if (shared != (vma->shmem != nullptr) || (vma->shmem && vma->anon_vma))
      return Status::Error(
          Fmt("vma %" PRIx64 ": shared/shmem/anon_vma disagree", vma->start));
    if (vma->shmem) {
      auto& im = vma->shmem->i_mmap;
      if (std::find(im.begin(), im.end(), vma.get()) == im.end())
        return Status::Error(Fmt(
            "vma %" PRIx64 " missing from its object's i_mmap", vma->start));
    }
    last_end = vma->end;
  }
  return Status::Ok();
}

struct PageUse {
  int ptes = 0;
  int pins = 0;
  std::vector<std::pair<const Mm*, uint64_t>> anon_maps;
};

Status CheckPtes(const Kernel& k, const Mm& mm,
                 std::unordered_map<Pfn, PageUse>& use) {
  Status st;
  mm.pt.ForEach(0, ~0ULL, [&](uint64_t addr, const Pte& pte) {
    if (!st.ok()) return;
    const Vma* vma = mm.VmaLookup(addr);
    if (!vma) {
      st = Status::Error(Fmt(
          "pid %" PRIu64 ": PTE at %" PRIx64 " outside any vma", mm.pid, addr));
      return;
    }
    if (!pte.present() || pte.pfn() == kZeroPfn) {
      if (pte.present() && pte.write())
        st = Status::Error(Fmt("pid %" PRIu64
                               ": zero page mapped writable at %" PRIx64,
                               mm.pid, addr));
      return;
    }
    const Page& page = k.page(pte.pfn());
    if (pte.pfn() >= k.frame_count() || page.refcount <= 0) {
      st = Status::Error(Fmt("pid %" PRIu64 ": PTE at %" PRIx64
                             " maps free frame %" PRIu64,
                             mm.pid, addr, pte.pfn()));
      return;
    }
    if (!vma->shmem && pte.write() && !page.Test(PG_anon_exclusive)) {
      st = Status::Error(Fmt("pid %" PRIu64 ": writable PTE at %" PRIx64
                             " maps a page that is not exclusive",
                             mm.pid, addr));
      return;
    }
    PageUse& u = use[pte.pfn()];
    u.ptes++;
    if (page.Test(PG_anon)) u.anon_maps.emplace_back(&mm, addr);
  });
  return st;
}

Status CheckFrames(const Kernel& k, std::unordered_map<Pfn, PageUse>& use) {
  uint64_t allocated = 0;
  for (Pfn pfn = 1; pfn < k.frame_count(); ++pfn) {
    const Page& page = k.page(pfn);
    if (page.refcount == 0 && !page.large()) {
      if (page.flags || page.mapcount)
        return Status::Error(Fmt("free frame %" PRIu64 " is not clean", pfn));
      continue;
    }
    allocated++;
    PageUse& u = use[pfn];
    if (page.mapcount != u.ptes)
      return Status::Error(Fmt("frame %" PRIu64 ": mapcount %" PRIu64
                               " but %" PRIu64 " PTEs",
                               pfn, page.mapcount, u.ptes));
    int64_t pin_refs = page.large() ? 1 : kPinBias;
    int64_t want = int64_t{page.mapcount} + pin_refs * u.pins +
                   (page.Test(PG_swapcache) ? 1 : 0) +
                   (page.Test(PG_shmem) ? 1 : 0);
    if (page.refcount != want)
      return Status::Error(Fmt("frame %" PRIu64 ": refcount %" PRIu64
                               ", references add up to %" PRIu64,
                               pfn, page.refcount, want));
    // A page can outlive its shmem object when a pin holds it: the last
    // munmap truncates the object (the page leaves the page cache, as
    // truncate_inode_pages() does) but the pin's reference keeps it.
    if (!page.Test(PG_anon) && !page.Test(PG_shmem) && u.pins == 0)
      return Status::Error(
          Fmt("frame %" PRIu64
              " is neither anon nor shmem nor pinned (flags %" PRIx64
              ", refcount %" PRIu64 ")",
              pfn, page.flags, page.refcount));
  }
  if (allocated != k.resident_pages())
    return Status::Error(Fmt("%" PRIu64 " frames in use, %" PRIu64
                             " counted resident",
                             allocated, k.resident_pages()));
  return Status::Ok();
}

Status CheckRmap(const Kernel& k, std::unordered_map<Pfn, PageUse>& use) {
  for (auto& [pfn, u] : use) {
    if (u.anon_maps.empty()) continue;
    std::vector<std::pair<const Mm*, uint64_t>> found;
    k.RmapWalk(pfn, [&](const Vma& vma, uint64_t addr, const Pte&) {
      found.emplace_back(vma.mm, addr);
      return true;
    });
    std::sort(found.begin(), found.end());
    std::sort(u.anon_maps.begin(), u.anon_maps.end());
    if (found != u.anon_maps) {
      const auto& miss = u.anon_maps.front();
      return Status::Error(Fmt("rmap walk of frame %" PRIu64 " found %" PRIu64
                               " of its %" PRIu64 " mappings",
                               pfn, found.size(), u.anon_maps.size()) +
                           Fmt(" (pid %" PRIu64 " at %" PRIx64 ")",
                               miss.first->pid, miss.second));
    }
  }
  return Status::Ok();
}

// Large folios (core/huge_memory.cc invariants): the side table, PMD
// mappings, entire and large mapcounts, the mm_id slots, and a walk per
// folio that finds every mapping of every page.
struct FolioUse {
  int pmds = 0;
  int ptes = 0;  // PTE mappings (not kPmd)
  std::map<uint32_t, int> by_mm;
  std::vector<std::pair<const Mm*, uint64_t>> maps;
};

Status CheckPmds(const Kernel& k, const Mm& mm,
                 std::map<Pfn, FolioUse>& folios) {
  Status st;
  mm.pt.ForEach(0, ~0ULL, [&](uint64_t addr, const Pte& pte) {
    if (!st.ok() || !pte.present()) return;
    uint64_t haddr = addr & ~(kPmdSize - 1);
    Pte first = mm.pt.Get(haddr);
    if (pte.pmd()) {
      bool zero = first.pfn() == kZeroPfn;
      Pfn want = zero ? kZeroPfn : first.pfn() + ((addr - haddr) >> kPageShift);
      if (!first.pmd() || pte.pfn() != want ||
          (!zero && ((first.pfn() & (kPmdPages - 1)) ||
                     k.page(first.pfn()).order() != kPmdOrder))) {
        st = Status::Error(Fmt("pid %" PRIu64 ": PMD mapping at %" PRIx64
                               " is not 512 PTEs of one 2 MiB folio",
                               mm.pid, haddr));
        return;
      }
    }
    if (pte.pfn() == kZeroPfn || !k.page(pte.pfn()).large()) return;
    const Page& page = k.page(pte.pfn());
    Pfn head = pte.pfn() & ~((Pfn{1} << page.order()) - 1);
    FolioUse& u = folios[head];
    u.maps.emplace_back(&mm, addr);
    if (pte.pmd() && addr != haddr) return;
    (pte.pmd() ? u.pmds : u.ptes)++;
    u.by_mm[mm.pid]++;
  });
  return st;
}

Status CheckFolio(const Kernel& k, Pfn head, const FolioInfo& f, FolioUse& u,
                  const std::unordered_map<Pfn, PageUse>& pages) {
  const Page& hp = k.page(head);
  int nr = 1 << hp.order();
  if (!hp.large() || (head & (nr - 1)))
    return Status::Error(Fmt("folio %" PRIu64 " is not a large folio head "
                             "(order %" PRIu64 ")",
                             head, hp.order()));
  int64_t mapcounts = 0, refs = 0, pins = 0;
  for (int i = 0; i < nr; ++i) {
    const Page& p = k.page(head + i);
    if (p.order() != hp.order())
      return Status::Error(Fmt("folio %" PRIu64 ": page %" PRIu64
                               " has another order",
                               head, head + i));
    mapcounts += p.mapcount;
    refs += p.refcount;
    auto it = pages.find(head + i);
    if (it != pages.end()) pins += it->second.pins;
  }
  if (refs == 0)
    return Status::Error(Fmt("folio %" PRIu64 " leaked: no reference", head));
  if (f.pincount != pins)
    return Status::Error(Fmt("folio %" PRIu64 ": pincount %" PRIu64
                             " but the mms hold %" PRIu64 " pins on it",
                             head, f.pincount, pins));
  if (f.entire_mapcount != u.pmds || f.large_mapcount != u.ptes + u.pmds ||
      mapcounts != u.ptes + int64_t{nr} * u.pmds)
    return Status::Error(
        Fmt("folio %" PRIu64 ": entire mapcount %" PRIu64
            ", large mapcount %" PRIu64,
            head, f.entire_mapcount, f.large_mapcount) +
        Fmt(" but %" PRIu64 " PMDs and %" PRIu64 " PTEs", u.pmds, u.ptes));
  for (int s = 0; s < 2; ++s)
    if (f.mm_id[s] && f.mm_id_mapcount[s] > u.by_mm[f.mm_id[s]])
      return Status::Error(Fmt("folio %" PRIu64 ": mm_id %" PRIu64
                               " slot counts %" PRIu64 " mappings",
                               head, f.mm_id[s], f.mm_id_mapcount[s]));
  if (!f.maybe_mapped_shared && u.by_mm.size() > 1)
    return Status::Error(Fmt("folio %" PRIu64 " is mapped by %" PRIu64
                             " mms but not maybe-mapped-shared",
                             head, u.by_mm.size()));
  std::vector<std::pair<const Mm*, uint64_t>> found;
  k.RmapWalkFolio(head, [&](const Vma& vma, uint64_t addr, const Pte&) {
    found.emplace_back(vma.mm, addr);
    return true;
  });
  std::sort(found.begin(), found.end());
  std::sort(u.maps.begin(), u.maps.end());
  if (found != u.maps)
    return Status::Error(Fmt("folio walk of %" PRIu64 " found %" PRIu64
                             " of its %" PRIu64 " mappings",
                             head, found.size(), u.maps.size()));
  return Status::Ok();
}

Status CheckFolios(const Kernel& k,
                   const std::unordered_map<Pfn, PageUse>& pages) {
  std::map<Pfn, FolioUse> use;
  for (const auto& [pid, mm] : k.processes())
    if (Status s = CheckPmds(k, *mm, use); !s.ok()) return s;
  for (Pfn pfn = 1; pfn < k.frame_count(); ++pfn) {
    const Page& page = k.page(pfn);
    if (!page.large()) continue;
    Pfn head = pfn & ~((Pfn{1} << page.order()) - 1);
    if (!k.folios().count(head))
      return Status::Error(Fmt("frame %" PRIu64 " is in a large folio (order "
                               "%" PRIu64 ") the kernel does not know",
                               pfn, page.order()));
  }
  for (const auto& [head, f] : k.folios())
    if (Status s = CheckFolio(k, head, f, use[head], pages); !s.ok()) return s;
  return Status::Ok();
}

Status CheckSwap(const Kernel& k) {
  std::unordered_map<uint64_t, uint64_t> refs;
  for (const auto& [pid, mm] : k.processes())
    mm->pt.ForEach(0, ~0ULL, [&](uint64_t, const Pte& pte) {
      if (pte.is_swap()) refs[pte.swp_offset()]++;
    });
  for (const auto& [id, obj] : k.shmem())
    for (const auto& [pgoff, e] : obj->pages)
      if (e.is_swap()) refs[e.swp_offset()]++;
  const SwapArea& swap = k.swap();
  uint64_t used = 0;
  for (uint64_t s = 0; s < swap.size(); ++s) {
    const SwapSlot& slot = swap.slot(s);
    uint64_t want = refs.count(s) ? refs[s] : 0;
    if (!slot.used) {
      if (want)
        return Status::Error(Fmt("swap slot %" PRIu64 " is free but %" PRIu64
                                 " PTEs hold it",
                                 s, want));
      continue;
    }
    used++;
    if (slot.count != want)
      return Status::Error(Fmt("swap slot %" PRIu64 ": count %" PRIu64
                               ", %" PRIu64 " references",
                               s, slot.count, want));
    if (slot.count == 0 && !slot.cache)
      return Status::Error(
          Fmt("swap slot %" PRIu64 " leaked: no reference, no page", s));
    if (slot.cache) {
      const Page& page = k.page(slot.cache);
      auto it = swap.cache_index().find(slot.cache);
      if (!page.Test(PG_swapcache) || it == swap.cache_index().end() ||
          it->second != s)
        return Status::Error(Fmt("swap slot %" PRIu64
                                 " and its cache page %" PRIu64 " disagree",
                                 s, slot.cache));
      if (page.large())  // core/swap.h (4)
        return Status::Error(Fmt("swap slot %" PRIu64 " caches page %" PRIu64
                                 " of a large folio after the op",
                                 s, slot.cache));
    }
  }
  if (used != swap.used())
    return Status::Error(Fmt("%" PRIu64 " swap slots in use, %" PRIu64
                             " counted",
                             used, swap.used()));
  for (const auto& [pfn, s] : swap.cache_index())
    if (swap.slot(s).cache != pfn)
      return Status::Error(
          Fmt("swap cache page %" PRIu64 " not in slot %" PRIu64, pfn, s));
  return Status::Ok();
}

Status CheckLru(const Kernel& k) {
  uint64_t on_lru = 0;
  for (Pfn pfn = 1; pfn < k.frame_count(); ++pfn) {
    const Page& page = k.page(pfn);
    if (page.refcount > 0 && !page.Test(PG_lru))
      return Status::Error(
          Fmt("frame %" PRIu64 " is in use but on no LRU list", pfn));
    if (page.Test(PG_swapcache) && !k.swap().cache_index().count(pfn))
      return Status::Error(Fmt("frame %" PRIu64 " claims the swap cache", pfn));
    if (page.Test(PG_locked))
      return Status::Error(
          Fmt("frame %" PRIu64 " is still locked after the op", pfn));
    on_lru += page.Test(PG_lru);
  }
  uint64_t listed = k.lru().size(Lru::kInactive) + k.lru().size(Lru::kActive);
  if (on_lru != listed)
    return Status::Error(Fmt("%" PRIu64
                             " pages say PG_lru, the lists hold %" PRIu64,
                             on_lru, listed));
  return Status::Ok();
}

Status CheckShmem(const Kernel& k) {
  for (const auto& [id, obj] : k.shmem()) {
    if (obj->i_mmap.empty())
      return Status::Error(
          Fmt("shmem object %" PRIu64 " has no mappers but lives", id));
    for (const Vma* v : obj->i_mmap)
      if (v->shmem != obj.get())
        return Status::Error(
            Fmt("shmem object %" PRIu64 ": i_mmap holds a stranger", id));
    for (const auto& [pgoff, pte] : obj->pages) {
      if (!pte.present()) continue;
      const Page& page = k.page(pte.pfn());
      if (!page.Test(PG_shmem) || page.mapping != id || page.index != pgoff)
        return Status::Error(Fmt(
            "shmem object %" PRIu64 " page %" PRIu64 " disagrees", id, pgoff));
    }
  }
  return Status::Ok();
}

Status CheckKsm(const Kernel& k) {
  for (Pfn pfn = 1; pfn < k.frame_count(); ++pfn) {
    const Page& page = k.page(pfn);
    if (page.refcount == 0 || !page.Test(PG_ksm)) continue;
    const StableNode* node = k.ksm().FindNode(page.mapping);
    if (!page.Test(PG_anon) || page.Test(PG_anon_exclusive) || !node ||
        node->kpfn != pfn)
      return Status::Error(
          Fmt("KSM page %" PRIu64 " has no stable node of its own", pfn));
  }
  return k.ksm().CheckInvariants();
}

}  // namespace

Status CheckInvariants(const Kernel& k) {
  std::unordered_map<Pfn, PageUse> use;
  for (const auto& [pid, mm] : k.processes()) {
    if (Status s = CheckVmas(*mm); !s.ok())
      return Status::Error("pid " + std::to_string(pid) + ": " + s.message());
    if (Status s = CheckPtes(k, *mm, use); !s.ok()) return s;
    for (const Pin& pin : mm->pins) use[pin.pfn].pins++;
  }
  if (Status s = CheckFrames(k, use); !s.ok()) return s;
  if (Status s = CheckRmap(k, use); !s.ok()) return s;
  if (Status s = CheckFolios(k, use); !s.ok()) return s;
  if (Status s = CheckShmem(k); !s.ok()) return s;
  if (Status s = CheckSwap(k); !s.ok()) return s;
  if (Status s = CheckLru(k); !s.ok()) return s;
  if (Status s = CheckKsm(k); !s.ok()) return s;
  return k.rmap().CheckInvariants();
}

}  // namespace rmaplab
