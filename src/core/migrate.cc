// migrate.cc: page migration (mm/migrate.c: move_pages / do_pages_move,
// add_folio_for_migration, migrate_pages_batch, alloc_migration_target,
// try_to_migrate, folio_migrate_mapping, folio_migrate_ksm,
// remove_migration_ptes), a client of the reverse map like reclaim: every
// mapping of the old folio is found by walking its reverse map (the
// design's, one walk per folio; a KSM page's stable node, rmap_walk_ksm; a
// shmem page's i_mmap), replaced, and the new folio takes every mapping
// back, so the walk of the new folio is exercised too.
//
// A large folio migrates whole, as on x86-64 (thp_migration_supported):
// the target is a folio of the same order on the node, a PMD mapping
// comes back a PMD mapping (set_pmd_migration_entry, remove_migration_pmd)
// and PTE mappings come back PTE mappings.  Only when no such folio can be
// allocated is the folio split and its pages migrated one by one; Linux
// then counts the folio as not migrated (migrate_pages_batch: nr_failed
// stays raised after try_split_folio), so the op fails with EBUSY after
// its pages moved.
//
// move_pages(2) as the trace format (version 2) states it: a page never
// touched (-ENOENT), the zero page or an address outside every vma
// (-EFAULT) are per-page statuses, skipped; a page already on the node
// stays; several addresses of one folio move it once (it is isolated
// once); the op fails only for a missing node (ENODEV), a folio something
// holds that migration cannot move (EBUSY, after the others moved: Linux
// returns the number of folios not migrated) or no memory (ENOMEM).
//
// Invariants:
//  (1) a folio with references beyond its mappings and caches (a pin, as
//      in seed 003's O_DIRECT case; for a large folio its _pincount) is
//      never migrated: the device would write into the old folio;
//  (2) after a migration the old frames are free and every former mapping
//      maps the same page of the new folio, with the same PTE bits (a PMD
//      mapping stays a PMD mapping), and the new folio has the old one's
//      order;
//  (3) a migrated KSM page stays a KSM page: its stable node names the new
//      frame (kpfn) and keeps its rmap_items and forked mappings, so the
//      design's reverse map never sees it.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

namespace {

// add_folio_for_migration(): the page at `addr` whose folio has to move to
// `node`, or kZeroPfn where the status says there is nothing to move.
Pfn PageForMigration(const Kernel& k, const Mm& mm, uint64_t addr, int node) {
  if (!mm.VmaLookup(addr)) return kZeroPfn;  // -EFAULT
  Pte pte = mm.pt.Get(addr);
  if (!pte.present()) return kZeroPfn;  // -ENOENT (swapped: also)
  Pfn pfn = pte.pfn();                  // the zero page: -EFAULT
  if (pfn == kZeroPfn || k.page(pfn).node() == node) return kZeroPfn;
  return pfn;
}

}  // namespace

// One folio on its way: the old and new folios and the old mappings.
struct Kernel::Migration {
  Pfn old = 0, fresh = 0;  // head pfns
  int nr = 1;              // pages in the folio
  // A mapping: one PTE (nr 1) or a PMD mapping (nr kPmdPages, at its
  // 2 MiB aligned address); its PTEs before the move are bits[first, +nr).
  struct Map {
    Vma* vma;
    uint64_t addr;
    int nr;
    size_t first;
  };
  std::vector<Map> maps;
  std::vector<Pte> bits;
  bool in_design = false;  // anonymous pages of the design's rmap (not KSM)
};

// The folio's mappings: one walk of the folio (a large one through
// WalkFolio; a small one through Mappings()), counted as migration's.
void Kernel::MigrationMappings(Migration& m) {
  auto add = [&](Vma* vma, uint64_t addr, int nr) {
    m.maps.push_back({vma, addr, nr, m.bits.size()});
    for (int i = 0; i < nr; ++i)
      m.bits.push_back(*vma->mm->pt.Find(addr + i * kPageSize));
  };
  if (m.nr == 1) {
    for (auto [vma, addr] :
         Mappings(m.old, &stats_.migrate_walks, &stats_.migrate_steps))
      add(vma, addr, 1);
    return;
  }
  std::vector<std::pair<Vma*, uint64_t>> ptes, pmds;
  for (auto [v, addr] :
       FolioMappings(m.old, &stats_.migrate_walks, &stats_.migrate_steps)) {
    if (!v->mm->pt.Get(addr).pmd())
      ptes.emplace_back(v, addr);
    else if (addr % kPmdSize == 0)
      pmds.emplace_back(v, addr);
  }
  for (auto [vma, addr] : pmds) add(vma, addr, kPmdPages);
  for (auto [vma, addr] : ptes) add(vma, addr, 1);
}

