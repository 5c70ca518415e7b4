// vma.cc: the address-space side of mm/vma.c, mm/mmap.c, mm/mprotect.c and
// mm/madvise.c: splitting and merging VMAs, mmap, munmap, mprotect and the
// madvise flag changes.
//
// The merge rules are Linux 6.x's (vma_merge_new_range,
// vma_merge_existing_range, is_mergeable_anon_vma): two VMAs merge only if
// their flags and file agree, their vm_pgoff are contiguous, and their
// anon_vmas are compatible: equal, or one of them unset and the other not
// inherited across fork (vma_is_fork_child).
//
// Invariants kept here: the Mm invariants of mm.h; a vma leaving the tree
// has been unlinked from its anon_vma chain and its shmem object.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

namespace {

// calc_vm_prot_bits(prot, pkey): with PKU, PROT_EXEC alone gets the
// execute-only pkey (arch_override_mprotect_pkey(), execute_only_pkey());
// any other protection, or no PKU at all, gets pkey 0.
uint32_t ProtToVmFlags(int prot, bool pku) {
  uint32_t f = pku && prot == kProtExec ? uint32_t{VM_PKEY_EXEC_ONLY} : 0;
  if (prot & kProtRead) f |= VM_READ;
  if (prot & kProtWrite) f |= VM_WRITE;
  if (prot & kProtExec) f |= VM_EXEC;
  return f;
}

}  // namespace

Vma* Kernel::InsertVma(Mm& mm, std::unique_ptr<Vma> vma) {
  vma->mm = &mm;
  Vma* raw = vma.get();
  mm.vmas.emplace(raw->start, std::move(vma));
  return raw;
}

std::unique_ptr<Vma> Kernel::DetachVma(Mm& mm, Vma& vma) {
  if (mm.vmacache == &vma) mm.vmacache = nullptr;
  auto node = mm.vmas.extract(vma.start);
  return std::move(node.mapped());
}

// remove_vma(): the vma leaves the tree; its PTEs must be gone already or
// belong to the vma that absorbed it.
void Kernel::RemoveVma(Mm& mm, Vma& vma) {
  rmap_->UnlinkAnonVmas(vma);
  ShmemUnlink(vma);
  DetachVma(mm, vma);  // destroyed here
}

// vma_set_range(): re-keys the vma if its start moves.
void Kernel::SetRange(Mm& mm, Vma& vma, uint64_t start, uint64_t end,
                      uint64_t pgoff) {
  if (start != vma.start) {
    auto node = mm.vmas.extract(vma.start);
    node.key() = start;
    vma.start = start;
    mm.vmas.insert(std::move(node));
  }
  vma.end = end;
  vma.pgoff = pgoff;
}

// __split_vma(): vma keeps [start, addr), a new vma gets [addr, end).
Errno Kernel::SplitVma(Mm& mm, Vma& vma, uint64_t addr, bool check_map_count) {
  if (check_map_count && mm.map_count() >= kMaxMapCount) return Errno::kENOMEM;
  SplitHugePmdAt(mm, addr);  // vma_adjust_trans_huge()
  auto upper = std::make_unique<Vma>(vma);
  upper->start = addr;
  upper->pgoff = vma.pgoff + ((addr - vma.start) >> kPageShift);
  vma.end = addr;
  Vma* u = InsertVma(mm, std::move(upper));
  rmap_->AnonVmaClone(*u, vma);
  ShmemLink(*u);
  stats_.vma_splits++;
  return Errno::kOk;
}

// dup_anon_vma(): dst takes src's anon_vma if it has none.
void Kernel::DupAnonVma(Vma& dst, Vma& src) {
  if (src.anon_vma && !dst.anon_vma) rmap_->AnonVmaClone(dst, src);
}

bool Kernel::IsMergeableAnonVma(const MergeArgs& m, const Vma& tgt) const {
  void* tgt_anon = tgt.anon_vma.get();
  void* src_anon = m.anon_vma;
  if (!tgt_anon && src_anon) {
    if (m.middle && rmap_->IsForkChild(*m.middle)) return false;
    if (m.copied_from && rmap_->IsForkChild(*m.copied_from)) return false;
    return true;
  }
  if (tgt_anon && !src_anon) return !rmap_->IsForkChild(tgt);
  return src_anon == tgt_anon;
}

