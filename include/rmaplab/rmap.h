// rmap.h: the reverse map, physical to virtual: given an anonymous page,
// find every PTE that maps it.  One interface; the designs that ship live
// one file each under src/rmap/, and a user adds one in their own tree:
// subclass ReverseMap, then RegisterDesign() it before creating a
// Simulator (docs/designs/adding-a-design.md).
//
// Contract:
//  (1) The core calls the hooks below at the points mm/memory.c, mm/vma.c,
//      mm/mremap.c, mm/ksm.c and kernel/fork.c call their mm/rmap.c
//      counterparts.  A design keeps whatever structures it needs from
//      them and owns Page::mapping, Page::index and PG_rmap0/1 of its
//      pages (PG_anon, not PG_ksm), Vma::anon_vma, Vma::rmap and Mm::rmap.
//      Nothing outside the design writes them; the core only compares
//      Vma::anon_vma.
//  (2) A copy of a Vma starts with no design state (DesignPtr): the design
//      gives it some in AnonVmaClone or AnonVmaFork.  UnlinkAnonVmas is
//      called for every vma that goes away and must do nothing for a vma
//      the design never gave state to.
//  (3) Walk(page, rmap_one) calls rmap_one(vma, addr) for every place the
//      design thinks the page may be mapped; the core checks the PTE there
//      and counts a visit that finds no mapping as wasted.  The walk must
//      yield every (vma, addr) whose PTE maps the page (completeness); it
//      stops as soon as rmap_one returns false.  A walk changes nothing:
//      what it inspects that yields no candidate (an mm without a vma at
//      the address) and the locks it takes go into `cost`, which the core
//      adds to stats() for its own walks and drops for the checker's.
//  (4) Vma::anon_vma is the identity the merge rules compare (Linux's
//      is_mergeable_anon_vma), and it also tells the core that a vma may
//      hold anonymous pages (fork copies PTEs only of such vmas:
//      vma_needs_copy).  A design without per-vma objects sets it, at
//      AnonVmaPrepare and AnonVmaFork, to one object shared by every vma
//      that may compare with it (its per-mm object, or a design-wide
//      marker), so that such vmas merge freely; UnlinkAnonVmas clears it.
//      IsForkChild() answers vma_is_fork_child().
//  (5) MovePte() is asked before mremap moves a present anonymous page's
//      PTE; returning kCopy makes the core give the new address a private
//      copy instead (Linus' copy_one_pte remedy, counted in wasted_pages).
//  (6) A page that becomes a KSM page leaves the design: the core removes
//      each of its mappings with RemoveRmap, then calls SetStableNode, after
//      which the page's mapping and index are KSM's until the page is
//      freed; no hook names the page again (Linux never gives a KSM folio
//      back to an anon_vma).
//  (7) Designs never allocate or free pages, and never change PTEs.
//  (8) stats() has one writer, the design (through counters()); the core
//      reads it and adds the cost of its own walks with AccountWalk().
#ifndef RMAPLAB_RMAP_H_
#define RMAPLAB_RMAP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rmaplab/mm_types.h"
#include "rmaplab/status.h"

namespace rmaplab {

// A non-owning reference to a callable, for walk callbacks.
template <typename Sig>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F, typename = std::enable_if_t<
                            !std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(
              std::forward<Args>(a)...);
        }) {}
  R operator()(Args... a) const {
    return call_(obj_, std::forward<Args>(a)...);
  }

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
  uint64_t wasted_steps = 0;  // things inspected that yielded no candidate
  uint64_t lock_acquisitions =
      0;                       // rmap locks taken (anon_vma, page chain, ...)
  uint64_t chain_entries = 0;  // per-page chain entries allocated (pte_chain)
  uint64_t fork_work = 0;      // rmap structures created or linked at fork
  uint64_t exit_work = 0;  // rmap structures unlinked or freed at exit/unmap
};

