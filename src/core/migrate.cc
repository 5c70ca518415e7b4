// migrate.cc: page migration (mm/migrate.c: migrate_pages, try_to_migrate,
// folio_migrate_mapping, remove_migration_ptes), a client of the reverse
// map like reclaim: every PTE of the old page is found by walking the
// design's rmap (shmem pages: the object's i_mmap), replaced, and the new
// page is added back to the rmap mapping by mapping, so the design's walk
// of the new page is exercised too.
//
// Invariants:
//  (1) a page with references beyond its mappings and caches (a pin, as in
//      seed 003's O_DIRECT case) is never migrated: the device would write
//      into the old page;
//  (2) after a migration the old frame is free and every former mapping
//      maps the new one, with the same write/dirty/young bits.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

// Moves one page to `node`; false if something holds it that migration
// cannot move (folio_migrate_mapping's refcount check).
bool Kernel::MigrateOne(Pfn old, int node) {
  Page& page = Frame(old);
  int32_t expected = page.mapcount + (page.Test(PG_swapcache) ? 1 : 0) +
                     (page.Test(PG_shmem) ? 1 : 0);
  // A pin; --unsafe-pin-check skips this (the 2008 race, seed 003).
  bool extra_refs = page.refcount != expected && !opts_.unsafe_pin_check;
  if (extra_refs || page.Test(PG_ksm) || page.Test(PG_locked)) return false;
  page.Set(PG_locked);
  Pfn got = AllocPage();
  page.Clear(PG_locked);
  if (got == kNoFrame) return false;
  Pfn fresh = got;
  Page& np = Frame(fresh);
  auto maps = Mappings(old, &stats_.migrate_walks, &stats_.migrate_steps);
  bool anon = page.Test(PG_anon);
  bool exclusive = page.Test(PG_anon_exclusive);
  np.content = page.content;
  np.flags = (page.flags & (PG_anon | PG_anon_exclusive | PG_dirty | PG_referenced)) |
             (uint32_t(node) << kNodeShift);
  // try_to_migrate(): the old page leaves every PTE and the rmap.
  std::vector<Pte> bits;
  for (auto [vma, addr] : maps) {
    Pte& pte = *vma->mm->pt.Find(addr);
    bits.push_back(pte);
    if (anon) rmap_->RemoveRmap(old, page, *vma, addr);
    page.mapcount--;
    page.refcount--;
  }
  // folio_migrate_mapping(): caches follow the page.
  if (page.Test(PG_swapcache)) {
    uint64_t slot = swap_.cache_index().at(old);
    swap_.cache_index().erase(old);
    swap_.cache_index()[fresh] = slot;
    swap_.slot(slot).cache = fresh;
    np.Set(PG_swapcache);
    np.refcount++;
    page.Clear(PG_swapcache);
    page.refcount--;
  }
  if (page.Test(PG_shmem)) {
    np.Set(PG_shmem);
    np.mapping = page.mapping;
    np.index = page.index;
    np.refcount++;
    shmem_.at(page.mapping)->pages[page.index] = Pte::Present(fresh, false, false, false);
    page.Clear(PG_shmem);
    page.refcount--;
  }
  // remove_migration_ptes(): the new page takes every mapping back.
  for (size_t i = 0; i < maps.size(); ++i) {
    auto [vma, addr] = maps[i];
    if (anon && i == 0) rmap_->AddNewAnonRmap(fresh, np, *vma, addr, exclusive);
    else if (anon) rmap_->AddAnonRmap(fresh, np, *vma, addr);
    np.mapcount++;
    np.refcount++;
    Pte& pte = *vma->mm->pt.Find(addr);
    pte = Pte{(uint64_t{fresh} << Pte::kShift) | (bits[i].v & ((1u << Pte::kShift) - 1))};
  }
  if (anon && !maps.empty()) {
    uint64_t before = stats_.rmap_walk_steps;
    RmapWalk(fresh, true, [](Vma&, uint64_t, Pte&) { return true; });
    stats_.migrate_walks++;
    stats_.migrate_steps += stats_.rmap_walk_steps - before;
  }
  lru_.AddHead(np, fresh, page.Test(PG_active) ? Lru::kActive : Lru::kInactive);
  if (page.refcount == 0) FreePage(old);
  return true;
}

Errno Kernel::MigratePages(Mm& mm, uint64_t addr, uint64_t len, int node) {
  if (node < 0 || node >= opts_.numa_nodes) return Errno::kENODEV;
  bool efault = false;
  // Page by page, looking each one up afresh: migrating one page may
  // reclaim others (direct reclaim in the allocation).  A page mapped twice
  // in the range is on `node` by the time its second address comes up.
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    // add_page_for_migration(): a page outside every vma, or the zero page,
    // gets status -EFAULT (move_pages(2)); the others still move, and the
    // trace format reports the call as EFAULT.
    Pte pte = mm.pt.Get(a);
    if (!mm.VmaLookup(a) || (pte.present() && pte.pfn() == kZeroPfn)) {
      efault = true;
      continue;
    }
    if (!pte.present()) continue;  // -ENOENT: skipped
    if (Frame(pte.pfn()).node() == node) continue;
    if (MigrateOne(pte.pfn(), node)) stats_.pgmigrate_success++;
    else stats_.pgmigrate_fail++;
  }
  return efault ? Errno::kEFAULT : Errno::kOk;
}

}  // namespace rmaplab
