// proc.h: readers of the kernel's views of a process and of physical pages:
// /proc/PID/maps, /proc/PID/pagemap, /proc/PID/mem, /proc/PID/stat and
// /proc/kpageflags (Documentation/admin-guide/mm/pagemap.rst).
//
// Invariants:
//  (1) Nothing here changes a process's memory state: reads of
//      /proc/PID/mem are only made at addresses whose pagemap entry is
//      present, so they never fault, swap in or set a pte young bit
//      (GUP's FOLL_TOUCH only marks the folio accessed on its LRU).
//  (2) Errors are values; a message names the file that failed.
#ifndef RMAPLAB_NATIVE_PROC_H_
#define RMAPLAB_NATIVE_PROC_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rmaplab/status.h"

namespace rmaplab::native {

// One line of /proc/PID/maps.
struct ProcVma {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  int prot = 0;      // kProt* bits
  bool shared = false;
  uint64_t offset = 0;  // bytes (vm_pgoff << PAGE_SHIFT)
  uint64_t inode = 0;   // the shmem inode of a shared anonymous mapping
};

Result<std::vector<ProcVma>> ReadProcMaps(pid_t pid);

// A decoded /proc/PID/pagemap entry.
struct PagemapBits {
  bool present = false;      // bit 63
  bool swapped = false;      // bit 62
  bool exclusive = false;    // bit 56, PM_MMAP_EXCLUSIVE
  uint64_t pfn = 0;          // bits 0-54 if present (0 without CAP_SYS_ADMIN)
  uint32_t swap_type = 0;    // bits 0-4 if swapped
  uint64_t swap_offset = 0;  // bits 5-54 if swapped
};

PagemapBits DecodePagemap(uint64_t raw);
// The entries of `pages` pages from `addr`.
Result<std::vector<PagemapBits>> ReadPagemap(pid_t pid, uint64_t addr,
                                             uint64_t pages);

// /proc/kpageflags bits used here.
inline constexpr int kKpfKsm = 21;
inline constexpr int kKpfThp = 22;
inline constexpr int kKpfZeroPage = 24;
Result<uint64_t> ReadKpageflags(uint64_t pfn);

// The first 8 bytes of the page at `addr`, little-endian.
// REQUIRES: the page is present in `pid` (invariant 1).
Result<uint64_t> ReadMemU64(pid_t pid, uint64_t addr);

// The first 8 bytes of the page at `addr` of a shared anonymous mapping
// (`vma`, a shmem object) that is not present in `pid`'s page table, read
// from the shmem object through /proc/PID/map_files without faulting it into
// any process: a hole reads 0; a page resident in the object is read with
// pread; a page of the object that is swapped out cannot be read without
// swapping it in, which is an error.  Needs CAP_SYS_ADMIN.
Result<uint64_t> ReadShmemValue(pid_t pid, const ProcVma& vma, uint64_t addr);

// Whole small file (sysfs, /proc/swaps); trailing newline kept.
Result<std::string> ReadSmallFile(const std::string& path);

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_PROC_H_