// alloc_migration_target() has given m.fresh: it becomes a folio of the
// old one's order on `node`, with its pages' contents and flags.
void Kernel::MigrationNewFolio(Migration& m, int node) {
  Page* op = &Frame(m.old);
  Page* np = &Frame(m.fresh);
  for (int i = 0; i < m.nr; ++i) {
    np[i].content = op[i].content;
    np[i].flags = (op[i].flags & (PG_anon | PG_anon_exclusive | PG_dirty |
                                  PG_referenced | PG_ksm | kFolioOrderMask)) |
                  (uint32_t(node) << kNodeShift);
  }
  if (m.nr == 1) return;
  // The destination is queued for deferred split as the source was.
  FolioInfo f;
  f.partially_mapped = folios_.at(m.old).partially_mapped;
  folios_[m.fresh] = f;
}

// try_to_migrate(): the old folio leaves every mapping (and the design's
// rmap: folio_remove_rmap_pmd / _pte).
void Kernel::TryToMigrate(Migration& m) {
  for (const Migration::Map& map : m.maps) {
    Mm& mm = *map.vma->mm;
    Pfn pfn = m.bits[map.first].pfn();
    Page* pages = &Frame(pfn);
    if (map.nr > 1) {
      if (m.in_design) rmap_->RemoveRmapPmd(pfn, pages, *map.vma, map.addr);
      folios_.at(m.old).entire_mapcount--;
    } else if (m.in_design) {
      rmap_->RemoveRmap(pfn, pages[0], *map.vma, map.addr);
    }
    if (m.nr > 1) FolioSubMapcount(m.old, mm, 1);
    for (int i = 0; i < map.nr; ++i) {
      pages[i].mapcount--;
      pages[i].refcount--;
    }
  }
}

// folio_migrate_mapping() and folio_migrate_ksm(): the swap cache, the
// shmem object and the stable node follow each page.
void Kernel::FolioMigrateMapping(Migration& m) {
  for (int i = 0; i < m.nr; ++i) {
    Pfn old = m.old + i, fresh = m.fresh + i;
    Page& page = Frame(old);
    Page& np = Frame(fresh);
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
      shmem_.at(page.mapping)->pages[page.index] =
          Pte::Present(fresh, false, false, false);
      page.Clear(PG_shmem);
      page.refcount--;
    }
    if (page.Test(PG_ksm)) {
      np.mapping = page.mapping;
      ksm_.SetKpfn(ksm_.NodeOf(page), fresh);
      page.Clear(PG_ksm);  // the old frame is no KSM page: freeing it
      page.mapping = 0;    // leaves the node alone
    }
  }
}

// The design learns mapping `i` of the new folio: a page's first mapping
// gives it its rmap (folio_migrate_mapping hands the new folio the old
// one's anon_vma), later ones add to it; a whole PMD goes as a range.
void Kernel::MigrationAddRmap(Migration& m, size_t i, std::vector<bool>& has) {
  const Migration::Map& map = m.maps[i];
  int first = static_cast<int>(m.bits[map.first].pfn() - m.old);
  Pfn pfn = m.fresh + first;
  Page* pages = &Frame(pfn);
  int fresh = 0;
  for (int j = 0; j < map.nr; ++j) fresh += has[first + j] ? 0 : 1;
  if (map.nr > 1 && fresh == map.nr) {
    rmap_->AddNewAnonRmapFolio(pfn, pages, map.nr, *map.vma, map.addr,
                               pages[0].Test(PG_anon_exclusive));
  } else if (map.nr > 1 && fresh == 0) {
    rmap_->AddAnonRmapPmd(pfn, pages, *map.vma, map.addr);
  } else {
    for (int j = 0; j < map.nr; ++j) {
      uint64_t addr = map.addr + j * kPageSize;
      if (has[first + j])
        rmap_->AddAnonRmap(pfn + j, pages[j], *map.vma, addr);
      else
        rmap_->AddNewAnonRmap(pfn + j, pages[j], *map.vma, addr,
                              pages[j].Test(PG_anon_exclusive));
    }
  }
  for (int j = 0; j < map.nr; ++j) has[first + j] = true;
}

// remove_migration_ptes(): the new folio takes every mapping back, page
// for page, with the old PTEs' bits (kPmd included), then is walked once.
void Kernel::RemoveMigrationPtes(Migration& m) {
  constexpr uint64_t kBits = (uint64_t{1} << Pte::kShift) - 1;
  std::vector<bool> has(m.nr, false);
  for (size_t i = 0; i < m.maps.size(); ++i) {
    const Migration::Map& map = m.maps[i];
    Mm& mm = *map.vma->mm;
    if (m.in_design) MigrationAddRmap(m, i, has);
    if (map.nr > 1) folios_.at(m.fresh).entire_mapcount++;
    if (m.nr > 1) FolioAddMapcount(m.fresh, mm, 1);
    for (int j = 0; j < map.nr; ++j) {
      const Pte& before = m.bits[map.first + j];
      Pfn pfn = m.fresh + (before.pfn() - m.old);
      Frame(pfn).mapcount++;
      Frame(pfn).refcount++;
      *mm.pt.Find(map.addr + j * kPageSize) =
          Pte{(uint64_t{pfn} << Pte::kShift) | (before.v & kBits)};
    }
  }
  if (!Frame(m.fresh).Test(PG_anon) || m.maps.empty()) return;
  if (m.nr > 1) {  // the new folio's walk
    FolioMappings(m.fresh, &stats_.migrate_walks, &stats_.migrate_steps);
    return;
  }
  uint64_t before = stats_.rmap_walk_steps;
  RmapWalk(m.fresh, true, [](Vma&, uint64_t, Pte&) { return true; });
  stats_.migrate_walks++;
  stats_.migrate_steps += stats_.rmap_walk_steps - before;
}

