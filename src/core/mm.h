// mm.h: address spaces, VMAs and shmem objects.  Mm and Vma are public
// (rmaplab/mm_types.h, with their invariants), because the reverse-map
// interface names them; the shmem object behind a MAP_SHARED|MAP_ANONYMOUS
// mapping is the kernel's own.
//
// Invariants, checked by CheckInvariants():
//  (1) a VMA with VM_SHARED has a shmem object and no anon_vma; a private
//      VMA has no shmem object;
//  (2) every vma on a shmem object's i_mmap maps that object.
#ifndef RMAPLAB_CORE_MM_H_
#define RMAPLAB_CORE_MM_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "rmaplab/mm_types.h"

namespace rmaplab {

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