// can_vma_merge_after(): the range may extend prev.
bool Kernel::CanMergeAfter(const MergeArgs& m) const {
  const Vma& prev = *m.prev;
  return prev.flags == m.flags && prev.shmem == m.file &&
         IsMergeableAnonVma(m, prev) && prev.pgoff + prev.pages() == m.pgoff;
}

// can_vma_merge_before(): the range may be prepended to next.
bool Kernel::CanMergeBefore(const MergeArgs& m) const {
  const Vma& next = *m.next;
  return next.flags == m.flags && next.shmem == m.file &&
         IsMergeableAnonVma(m, next) &&
         next.pgoff == m.pgoff + ((m.end - m.start) >> kPageShift);
}

bool Kernel::CanMergeRight(const MergeArgs& m, bool can_merge_left) const {
  if (!m.next || m.end != m.next->start || !CanMergeBefore(m)) return false;
  if (!can_merge_left) return true;
  // prev and next must also be compatible with each other.
  return !m.prev->anon_vma || !m.next->anon_vma ||
         m.prev->anon_vma == m.next->anon_vma;
}

// vma_merge_new_range() + vma_expand(): merge a new range [m.start, m.end)
// into prev and/or next.  Returns the merged vma or nullptr.
Vma* Kernel::MergeNewRange(Mm& mm, MergeArgs& m) {
  Vma* prev = m.prev;
  Vma* next = m.next;
  if (!prev && !next) return nullptr;
  bool left = prev && prev->end == m.start && CanMergeAfter(m);
  bool right = !m.just_expand && CanMergeRight(m, left);
  Vma* target = nullptr;
  if (right) {
    m.end = next->end;
    target = next;
  }
  if (left) {
    m.start = prev->start;
    m.pgoff = prev->pgoff;
    target = prev;
  }
  if (!target) return nullptr;
  bool remove_next = next && target != next && m.end == next->end;
  if (remove_next) DupAnonVma(*target, *next);
  if (m.copied_from) DupAnonVma(*target, *m.copied_from);
  if (remove_next) RemoveVma(mm, *next);
  SetRange(mm, *target, m.start, m.end, m.pgoff);
  stats_.vma_merges++;
  return target;
}

// vma_merge_existing_range(): [m.start, m.end) of m.middle gets m.flags;
// merge it into prev and/or next if they match.
Vma* Kernel::MergeExistingRange(Mm& mm, MergeArgs& m) {
  Vma* middle = m.middle;
  bool left_side = m.start == middle->start;
  bool right_side = m.end == middle->end;
  if (!left_side && !right_side) return nullptr;
  bool merge_left =
      left_side && m.prev && m.prev->end == m.start && CanMergeAfter(m);
  bool merge_right = false;
  if (right_side) {
    m.next = mm.Next(*middle);
    merge_right = CanMergeRight(m, merge_left);
  }
  if (!merge_left && !merge_right) return nullptr;
  bool remove_middle = left_side && right_side;
  Vma* prev = m.prev;
  Vma* next = m.next;
  stats_.vma_merges++;
  if (merge_left && merge_right) {
    DupAnonVma(*prev, next->anon_vma ? *next : *middle);
    uint64_t end = next->end;
    RemoveVma(mm, *middle);
    RemoveVma(mm, *next);
    SetRange(mm, *prev, prev->start, end, prev->pgoff);
    return prev;
  }
  if (merge_left) {
    DupAnonVma(*prev, *middle);
    if (remove_middle) {
      RemoveVma(mm, *middle);
    } else {
      SetRange(mm, *middle, m.end, middle->end,
               middle->pgoff + ((m.end - middle->start) >> kPageShift));
    }
    SetRange(mm, *prev, prev->start, m.end, prev->pgoff);
    return prev;
  }
  DupAnonVma(*next, *middle);
  uint64_t next_pgoff = next->pgoff - ((next->start - m.start) >> kPageShift);
  if (remove_middle) {
    RemoveVma(mm, *middle);
  } else {
    middle->end = m.start;
  }
  SetRange(mm, *next, m.start, next->end, next_pgoff);
  return next;
}