// What one walk cost; the walker's caller decides whether it counts.
struct WalkCost {
  uint64_t wasted_steps = 0;       // inspected, no candidate (or no mapping)
  uint64_t lock_acquisitions = 0;  // rmap locks the walk took
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
  // prev/next are its neighbours (for FindMergeableAnonVma).
  virtual void AnonVmaPrepare(Vma& vma, Vma* prev, Vma* next) = 0;
  // anon_vma_clone(): `dst` takes `src`'s anonymous object.  `dst` is a
  // fresh copy of `src` (split, mremap copy: called whether or not src has
  // one) or a merge target without one (dup_anon_vma: src has one).
  virtual void AnonVmaClone(Vma& dst, Vma& src) = 0;
  // anon_vma_fork(): `child` is the fork copy of `parent`, which has an
  // anon_vma; child starts with none.
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
  // swap-cache page, migration).
  virtual void AddAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) = 0;
  // fork copies a mapping of `page` into the child's (vma, addr).
  virtual void DupAnonRmap(Pfn pfn, Page& page, Vma& child_vma,
                           uint64_t addr) = 0;
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
                                 uint64_t new_addr, uint32_t count,
                                 Page* cache) {
    return MoveAction::kKeep;
  }

  // folio_set_stable_node(): `page` becomes a KSM page (contract (6)).
  // Every mapping has been removed with RemoveRmap; the design forgets the
  // page.  This default clears the fields the design owns in it; a design
  // that keeps per-page state elsewhere drops it, then calls this.
  virtual void SetStableNode(Pfn pfn, Page& page);

  // swapoff (try_to_unuse) finds swap entries by scanning every page table
  // of every mm, whatever the design.  A design whose anonymous memory is
  // an object with an offset index (Rik's anon inode: "simply move the
  // anon_memory file pages from disk into memory") could instead visit the
  // swapped offsets and search each one's mappers; it returns the visits
  // that would take for `swapped` entries.  -1: no such index.
  virtual int64_t SwapoffByObjectVisits(uint64_t swapped) const { return -1; }

  // --- the walk (rmap_walk_anon) ---
  virtual void Walk(Pfn pfn, const Page& page, RmapOne rmap_one,
                    WalkCost& cost) const = 0;

  // --- costs and checks ---
  // Bytes of rmap metadata alive now, in `layout`.
  virtual uint64_t MetadataBytes(Layout layout) const = 0;
  // struct page bytes this design adds (+) or saves (-) per page, in
  // `layout`, against the 2.6-era 48-byte i386 baseline with objrmap.
  virtual int PageBytesDelta(Layout layout) const { return 0; }
  // The design's own invariants (e.g. chain lists agree both ways).
  virtual Status CheckInvariants() const = 0;

  // --- structure pictures (`rmaplab graph`; GraphSink: rmaplab/graph.h) ---
  // Adds the design's own objects to `g`, which already holds every live
  // mm, vma and shown page: nodes for its objects, edges from them to the
  // core's nodes, from each vma to its anon object and from each page of
  // g.pages() to what page->mapping names.  Changes nothing.  The default
  // adds only a note that the design draws nothing of its own.
  virtual void Describe(class GraphSink& g) const;

  const RmapStats& stats() const { return stats_; }
  // A counted walk's cost goes into stats().
  void AccountWalk(const WalkCost& cost) {
    stats_.wasted_steps += cost.wasted_steps;
    stats_.lock_acquisitions += cost.lock_acquisitions;
  }

 protected:
  // The design's counters: only the design writes them.
  RmapStats& counters() { return stats_; }

 private:
  RmapStats stats_;
};

// anon_vma_compatible(): may b reuse a's anon object, as adjacent vmas?
// (mm/rmap.c; flags may differ only in rwx.)
bool AnonVmaCompatible(const Vma& a, const Vma& b);

// find_mergeable_anon_vma(): the anon_vma of a neighbour `vma` may share,
// next first, then prev; nullptr if none.  `reusable(old)` adds the
// design's own condition on the neighbour (Linux: reusable_anon_vma, the
// neighbour has no ancestors); nullptr accepts any neighbour with one.
void* FindMergeableAnonVma(const Vma& vma, const Vma* prev, const Vma* next,
                           bool (*reusable)(const Vma& old) = nullptr);

// The registry: every design by name.
struct DesignInfo {
  std::string name;
  std::string summary;
  std::function<std::unique_ptr<ReverseMap>()> create;
};
// Adds a design (one outside this tree) to the registry.  Error if the name
// is empty or taken, or create is empty.  Call it before creating a
// Simulator that names the design (not thread-safe with CreateDesign).
Status RegisterDesign(DesignInfo info);
// The designs that ship, then the registered ones, in order.
const std::vector<DesignInfo>& Designs();
// A new instance of design `name`, or nullptr if there is none.
std::unique_ptr<ReverseMap> CreateDesign(std::string_view name);

}  // namespace rmaplab

#endif  // RMAPLAB_RMAP_H_
