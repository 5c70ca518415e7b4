// migrate.cc: page migration (mm/migrate.c: move_pages / do_pages_move,
// add_page_for_migration, migrate_pages, try_to_migrate,
// folio_migrate_mapping, folio_migrate_ksm, remove_migration_ptes), a
// client of the reverse map like reclaim: every PTE of the old page is
// found by walking its reverse map (the design's; a KSM page's stable node,
// rmap_walk_ksm; a shmem page's i_mmap), replaced, and the new page takes
// every mapping back, so the walk of the new page is exercised too.
//
// move_pages(2) as the trace format (version 2) states it: a page never
// touched (-ENOENT), the zero page or an address outside every vma
// (-EFAULT) are per-page statuses, skipped; a page already on the node
// stays; the op fails only for a missing node (ENODEV), a page something
// holds that migration cannot move (EBUSY, after the others moved: Linux
// returns the number of pages not migrated) or no memory (ENOMEM).
//
// Invariants:
//  (1) a page with references beyond its mappings and caches (a pin, as in
//      seed 003's O_DIRECT case) is never migrated: the device would write
//      into the old page;
//  (2) after a migration the old frame is free and every former mapping
//      maps the new one, with the same write/dirty/young bits;
//  (3) a migrated KSM page stays a KSM page: its stable node names the new
//      frame (kpfn) and keeps its rmap_items and forked mappings, so the
//      design's reverse map never sees it.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

namespace {

// add_page_for_migration(): the page at `addr` that has to move to `node`,
// or kZeroPfn where the status says there is nothing to move.
Pfn PageForMigration(const Kernel& k, const Mm& mm, uint64_t addr, int node) {
  if (!mm.VmaLookup(addr)) return kZeroPfn;  // -EFAULT
  Pte pte = mm.pt.Get(addr);
  if (!pte.present()) return kZeroPfn;  // -ENOENT (swapped: also)
  Pfn pfn = pte.pfn();                  // the zero page: -EFAULT
  if (pfn == kZeroPfn || k.page(pfn).node() == node) return kZeroPfn;
  return pfn;
}

}  // namespace

// One page on its way: the old and new frames and the old PTEs.
struct Kernel::Migration {
  Pfn old = 0, fresh = 0;
  std::vector<std::pair<Vma*, uint64_t>> maps;
  std::vector<Pte> bits;   // each mapping's PTE before the move
  bool in_design = false;  // an anonymous page of the design's rmap (not KSM)
  bool exclusive = false;  // PageAnonExclusive
};

// try_to_migrate(): the old page leaves every PTE (and the design's rmap).
void Kernel::TryToMigrate(Migration& m) {
  Page& page = Frame(m.old);
  for (auto [vma, addr] : m.maps) {
    m.bits.push_back(*vma->mm->pt.Find(addr));
    if (m.in_design) rmap_->RemoveRmap(m.old, page, *vma, addr);
    page.mapcount--;
    page.refcount--;
  }
}

// folio_migrate_mapping() and folio_migrate_ksm(): the swap cache, the
// shmem object and the stable node follow the page.
void Kernel::FolioMigrateMapping(Migration& m) {
  Page& page = Frame(m.old);
  Page& np = Frame(m.fresh);
  if (page.Test(PG_swapcache)) {
    uint64_t slot = swap_.cache_index().at(m.old);
    swap_.cache_index().erase(m.old);
    swap_.cache_index()[m.fresh] = slot;
    swap_.slot(slot).cache = m.fresh;
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
    shmem_.at(page.mapping)->pages[page.index] =
        Pte::Present(m.fresh, false, false, false);
    page.Clear(PG_shmem);
    page.refcount--;
  }
  if (page.Test(PG_ksm)) {
    np.mapping = page.mapping;
    ksm_.SetKpfn(ksm_.NodeOf(page), m.fresh);
    page.Clear(PG_ksm);  // the old frame is no KSM page: freeing it
    page.mapping = 0;    // leaves the node alone
  }
}