// vma_modify_flags(): give [start, end) of vma the flags `flags`, merging
// or splitting as needed.  Returns the vma now covering [start, end).
Result<Vma*> Kernel::VmaModifyFlags(Mm& mm, Vma* prev, Vma& vma, uint64_t start,
                                    uint64_t end, uint32_t flags) {
  MergeArgs m;
  m.prev = prev;
  m.middle = &vma;
  m.start = start;
  m.end = end;
  m.pgoff = vma.pgoff + ((start - vma.start) >> kPageShift);
  m.flags = flags;
  m.file = vma.shmem;
  m.anon_vma = vma.anon_vma.get();
  if (Vma* merged = MergeExistingRange(mm, m)) return merged;
  if (vma.start < start) {
    if (SplitVma(mm, vma, start, true) != Errno::kOk)
      return Status::Error("ENOMEM");
  }
  Vma* v = mm.VmaLookup(start);
  if (v->end > end) {
    if (SplitVma(mm, *v, end, true) != Errno::kOk)
      return Status::Error("ENOMEM");
  }
  v->flags = flags;
  return v;
}

Errno Kernel::Mmap(Mm& mm, uint64_t addr, uint64_t len, int prot, bool shared) {
  uint64_t end = addr + len;
  if (mm.map_count() > kMaxMapCount) return Errno::kENOMEM;
  Vma* next = mm.FindVma(addr);
  if (next && next->start < end) return Errno::kEEXIST;  // MAP_FIXED_NOREPLACE
  uint32_t flags =
      ProtToVmFlags(prot, opts_.pku) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (shared)
    flags |= VM_SHARED | VM_MAYSHARE;
  else if (prot & kProtWrite)
    flags |= VM_ACCOUNT;  // accountable_mapping()
  Vma* prev =
      next ? mm.Prev(*next)
           : (mm.vmas.empty() ? nullptr : mm.vmas.rbegin()->second.get());
  if (!shared) {
    MergeArgs m;
    m.prev = prev;
    m.next = next;
    m.start = addr;
    m.end = end;
    m.pgoff = addr >> kPageShift;
    m.flags = flags;
    if (MergeNewRange(mm, m)) return Errno::kOk;
  }
  auto vma = std::make_unique<Vma>();
  vma->start = addr;
  vma->end = end;
  vma->flags = flags;
  vma->pgoff = shared ? 0 : addr >> kPageShift;
  if (shared) vma->shmem = NewShmem(len >> kPageShift);
  Vma* v = InsertVma(mm, std::move(vma));
  ShmemLink(*v);
  return Errno::kOk;
}

// The vma's pages and PTEs go, then the vma itself.
void Kernel::UnmapVma(Mm& mm, Vma& vma) {
  ZapRange(mm, vma, vma.start, vma.end);
  RemoveVma(mm, vma);
}

// do_vmi_munmap(): unmap [start, end), splitting the vmas at either edge.
Errno Kernel::DoMunmap(Mm& mm, uint64_t start, uint64_t end) {
  Vma* vma = mm.FindVma(start);
  if (!vma || vma->start >= end) return Errno::kOk;
  if (start > vma->start) {
    if (end < vma->end && mm.map_count() >= kMaxMapCount) return Errno::kENOMEM;
    if (Errno e = SplitVma(mm, *vma, start, false); e != Errno::kOk) return e;
  }
  // Every split comes before any unmap, as in do_vmi_align_munmap(): a
  // failed split leaves nothing unmapped.
  std::vector<Vma*> doomed;
  for (Vma* v = mm.FindVma(start); v && v->start < end; v = mm.Next(*v)) {
    if (v->end > end)
      if (Errno e = SplitVma(mm, *v, end, false); e != Errno::kOk) return e;
    doomed.push_back(v);
  }
  for (Vma* v : doomed) UnmapVma(mm, *v);
  mm.pt.FreeEmpty(start, end);
  return Errno::kOk;
}

Errno Kernel::Munmap(Mm& mm, uint64_t addr, uint64_t len) {
  return DoMunmap(mm, addr, addr + len);
}

