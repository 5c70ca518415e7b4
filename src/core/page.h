// page.h: physical frames, struct page, and page table entries.
//
// Models `struct page` (include/linux/mm_types.h) as 32 host bytes and a PTE
// as 8.  Invariants, checked by CheckInvariants():
//  (1) a free frame has refcount == 0 and flags == 0;
//  (2) an allocated frame's refcount == mapcount + kPinBias * pins
//      + (PG_swapcache ? 1 : 0) + (PG_shmem ? 1 : 0), as Linux counts
//      references (one per mapping, GUP_PIN_COUNTING_BIAS per pin, one for
//      the swap cache, one for the page cache);
//  (3) mapcount == the number of PTEs, in any mm, holding this pfn;
//  (4) pfn 0 is the shared zero page: never allocated, never counted.
#ifndef RMAPLAB_CORE_PAGE_H_
#define RMAPLAB_CORE_PAGE_H_

#include <cstdint>

namespace rmaplab {

using Pfn = uint32_t;
inline constexpr Pfn kZeroPfn = 0;
// A long-term pin adds this to _refcount (GUP_PIN_COUNTING_BIAS).
inline constexpr int32_t kPinBias = 1024;

// Page flags (PG_*).  Bits 24..29 hold the NUMA node.
enum PageFlags : uint32_t {
  PG_anon = 1u << 0,            // anonymous: mapping/index belong to the rmap design
  PG_shmem = 1u << 1,           // a shmem (shared anonymous) page-cache page
  PG_swapcache = 1u << 2,       // in the swap cache
  PG_ksm = 1u << 3,             // a KSM page
  PG_lru = 1u << 4,             // on an LRU list
  PG_active = 1u << 5,          // on the active list
  PG_referenced = 1u << 6,
  PG_anon_exclusive = 1u << 7,  // PageAnonExclusive: one mm may write without COW
  PG_dirty = 1u << 8,
  PG_rmap0 = 1u << 9,           // free for the design (e.g. PG_direct)
  PG_rmap1 = 1u << 10,
  PG_locked = 1u << 11,         // held by a fault in progress: reclaim skips it
};
inline constexpr int kNodeShift = 24;
inline constexpr uint32_t kNodeMask = 0x3fu << kNodeShift;

// struct page.  mapping/index are owned by the reverse-map design for
// PG_anon pages; for PG_shmem pages mapping is the shmem object id and index
// the page offset in it.
struct Page {
  uint64_t content;   // the page's value: its first 8 bytes
  uint64_t index;     // page->index
  uint32_t mapping;   // page->mapping, as a handle (0 = none)
  int32_t mapcount;   // PTEs mapping the page (Linux stores this minus one)
  int32_t refcount;   // _refcount; 0 = free frame
  uint32_t flags;     // PageFlags | node

  bool Test(uint32_t f) const { return flags & f; }
  void Set(uint32_t f) { flags |= f; }
  void Clear(uint32_t f) { flags &= ~f; }
  int node() const { return (flags & kNodeMask) >> kNodeShift; }
  bool MaybeDmaPinned() const { return refcount >= kPinBias; }
};
static_assert(sizeof(Page) == 32, "struct page must stay 32 host bytes");

// A page table entry: none, present (pfn + bits) or a swap entry.
struct Pte {
  static constexpr uint64_t kPresent = 1;
  static constexpr uint64_t kWrite = 2;
  static constexpr uint64_t kDirty = 4;
  static constexpr uint64_t kYoung = 8;
  static constexpr uint64_t kSwap = 16;          // not present: a swap entry
  static constexpr uint64_t kSwpExclusive = 32;  // pte_swp_exclusive
  static constexpr int kShift = 12;

  uint64_t v = 0;

  bool none() const { return v == 0; }
  bool present() const { return v & kPresent; }
  bool is_swap() const { return v & kSwap; }
  bool write() const { return v & kWrite; }
  bool young() const { return v & kYoung; }
  bool dirty() const { return v & kDirty; }
  Pfn pfn() const { return static_cast<Pfn>(v >> kShift); }
  uint64_t swp_offset() const { return v >> kShift; }

  static Pte Present(Pfn pfn, bool write, bool dirty, bool young) {
    return Pte{(uint64_t{pfn} << kShift) | kPresent | (write ? kWrite : 0) |
               (dirty ? kDirty : 0) | (young ? kYoung : 0)};
  }
  static Pte Swap(uint64_t offset, bool exclusive) {
    return Pte{(offset << kShift) | kSwap | (exclusive ? kSwpExclusive : 0)};
  }
};

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_PAGE_H_