// remove_migration_ptes(): the new page takes every mapping back, with the
// old PTE's bits.
void Kernel::RemoveMigrationPtes(Migration& m) {
  Page& np = Frame(m.fresh);
  for (size_t i = 0; i < m.maps.size(); ++i) {
    auto [vma, addr] = m.maps[i];
    if (m.in_design && i == 0)
      rmap_->AddNewAnonRmap(m.fresh, np, *vma, addr, m.exclusive);
    else if (m.in_design)
      rmap_->AddAnonRmap(m.fresh, np, *vma, addr);
    np.mapcount++;
    np.refcount++;
    constexpr uint64_t kBits = (uint64_t{1} << Pte::kShift) - 1;
    *vma->mm->pt.Find(addr) =
        Pte{(uint64_t{m.fresh} << Pte::kShift) | (m.bits[i].v & kBits)};
  }
  if (np.Test(PG_anon) && !m.maps.empty()) {  // the new page's walk
    uint64_t before = stats_.rmap_walk_steps;
    RmapWalk(m.fresh, true, [](Vma&, uint64_t, Pte&) { return true; });
    stats_.migrate_walks++;
    stats_.migrate_steps += stats_.rmap_walk_steps - before;
  }
}

// Moves one page to `node`: EBUSY if something holds it that migration
// cannot move (folio_migrate_mapping's refcount check), ENOMEM if no frame.
Errno Kernel::MigrateOne(Pfn old, int node) {
  Page& page = Frame(old);
  int32_t expected = page.mapcount + (page.Test(PG_swapcache) ? 1 : 0) +
                     (page.Test(PG_shmem) ? 1 : 0);
  // A pin; --unsafe-pin-check skips this (the 2008 race, seed 003).
  bool extra_refs = page.refcount != expected && !opts_.unsafe_pin_check;
  if (extra_refs || page.Test(PG_locked)) return Errno::kEBUSY;
  page.Set(PG_locked);
  Pfn fresh = AllocPage();  // may reclaim, but not this locked page
  page.Clear(PG_locked);
  if (fresh == kNoFrame) return Errno::kENOMEM;
  Migration m;
  m.old = old;
  m.fresh = fresh;
  m.maps = Mappings(old, &stats_.migrate_walks, &stats_.migrate_steps);
  m.in_design = page.Test(PG_anon) && !page.Test(PG_ksm);
  m.exclusive = page.Test(PG_anon_exclusive);
  Page& np = Frame(fresh);
  np.content = page.content;
  np.flags = (page.flags & (PG_anon | PG_anon_exclusive | PG_dirty |
                            PG_referenced | PG_ksm)) |
             (uint32_t(node) << kNodeShift);
  TryToMigrate(m);
  FolioMigrateMapping(m);
  RemoveMigrationPtes(m);
  lru_.AddHead(np, fresh, page.Test(PG_active) ? Lru::kActive : Lru::kInactive);
  if (page.refcount == 0) FreePage(old);
  return Errno::kOk;
}

Errno Kernel::MigratePages(Mm& mm, uint64_t addr, uint64_t len, int node) {
  if (node < 0 || node >= opts_.numa_nodes) return Errno::kENODEV;
  Errno result = Errno::kOk;
  // Page by page, looking each one up afresh: migrating one page may
  // reclaim others (direct reclaim in the allocation).  A page mapped twice
  // in the range is on `node` by the time its second address comes up.
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    Pfn pfn = PageForMigration(*this, mm, a, node);
    if (pfn == kZeroPfn) continue;
    SplitFolio(pfn, false);  // 4 KiB migration only so far: split first
    Errno e = MigrateOne(pfn, node);
    if (e == Errno::kOk) {
      stats_.pgmigrate_success++;
      continue;
    }
    stats_.pgmigrate_fail++;
    if (e == Errno::kENOMEM) return e;  // migrate_pages() gives up
    result = e;
  }
  return result;
}

}  // namespace rmaplab