// mprotect_fixup().
Errno Kernel::MprotectFixup(Mm& mm, Vma& vma, Vma** pprev, uint64_t start,
                            uint64_t end, uint32_t newflags) {
  uint32_t oldflags = vma.flags;
  if (newflags == oldflags) {
    *pprev = &vma;
    return Errno::kOk;
  }
  if (newflags & VM_WRITE) {
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED)))
      newflags |= VM_ACCOUNT;
  } else if ((oldflags & VM_ACCOUNT) && vma.is_anonymous() && !vma.anon_vma) {
    newflags &= ~VM_ACCOUNT;  // unfaulted: the commit charge can be dropped
  }
  Result<Vma*> r = VmaModifyFlags(mm, *pprev, vma, start, end, newflags);
  if (!r.ok()) return Errno::kENOMEM;
  Vma* v = r.value();
  *pprev = v;
  v->flags = newflags;
  ChangeProtection(mm, *v, start, end);
  return Errno::kOk;
}

Errno Kernel::Mprotect(Mm& mm, uint64_t start, uint64_t len, int prot) {
  uint64_t end = start + len;
  Vma* vma = mm.FindVma(start);
  if (!vma || vma->start > start) return Errno::kENOMEM;
  Vma* prev = start > vma->start ? vma : mm.Prev(*vma);
  uint64_t nstart = start;
  for (;;) {
    uint32_t newflags = (vma->flags & ~(VM_ACCESS_FLAGS | VM_PKEY_EXEC_ONLY)) |
                        ProtToVmFlags(prot, opts_.pku);
    uint64_t tmp = std::min(vma->end, end);
    if (Errno e = MprotectFixup(mm, *vma, &prev, nstart, tmp, newflags);
        e != Errno::kOk)
      return e;
    // vma_iter_end(): when the fixup merged [nstart, tmp) with the next vma,
    // that vma is done too; go on from the end of the merged one, or the
    // loop would see a vma starting before nstart and fail with ENOMEM.
    nstart = std::max(tmp, prev->end);
    if (nstart >= end) return Errno::kOk;
    vma = mm.FindVma(nstart);
    if (!vma || vma->start != nstart) return Errno::kENOMEM;
  }
}

// madvise_walk_vmas(): visit(vma, &prev, start, end) for each mapped piece
// of [start, end); ENOMEM at the end if there was a hole.
template <typename Visit>
Errno Kernel::MadviseWalk(Mm& mm, uint64_t start, uint64_t end, Visit&& visit) {
  Vma* vma = mm.FindVma(start);
  Vma* prev =
      vma ? mm.Prev(*vma)
          : (mm.vmas.empty() ? nullptr : mm.vmas.rbegin()->second.get());
  if (vma && start > vma->start) prev = vma;
  Errno unmapped = Errno::kOk;
  for (;;) {
    if (!vma) return Errno::kENOMEM;
    if (start < vma->start) {
      unmapped = Errno::kENOMEM;
      start = vma->start;
      if (start >= end) break;
    }
    uint64_t tmp = std::min(vma->end, end);
    if (Errno e = visit(*vma, &prev, start, tmp); e != Errno::kOk) return e;
    start = tmp;
    if (prev && start < prev->end) start = prev->end;
    if (start >= end) break;
    vma = mm.FindVma(prev ? prev->end : start);
  }
  return unmapped;
}

