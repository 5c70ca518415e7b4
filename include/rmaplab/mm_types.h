// mm_types.h: the memory-model types a reverse-map design sees (public):
// physical frames and struct page, page table entries and one mm's page
// tables, VMAs (struct vm_area_struct) and address spaces (struct
// mm_struct).  The model kernel (src/core/) owns and changes them; a
// design (rmaplab/rmap.h) reads them and owns only the fields marked
// "the design's".
//
// struct page is modelled as 32 host bytes and a PTE as 8.
//
// Folios.  A large folio (THP, mTHP) of order o is 2^o frames, naturally
// aligned in pfn space (its head is pfn & ~(2^o - 1)), each of which
// carries the order in its flags (FolioOrder()); order 0 is a 4 KiB folio.
// Every page of a large folio keeps its own mapcount and refcount:
// mapcount counts the PTEs holding the pfn, a PMD mapping counting as the
// 512 PTEs it stands for (Pte::kPmd marks them), so Linux's
// page_mapcount() (_mapcount + 1 + entire_mapcount) is Page::mapcount; the
// refcount holds one reference per such PTE.  Linux's folio_ref_count() is
// the sum over the folio's pages minus (nr - 1) per PMD mapping (one
// reference per PMD), and what Linux keeps only on the folio (entire and
// large mapcount, the mm_id slots, the deferred-split queue) the kernel
// keeps in a side table for large folios (core/kernel.h FolioInfo).
// Invariants, checked by CheckInvariants() after every op under --check:
//  (1) a free frame has refcount == 0 and flags == 0;
//  (2) an allocated frame's refcount == mapcount + kPinBias * pins
//      + (PG_swapcache ? 1 : 0) + (PG_shmem ? 1 : 0), as Linux counts
//      references (one per mapping, GUP_PIN_COUNTING_BIAS per pin, one for
//      the swap cache, one for the page cache); on a page of a large folio
//      a pin is one reference (the folio counts it in its _pincount, the
//      kernel's FolioInfo, and MaybeDmaPinned() does not apply: ask the
//      kernel's FolioMaybeDmaPinned()); a page of a large folio
//      that nothing maps has refcount 0 and stays allocated (not free)
//      until the whole folio's references are gone or it is split;
//  (3) mapcount == the number of PTEs, in any mm, holding this pfn (the
//      512 of a PMD mapping included);
//  (4) pfn 0 is the shared zero page: never allocated, never counted;
//  (5) a page-table leaf exists only while some PTE in it is not none
//      (FreeEmpty removes the others, as free_pgtables does); PTE values
//      are plain data whose references the kernel accounts;
//  (6) an Mm's VMAs are non-empty, page aligned, sorted and
//      non-overlapping; each covers [start, end); vma->mm points back at
//      the Mm that holds it; every PTE that is not none lies inside one;
//  (7) a copy of a Vma carries no design state (DesignPtr): the design
//      gives it some through its hooks.
#ifndef RMAPLAB_MM_TYPES_H_
#define RMAPLAB_MM_TYPES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace rmaplab {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr int kPageShift = 12;

// ---------------------------------------------------------------------------
// Frames and struct page.

using Pfn = uint32_t;
inline constexpr Pfn kZeroPfn = 0;
// A long-term pin adds this to _refcount (GUP_PIN_COUNTING_BIAS).
inline constexpr int32_t kPinBias = 1024;

// Page flags (PG_*).  Bits 24..29 hold the NUMA node.
enum PageFlags : uint32_t {
  PG_anon = 1u << 0,       // anonymous: mapping/index belong to the rmap design
  PG_shmem = 1u << 1,      // a shmem (shared anonymous) page-cache page
  PG_swapcache = 1u << 2,  // in the swap cache
  PG_ksm = 1u << 3,        // a KSM page: mapping/index belong to KSM
  PG_lru = 1u << 4,        // on an LRU list
  PG_active = 1u << 5,     // on the active list
  PG_referenced = 1u << 6,
  PG_anon_exclusive =
      1u << 7,  // PageAnonExclusive: one mm may write without COW
  PG_dirty = 1u << 8,
  PG_rmap0 = 1u << 9,    // the design's (e.g. PG_direct)
  PG_rmap1 = 1u << 10,   // the design's
  PG_locked = 1u << 11,  // held by a fault in progress: reclaim skips it
  // Bits 12..15: the folio order of a page of a large folio (0: a 4 KiB
  // folio), on every page of the folio.
};
inline constexpr int kFolioOrderShift = 12;
inline constexpr uint32_t kFolioOrderMask = 0xfu << kFolioOrderShift;
inline constexpr int kNodeShift = 24;
inline constexpr uint32_t kNodeMask = 0x3fu << kNodeShift;

