// rmap.h: the reverse map, physical to virtual: given an anonymous page,
// find every PTE that maps it.  One interface, one file per design under
// src/rmap/, found by name through the registry (registry.cc).
//
// Contract:
//  - The core calls the hooks below at the points mm/memory.c, mm/vma.c,
//    mm/mremap.c and kernel/fork.c call their mm/rmap.c counterparts; a
//    design keeps whatever structures it needs from them and may use
//    Page::mapping, Page::index, PG_rmap0/1, Vma::anon_vma, Vma::rmap and
//    Mm::rmap as it likes.  Nothing outside src/rmap/ looks inside them.
//  - Walk(page, rmap_one) calls rmap_one(vma, addr) for every place the
//    design thinks the page may be mapped; the core checks the PTE there
//    and counts a visit that finds no mapping as wasted.  The walk must
//    yield every (vma, addr) whose PTE maps the page (completeness); it
//    stops as soon as rmap_one returns false.  A design that inspects
//    something and yields nothing (an mm without a vma at the address)
//    reports it with stats().wasted_steps.
//  - Vma::anon_vma is the identity the merge rules compare (Linux's
//    is_mergeable_anon_vma), and it also tells the core that a vma may
//    hold anonymous pages (fork copies PTEs only of such vmas:
//    vma_needs_copy).  A design without per-vma objects sets it, at
//    AnonVmaPrepare and AnonVmaFork, to one object shared by every vma
//    that may compare with it (its per-mm object, or a design-wide
//    marker), so that such vmas merge freely; it is cleared again by
//    UnlinkAnonVmas.  IsForkChild() answers vma_is_fork_child().
//  - MovePte() is asked before mremap moves a present anonymous page's
//    PTE; returning kCopy makes the core give the new address a private
//    copy instead (Linus' copy_one_pte remedy, counted in wasted_pages).
//  - Designs never allocate or free pages, and never change PTEs.
#ifndef RMAPLAB_RMAP_RMAP_H_
#define RMAPLAB_RMAP_RMAP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/mm.h"
#include "core/page.h"
#include "rmaplab/status.h"

namespace rmaplab {

// A non-owning reference to a callable, for walk callbacks.
template <typename Sig>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(
              std::forward<Args>(a)...);
        }) {}
  R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

// rmap_one(): called per candidate mapping; return false to stop the walk.
using RmapOne = FunctionRef<bool(Vma& vma, uint64_t addr)>;

// What the design's metadata costs, in bytes, in one kernel's layout.
enum class Layout { kX86_64, kI386 };

// Counters every design maintains the same way.
struct RmapStats {
  uint64_t wasted_steps = 0;    // things inspected that yielded no candidate
  uint64_t lock_acquisitions = 0;  // rmap locks taken (anon_vma, page chain, ...)
  uint64_t chain_entries = 0;   // per-page chain entries allocated (pte_chain)
  uint64_t fork_work = 0;       // rmap structures created or linked at fork
  uint64_t exit_work = 0;       // rmap structures unlinked or freed at exit/unmap
};

enum class MoveAction { kKeep, kCopy };

class ReverseMap {
 public:
  virtual ~ReverseMap() = default;
  virtual std::string_view name() const = 0;

  // --- address spaces (mm_init, dup_mmap, exit_mmap) ---
  virtual void MmInit(Mm& mm) {}
  virtual void MmFork(Mm& child, Mm& parent) {}
  virtual void MmExit(Mm& mm) {}

