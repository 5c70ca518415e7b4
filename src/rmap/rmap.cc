// rmap.cc: the logic Linux's mm/rmap.c has once and every design shares:
// anon_vma_compatible(), find_mergeable_anon_vma() and what
// folio_set_stable_node() does to a page's reverse-map fields.
#include "rmap/rmap.h"

namespace rmaplab {

bool AnonVmaCompatible(const Vma& a, const Vma& b) {
  return a.end == b.start && a.shmem == b.shmem &&
         !((a.flags ^ b.flags) & ~VM_ACCESS_FLAGS) &&
         b.pgoff == a.pgoff + ((b.start - a.start) >> kPageShift);
}

namespace {

// reusable_anon_vma(): old's anon_vma, if a and b are compatible.
void* Reusable(const Vma& old, const Vma& a, const Vma& b,
               bool (*reusable)(const Vma&)) {
  if (!old.anon_vma || !AnonVmaCompatible(a, b)) return nullptr;
  return !reusable || reusable(old) ? old.anon_vma.get() : nullptr;
}

}  // namespace

void* FindMergeableAnonVma(const Vma& vma, const Vma* prev, const Vma* next,
                           bool (*reusable)(const Vma& old)) {
  if (next)
    if (void* av = Reusable(*next, vma, *next, reusable)) return av;
  return prev ? Reusable(*prev, *prev, vma, reusable) : nullptr;
}

void ReverseMap::AddNewAnonRmapFolio(Pfn pfn, Page* pages, int nr, Vma& vma,
                                     uint64_t addr, bool exclusive) {
  for (int i = 0; i < nr; ++i)
    AddNewAnonRmap(pfn + i, pages[i], vma, addr + i * kPageSize, exclusive);
}

void ReverseMap::AddAnonRmapPtes(Pfn pfn, Page* pages, int nr, Vma& vma,
                                 uint64_t addr) {
  for (int i = 0; i < nr; ++i)
    AddAnonRmap(pfn + i, pages[i], vma, addr + i * kPageSize);
}

void ReverseMap::DupAnonRmapPtes(Pfn pfn, Page* pages, int nr, Vma& child_vma,
                                 uint64_t addr) {
  for (int i = 0; i < nr; ++i)
    DupAnonRmap(pfn + i, pages[i], child_vma, addr + i * kPageSize);
}

void ReverseMap::RemoveRmapPtes(Pfn pfn, Page* pages, int nr, Vma& vma,
                                uint64_t addr) {
  for (int i = 0; i < nr; ++i)
    RemoveRmap(pfn + i, pages[i], vma, addr + i * kPageSize);
}

void ReverseMap::WalkFolio(Pfn pfn, const Page* pages, int nr,
                           RmapRangeOne range_one, WalkCost& cost) const {
  bool go = true;
  for (int i = 0; i < nr && go; ++i)
    Walk(
        pfn + i, pages[i],
        [&](Vma& vma, uint64_t addr) {
          return go = range_one(vma, addr, addr + kPageSize);
        },
        cost);
}

void ReverseMap::SetStableNode(Pfn, Page& page) {
  page.Clear(PG_rmap0 | PG_rmap1);
  page.mapping = 0;
  page.index = 0;
}

}  // namespace rmaplab
