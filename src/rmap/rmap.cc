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

void ReverseMap::SetStableNode(Pfn, Page& page) {
  page.Clear(PG_rmap0 | PG_rmap1);
  page.mapping = 0;
  page.index = 0;
}

}  // namespace rmaplab
