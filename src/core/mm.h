// mm.h: address spaces (struct mm_struct), VMAs (struct vm_area_struct) and
// shmem objects (the file behind a MAP_SHARED|MAP_ANONYMOUS mapping).
//
// Invariants of an Mm, checked by CheckInvariants():
//  (1) VMAs are non-empty, page aligned, sorted and non-overlapping; each
//      covers [start, end);
//  (2) every PTE that is not none lies inside some VMA;
//  (3) a VMA with VM_SHARED has a shmem object and no anon_vma; a private
//      VMA has no shmem object;
//  (4) vma->mm points back at the Mm that holds it.
#ifndef RMAPLAB_CORE_MM_H_
#define RMAPLAB_CORE_MM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/page.h"
#include "core/pagetable.h"

namespace rmaplab {

// vm_flags bits, with Linux's values.
enum VmFlags : uint32_t {
  VM_READ = 0x1,
  VM_WRITE = 0x2,
  VM_EXEC = 0x4,
  VM_SHARED = 0x8,
  VM_MAYREAD = 0x10,
  VM_MAYWRITE = 0x20,
  VM_MAYEXEC = 0x40,
  VM_MAYSHARE = 0x80,
  VM_DONTCOPY = 0x20000,
  // The execute-only protection key (x86 PKU): Linux keeps a vma's pkey in
  // VM_PKEY_BIT0..3 (bits 32+, beyond this 32-bit field); the model needs
  // only "pkey == the mm's execute-only pkey", set exactly when the vma's
  // protection is PROT_EXEC alone.  Being part of vm_flags, it keeps
  // exec-only vmas from merging with, or sharing an anon_vma with, others.
  VM_PKEY_EXEC_ONLY = 0x01000000,
  VM_ACCOUNT = 0x100000,
  VM_WIPEONFORK = 0x2000000,
  VM_MERGEABLE = 0x80000000,
};
inline constexpr uint32_t VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

struct Mm;
struct ShmemObject;

struct Vma {
  uint64_t start = 0;  // vm_start
  uint64_t end = 0;    // vm_end, exclusive
  uint64_t pgoff = 0;  // vm_pgoff: for private anon, start >> 12 at creation
  uint32_t flags = 0;  // VmFlags
  Mm* mm = nullptr;
  ShmemObject* shmem = nullptr;  // vm_file, for a shared mapping
  // The design's anonymous object for this vma (anon_vma, ...): nullptr
  // until the first anonymous page; compared by the merge rules.
  void* anon_vma = nullptr;
  // The design's per-vma state (e.g. the anon_vma_chain list).
  void* rmap = nullptr;

  uint64_t pages() const { return (end - start) >> 12; }
  // linear_page_index(): the page offset `addr` has in this vma's object.
  uint64_t LinearPageIndex(uint64_t addr) const {
    return pgoff + ((addr - start) >> 12);
  }
  bool Contains(uint64_t addr) const { return addr >= start && addr < end; }
  bool is_anonymous() const { return shmem == nullptr; }
};

// One long-term pin (pin_user_pages(FOLL_LONGTERM)) on one page.
struct Pin {
  uint64_t addr;  // the page's address when it was pinned
  Pfn pfn;
};

struct Mm {
  uint32_t pid = 0;
  std::map<uint64_t, std::unique_ptr<Vma>> vmas;  // keyed by vm_start
  PageTable pt;
  std::vector<Pin> pins;
  bool has_pinned = false;  // MMF_HAS_PINNED: sticky once pinned
  // The last vma FindVma returned (the old vmacache).  It stays valid while
  // the vma lives, whatever its range becomes, because a hit is checked
  // against the vma's current range; DetachVma clears it.
  mutable Vma* vmacache = nullptr;
  void* rmap = nullptr;     // the design's per-mm state (anonmm, ...)

  // find_vma(): the first vma with end > addr, or nullptr.
  Vma* FindVma(uint64_t addr) const;
  // vma_lookup(): the vma containing addr, or nullptr.
  Vma* VmaLookup(uint64_t addr) const {
    Vma* v = FindVma(addr);
    return v && v->start <= addr ? v : nullptr;
  }
  Vma* Prev(const Vma& vma) const;
  Vma* Next(const Vma& vma) const;
  size_t map_count() const { return vmas.size(); }
};

// The shmem file behind one MAP_SHARED|MAP_ANONYMOUS mmap.
struct ShmemObject {
  uint32_t id = 0;
  uint64_t size_pages = 0;  // i_size: accesses beyond it get SIGBUS
  // page offset -> page (a Pte value: present pfn or swap entry)
  std::unordered_map<uint64_t, Pte> pages;
  std::vector<Vma*> i_mmap;  // every vma mapping this object
};

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_MM_H_