  // --- vmas ---
  // anon_vma_prepare(): before the first anonymous page goes into `vma`;
  // prev/next are its neighbours (for find_mergeable_anon_vma).
  virtual void AnonVmaPrepare(Vma& vma, Vma* prev, Vma* next) = 0;
  // anon_vma_clone(): `dst` is a copy of `src` (split, merge, mremap copy);
  // dst->anon_vma already equals src->anon_vma.
  virtual void AnonVmaClone(Vma& dst, Vma& src) = 0;
  // anon_vma_fork(): `child` is the fork copy of `parent`.
  virtual void AnonVmaFork(Vma& child, Vma& parent) = 0;
  // unlink_anon_vmas(): `vma` goes away (or loses its anonymous memory).
  virtual void UnlinkAnonVmas(Vma& vma) = 0;
  // vma_is_fork_child().
  virtual bool IsForkChild(const Vma& vma) const { return false; }

  // --- pages (folio_add_new_anon_rmap & co.) ---
  // A new anonymous page mapped at (vma, addr).
  virtual void AddNewAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr,
                              bool exclusive) = 0;
  // An existing anonymous page gains the mapping (vma, addr) (swap-in of a
  // swap-cache page, KSM).
  virtual void AddAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) = 0;
  // fork copies a mapping of `page` into the child's (vma, addr).
  virtual void DupAnonRmap(Pfn pfn, Page& page, Vma& child_vma, uint64_t addr) = 0;
  // The mapping (vma, addr) of `page` goes away.
  virtual void RemoveRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) = 0;
  // folio_move_anon_rmap(): a COW fault reuses `page`, now exclusive to vma.
  virtual void MoveAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) = 0;
  // mremap is about to move the PTE mapping `page` from (from, old_addr)
  // to (to, new_addr).  kKeep: the design has updated itself; kCopy: give
  // the new place a copy instead.
  virtual MoveAction MovePte(Pfn pfn, Page& page, Vma& from, uint64_t old_addr,
                             Vma& to, uint64_t new_addr) = 0;

  // mremap is about to move a swap PTE for a slot `count` PTEs share;
  // `cache` is the slot's swap-cache page, or nullptr.  kKeep: move it (the
  // design may update `cache`); kCopy: give the new place a private copy.
  virtual MoveAction MoveSwapPte(Vma& from, uint64_t old_addr, Vma& to,
                                 uint64_t new_addr, uint32_t count, Page* cache) {
    return MoveAction::kKeep;
  }

  // swapoff (try_to_unuse) finds swap entries by scanning every page table
  // of every mm, whatever the design.  A design whose anonymous memory is
  // an object with an offset index (Rik's anon inode: "simply move the
  // anon_memory file pages from disk into memory") could instead visit the
  // swapped offsets and search each one's mappers; it returns the visits
  // that would take for `swapped` entries.  -1: no such index.
  virtual int64_t SwapoffByObjectVisits(uint64_t swapped) const { return -1; }

  // --- the walk (rmap_walk_anon) ---
  virtual void Walk(Pfn pfn, const Page& page, RmapOne rmap_one) = 0;

  // --- costs and checks ---
  // Bytes of rmap metadata alive now, in `layout`.
  virtual uint64_t MetadataBytes(Layout layout) const = 0;
  // struct page bytes this design adds (+) or saves (-) per page, in
  // `layout`, against the 2.6-era 48-byte i386 baseline with objrmap.
  virtual int PageBytesDelta(Layout layout) const { return 0; }
  // The design's own invariants (e.g. chain lists agree both ways).
  virtual Status CheckInvariants() const = 0;

  RmapStats& stats() { return stats_; }
  const RmapStats& stats() const { return stats_; }

 private:
  RmapStats stats_;
};

// anon_vma_compatible(): may b reuse a's anon object, as adjacent vmas?
// (mm/rmap.c; flags may differ only in rwx.)
bool AnonVmaCompatible(const Vma& a, const Vma& b);

// The registry: every design by name.
struct DesignInfo {
  std::string name;
  std::string summary;
  std::unique_ptr<ReverseMap> (*create)();
};
const std::vector<DesignInfo>& Designs();
std::unique_ptr<ReverseMap> CreateDesign(std::string_view name);

}  // namespace rmaplab

#endif  // RMAPLAB_RMAP_RMAP_H_