// struct page.  mapping/index (and PG_rmap0/1) are the design's for a
// PG_anon page that is not PG_ksm; for a PG_shmem page mapping is the shmem
// object id and index the page offset in it; for a PG_ksm page mapping
// names the KSM stable node.
struct Page {
  uint64_t content;  // the page's value: its first 8 bytes
  uint64_t index;    // page->index
  uint32_t mapping;  // page->mapping, as a handle (0 = none)
  int32_t mapcount;  // PTEs mapping the page (Linux stores this minus one)
  int32_t refcount;  // _refcount; 0 = free frame
  uint32_t flags;    // PageFlags | node

  bool Test(uint32_t f) const { return flags & f; }
  void Set(uint32_t f) { flags |= f; }
  void Clear(uint32_t f) { flags &= ~f; }
  int node() const { return (flags & kNodeMask) >> kNodeShift; }
  // folio_order(), on any page of the folio; large() is folio_test_large().
  int order() const {
    return static_cast<int>((flags & kFolioOrderMask) >> kFolioOrderShift);
  }
  bool large() const { return flags & kFolioOrderMask; }
  // folio_nr_pages().
  Pfn nr_pages() const { return Pfn{1} << order(); }
  void SetOrder(int order) {
    flags = (flags & ~kFolioOrderMask) |
            (static_cast<uint32_t>(order) << kFolioOrderShift);
  }
  // folio_maybe_dma_pinned() of a 4 KiB folio (GUP_PIN_COUNTING_BIAS).
  bool MaybeDmaPinned() const { return refcount >= kPinBias; }
};
static_assert(sizeof(Page) == 32, "struct page must stay 32 host bytes");

// ---------------------------------------------------------------------------
// Page tables.

// A page table entry: none, present (pfn + bits) or a swap entry.
struct Pte {
  static constexpr uint64_t kPresent = 1;
  static constexpr uint64_t kWrite = 2;
  static constexpr uint64_t kDirty = 4;
  static constexpr uint64_t kYoung = 8;
  static constexpr uint64_t kSwap = 16;          // not present: a swap entry
  static constexpr uint64_t kSwpExclusive = 32;  // pte_swp_exclusive
  // One of the 512 entries of a PMD mapping (pmd_trans_huge): every entry
  // of the leaf has it, and they map the 512 pages of one 2 MiB folio in
  // order (or all the huge zero page, pfn 0).  The leaf then stands for
  // the PMD itself; splitting the PMD clears the bit in all 512.
  static constexpr uint64_t kPmd = 64;
  static constexpr int kShift = kPageShift;

  uint64_t v = 0;

  bool none() const { return v == 0; }
  bool present() const { return v & kPresent; }
  bool is_swap() const { return v & kSwap; }
  bool write() const { return v & kWrite; }
  bool young() const { return v & kYoung; }
  bool dirty() const { return v & kDirty; }
  bool pmd() const { return v & kPmd; }
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

// One mm's page tables: leaf tables of 512 PTEs (one per 2 MiB, like a
// PMD's PTE page) in an ordered map keyed by address >> 21.
class PageTable {
 public:
  static constexpr int kLeafShift = 21;
  static constexpr uint64_t kLeafEntries = 512;

  // The PTE at `addr`, none if no leaf covers it.
  Pte Get(uint64_t addr) const {
    const Leaf* l = FindLeaf(addr >> kLeafShift);
    return l ? l->pte[Slot(addr)] : Pte{};
  }
  // A reference to the PTE at `addr`, allocating its leaf.
  Pte& Ensure(uint64_t addr);
  // Pointer to the PTE at `addr`, or nullptr if no leaf covers it.
  Pte* Find(uint64_t addr) {
    Leaf* l = FindLeaf(addr >> kLeafShift);
    return l ? &l->pte[Slot(addr)] : nullptr;
  }

  // Calls fn(addr, Pte&) for every PTE that is not none in [start, end).
  template <typename Fn>
  void ForEach(uint64_t start, uint64_t end, Fn&& fn);
  template <typename Fn>
  void ForEach(uint64_t start, uint64_t end, Fn&& fn) const;

  // Drops leaves in [start, end) whose PTEs are all none.
  void FreeEmpty(uint64_t start, uint64_t end);
  void Clear() {
    leaves_.clear();
    last_key_ = ~0ULL;
    last_ = nullptr;
  }

  size_t leaf_count() const { return leaves_.size(); }
  uint64_t bytes() const { return leaves_.size() * sizeof(Leaf); }

 private:
  struct Leaf {
    Pte pte[kLeafEntries];
  };
  static size_t Slot(uint64_t addr) {
    return (addr >> kPageShift) & (kLeafEntries - 1);
  }
  Leaf* FindLeaf(uint64_t key) const;