// Whether something holds the folio that migration cannot move: a pin
// (try_to_migrate_one's folio_try_share_anon_rmap fails on a maybe-pinned
// folio), another reference (folio_migrate_mapping's refcount check) or a
// fault in progress.  --unsafe-pin-check skips the first two (the 2008
// race, seed 003).
bool Kernel::MigrationBusy(Pfn head, int nr) const {
  bool exclusive = false, held = false;
  for (int i = 0; i < nr; ++i) {
    const Page& page = Frame(head + i);
    if (page.Test(PG_locked)) return true;
    exclusive |= page.Test(PG_anon_exclusive);
    held |= page.refcount != page.mapcount + (page.Test(PG_swapcache) ? 1 : 0) +
                                 (page.Test(PG_shmem) ? 1 : 0);
  }
  held |= exclusive && FolioMaybeDmaPinned(head);
  return held && !opts_.unsafe_pin_check;
}

// Moves the folio headed by `head` to `node` whole: EBUSY if something
// holds it, ENOMEM if no folio of its order is free there.
Errno Kernel::MigrateFolio(Pfn head, int node) {
  Page& page = Frame(head);
  int nr = 1 << page.order();
  if (MigrationBusy(head, nr)) return Errno::kEBUSY;
  Pfn fresh;
  if (nr > 1) {
    fresh = AllocFolioFrames(page.order());
  } else {
    page.Set(PG_locked);
    fresh = AllocPage();  // may reclaim, but not this locked page
    page.Clear(PG_locked);
  }
  if (fresh == kNoFrame) return Errno::kENOMEM;
  Migration m;
  m.old = head;
  m.fresh = fresh;
  m.nr = nr;
  m.in_design = page.Test(PG_anon) && !page.Test(PG_ksm);
  MigrationMappings(m);
  MigrationNewFolio(m, node);
  TryToMigrate(m);
  FolioMigrateMapping(m);
  RemoveMigrationPtes(m);
  for (int i = 0; i < nr; ++i)
    lru_.AddHead(
        Frame(fresh + i), fresh + i,
        Frame(head + i).Test(PG_active) ? Lru::kActive : Lru::kInactive);
  if (nr == 1 && page.refcount == 0) FreePage(head);
  if (nr > 1 && FolioRefCount(head) == 0) FreeFolio(head);
  return Errno::kOk;
}

// migrate_pages_batch() on -ENOMEM for a large folio: try_split_folio(),
// then each page that is left migrates alone.  The folio counts as not
// migrated, so the result is EBUSY unless memory ran out (ENOMEM).
Errno Kernel::MigrateSplitFolio(Pfn head, int node) {
  Pfn nr = Frame(head).nr_pages();
  if (!SplitFolio(head, false)) return Errno::kEBUSY;
  for (Pfn pfn = head; pfn < head + nr; ++pfn) {
    // Freed by the split (or by reclaim meanwhile) and maybe reused as a
    // target on `node`: nothing to move.
    if (Frame(pfn).refcount == 0 || Frame(pfn).node() == node) continue;
    Errno e = MigrateFolio(pfn, node);
    (e == Errno::kOk ? stats_.pgmigrate_success : stats_.pgmigrate_fail)++;
    if (e == Errno::kENOMEM) return e;
  }
  return Errno::kEBUSY;
}

Errno Kernel::MigratePages(Mm& mm, uint64_t addr, uint64_t len, int node) {
  if (node < 0 || node >= opts_.numa_nodes) return Errno::kENODEV;
  Errno result = Errno::kOk;
  std::vector<Pfn> held;  // large folios that could not move: tried once
  // Folio by folio, looking each address up afresh: migrating one folio
  // may reclaim others (direct reclaim in the allocation).  A folio met
  // again in the range is on `node` by then (or held).
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    Pfn pfn = PageForMigration(*this, mm, a, node);
    if (pfn == kZeroPfn) continue;
    Pfn head = FolioHead(pfn);
    uint64_t nr = uint64_t{1} << Frame(head).order();
    if (std::find(held.begin(), held.end(), head) != held.end()) continue;
    Errno e = MigrateFolio(head, node);
    if (e == Errno::kOk) {
      stats_.pgmigrate_success += nr;
      continue;
    }
    if (e == Errno::kENOMEM && nr > 1) {
      result = MigrateSplitFolio(head, node);
      if (result == Errno::kENOMEM) return result;
      continue;
    }
    stats_.pgmigrate_fail += nr;
    if (e == Errno::kENOMEM) return e;  // migrate_pages() gives up
    if (nr > 1) held.push_back(head);
    result = e;
  }
  return result;
}

}  // namespace rmaplab