// madvise_update_vma() for the fork-behaviour, KSM and THP advice.
Errno Kernel::MadviseFlags(Mm& mm, Vma& vma, Vma** pprev, uint64_t start,
                           uint64_t end, Advice advice) {
  uint32_t newflags = vma.flags;
  switch (advice) {
    case Advice::kDontfork:
      newflags |= VM_DONTCOPY;
      break;
    case Advice::kDofork:
      newflags &= ~VM_DONTCOPY;
      break;
    case Advice::kWipeonfork:
      if (!vma.is_anonymous() || (vma.flags & VM_SHARED)) return Errno::kEINVAL;
      newflags |= VM_WIPEONFORK;
      break;
    case Advice::kKeeponfork:
      if (!vma.is_anonymous() || (vma.flags & VM_SHARED)) return Errno::kEINVAL;
      newflags &= ~VM_WIPEONFORK;
      break;
    case Advice::kHugepage:  // hugepage_madvise()
      newflags = (newflags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case Advice::kNohugepage:
      newflags = (newflags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
    case Advice::kMergeable:
    case Advice::kUnmergeable:
      if (Errno e = KsmMadvise(mm, vma, start, end, advice, &newflags);
          e != Errno::kOk)
        return e;
      break;
    default:
      return Errno::kEINVAL;
  }
  if (newflags == vma.flags) {
    *pprev = &vma;
    return Errno::kOk;
  }
  Result<Vma*> r = VmaModifyFlags(mm, *pprev, vma, start, end, newflags);
  if (!r.ok()) return Errno::kENOMEM;
  *pprev = r.value();
  r.value()->flags = newflags;
  return Errno::kOk;
}

Errno Kernel::Madvise(Mm& mm, uint64_t addr, uint64_t len, Advice advice) {
  uint64_t end = addr + len;
  switch (advice) {
    case Advice::kDontneed:
      return MadviseWalk(mm, addr, end,
                         [&](Vma& vma, Vma** pprev, uint64_t s, uint64_t e) {
                           ZapRange(mm, vma, s, e);
                           // zap_pte_range() with details->reclaim_pt
                           // (CONFIG_PT_RECLAIM, x86-64 since 6.14): the page
                           // table of every 2 MiB block zapped whole is freed,
                           // so a later fault there finds pmd_none (a THP may
                           // go there: confirmed natively,
                           // tests/traces/thp-dontneed-pt.trace).
                           mm.pt.FreeEmpty((s + kPmdSize - 1) & ~(kPmdSize - 1),
                                           e & ~(kPmdSize - 1));
                           *pprev = &vma;
                           return Errno::kOk;
                         });
    case Advice::kDontfork:
    case Advice::kDofork:
    case Advice::kWipeonfork:
    case Advice::kKeeponfork:
    case Advice::kMergeable:
    case Advice::kUnmergeable:
    case Advice::kHugepage:
    case Advice::kNohugepage:
      return MadviseWalk(mm, addr, end,
                         [&](Vma& vma, Vma** pprev, uint64_t s, uint64_t e) {
                           return MadviseFlags(mm, vma, pprev, s, e, advice);
                         });
    case Advice::kCollapse:
      return MadviseWalk(mm, addr, end,
                         [&](Vma& vma, Vma** pprev, uint64_t s, uint64_t e) {
                           *pprev = &vma;
                           return MadviseCollapse(mm, vma, s, e);
                         });
    case Advice::kPageout:
    case Advice::kCold:
      return MadviseWalk(
          mm, addr, end, [&](Vma& vma, Vma** pprev, uint64_t s, uint64_t e) {
            *pprev = &vma;
            return MadvisePageout(mm, vma, s, e, advice == Advice::kPageout);
          });
  }
  return Errno::kEINVAL;
}

// --- shmem objects (mm/shmem.c, reduced to what anonymous sharing needs) ---

ShmemObject* Kernel::NewShmem(uint64_t pages) {
  auto obj = std::make_unique<ShmemObject>();
  obj->id = next_shmem_id_++;
  obj->size_pages = pages;
  ShmemObject* raw = obj.get();
  shmem_.emplace(raw->id, std::move(obj));
  return raw;
}

void Kernel::ShmemLink(Vma& vma) {
  if (vma.shmem) vma.shmem->i_mmap.push_back(&vma);
}

// Drops the vma from its object's i_mmap; the last one frees the object
// (the file's last fput) and its pages.
void Kernel::ShmemUnlink(Vma& vma) {
  ShmemObject* obj = vma.shmem;
  if (!obj) return;
  auto& v = obj->i_mmap;
  v.erase(std::find(v.begin(), v.end(), &vma));
  if (!v.empty()) return;
  for (auto& [pgoff, pte] : obj->pages) {
    if (pte.present()) {
      Frame(pte.pfn()).Clear(PG_shmem);
      PutPage(pte.pfn());
    } else if (pte.is_swap()) {
      SwapFree(pte.swp_offset());
    }
  }
  shmem_.erase(obj->id);
}

}  // namespace rmaplab