  std::map<uint64_t, std::unique_ptr<Leaf>> leaves_;
  mutable uint64_t last_key_ = ~0ULL;
  mutable Leaf* last_ = nullptr;
};

template <typename Fn>
void PageTable::ForEach(uint64_t start, uint64_t end, Fn&& fn) {
  if (start >= end) return;
  auto it = leaves_.lower_bound(start >> kLeafShift);
  for (; it != leaves_.end(); ++it) {
    uint64_t base = it->first << kLeafShift;
    if (base >= end) break;
    uint64_t lo = base < start ? start : base;
    uint64_t leaf_end = base + (kLeafEntries << kPageShift);
    uint64_t hi = leaf_end < end ? leaf_end : end;
    Leaf& leaf = *it->second;
    for (uint64_t a = lo; a < hi; a += kPageSize) {
      Pte& p = leaf.pte[Slot(a)];
      if (!p.none()) fn(a, p);
    }
  }
}

template <typename Fn>
void PageTable::ForEach(uint64_t start, uint64_t end, Fn&& fn) const {
  const_cast<PageTable*>(this)->ForEach(start, end, [&](uint64_t a, Pte& p) {
    fn(a, static_cast<const Pte&>(p));
  });
}

// ---------------------------------------------------------------------------
// VMAs and address spaces.

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
  VM_HUGEPAGE = 0x20000000,    // MADV_HUGEPAGE
  VM_NOHUGEPAGE = 0x40000000,  // MADV_NOHUGEPAGE
  VM_MERGEABLE = 0x80000000,
};
inline constexpr uint32_t VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

struct Mm;
struct ShmemObject;  // the kernel's; a design never looks inside

// A pointer the reverse-map design owns (Vma::anon_vma, Vma::rmap,
// Mm::rmap).  Copying its holder gives an empty one: a split, fork or
// mremap copy of a vma carries no design state until the design gives it
// some through a hook.  Only a design assigns it.
class DesignPtr {
 public:
  DesignPtr() = default;
  DesignPtr(const DesignPtr&) noexcept {}  // a copy starts empty
  DesignPtr& operator=(const DesignPtr&) = delete;
  DesignPtr& operator=(void* p) {
    p_ = p;
    return *this;
  }

  void* get() const { return p_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  explicit operator bool() const { return p_ != nullptr; }
  friend bool operator==(const DesignPtr& a, const DesignPtr& b) {
    return a.p_ == b.p_;
  }
  friend bool operator==(const DesignPtr& a, const void* b) {
    return a.p_ == b;
  }

 private:
  void* p_ = nullptr;
};

struct Vma {
  uint64_t start = 0;  // vm_start
  uint64_t end = 0;    // vm_end, exclusive
  uint64_t pgoff =
      0;  // vm_pgoff: for private anon, start >> kPageShift at creation
  uint32_t flags = 0;  // VmFlags
  Mm* mm = nullptr;
  ShmemObject* shmem = nullptr;  // vm_file, for a shared mapping
  // The design's anonymous object for this vma (anon_vma, ...): empty
  // until the first anonymous page; the core compares it (merge rules,
  // vma_needs_copy) and never looks inside.
  DesignPtr anon_vma;
  // The design's per-vma state (e.g. the anon_vma_chain list).
  DesignPtr rmap;

  uint64_t pages() const { return (end - start) >> kPageShift; }
  // linear_page_index(): the page offset `addr` has in this vma's object.
  uint64_t LinearPageIndex(uint64_t addr) const {
    return pgoff + ((addr - start) >> kPageShift);
  }
  // vma_address(): where this vma maps page offset `pgoff` of its object,
  // or nothing if the offset lies outside the vma (the inverse of
  // LinearPageIndex).
  std::optional<uint64_t> Address(uint64_t index) const {
    if (index < pgoff || index - pgoff >= pages()) return std::nullopt;
    return start + ((index - pgoff) << kPageShift);
  }
  // vma_address(vma, pgoff, nr_pages): [start, end) where this vma maps
  // the part of offsets [index, index + nr) that lies inside it, or nothing.
  std::optional<std::pair<uint64_t, uint64_t>> AddressRange(uint64_t index,
                                                            uint64_t nr) const {
    uint64_t lo = index > pgoff ? index : pgoff;
    uint64_t hi = index + nr < pgoff + pages() ? index + nr : pgoff + pages();
    if (lo >= hi) return std::nullopt;
    return std::make_pair(start + ((lo - pgoff) << kPageShift),
                          start + ((hi - pgoff) << kPageShift));
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
  DesignPtr rmap;  // the design's per-mm state (anonmm, ...)

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

}  // namespace rmaplab

#endif  // RMAPLAB_MM_TYPES_H_
