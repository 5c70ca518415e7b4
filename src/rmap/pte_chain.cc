// pte_chain.cc: Rik van Riel's 2.5 reverse map: every page lists the PTEs
// that map it (mm/rmap.c of 2.5.27-2.6.6: page_add_rmap, page_remove_rmap,
// try_to_unmap with pte_chains), the "one per page" end of the spectrum
// Hugh Dickins names in seed 000 (000_d0e3dc1774f45ca4.txt: "one per
// page (your original rmap)").
//
// A page mapped once keeps its PTE directly in struct page (PG_direct, here
// PG_rmap0); from the second mapping on its PTEs go into Morton's packed
// chain blocks (pte_chains.h: 7 slots per 32-byte block on i386, 7 per
// 64-byte block on x86-64).  A walk visits exactly the PTEs that map the
// page: no wasted steps; the price is paid at fork, which adds a chain entry
// for every page it shares, and in memory.  There is no per-vma object, so
// every vma holding anonymous pages gets the same marker as its anon_vma and
// vmas merge as freely as the core allows.  struct page keeps its pte union:
// the 48-byte 2.6.0 i386 baseline (PageBytesDelta 0).
//
// Invariants (CheckInvariants):
//  (1) the chain invariants of pte_chains.h;
//  (2) every PTE a hook removes or moves is on its page's chain (a miss
//      is remembered and reported).
#include "rmap/pte_chains.h"

namespace rmaplab {
namespace {

// The "anonymous object" every anonymous vma shares: there is none.
char kAnonMarker;

class PteChain final : public ReverseMap {
 public:
  std::string_view name() const override { return "pte_chain"; }

  void AnonVmaPrepare(Vma& vma, Vma*, Vma*) override {
    vma.anon_vma = &kAnonMarker;
  }
  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
  }
  void AnonVmaFork(Vma& child, Vma&) override { child.anon_vma = &kAnonMarker; }
  void UnlinkAnonVmas(Vma& vma) override { vma.anon_vma = nullptr; }

  void AddNewAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr,
                      bool) override {
    chains_.Add(pfn, page, {vma.mm, addr}, counters());
  }
  void AddAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) override {
    chains_.Add(pfn, page, {vma.mm, addr}, counters());
  }
  void DupAnonRmap(Pfn pfn, Page& page, Vma& child_vma,
                   uint64_t addr) override {
    chains_.Add(pfn, page, {child_vma.mm, addr}, counters());
    counters().fork_work++;
  }
  void RemoveRmap(Pfn pfn, Page&, Vma& vma, uint64_t addr) override {
    if (!chains_.Remove(pfn, {vma.mm, addr}, counters())) lost_++;
  }
  void MoveAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  MoveAction MovePte(Pfn pfn, Page&, Vma& from, uint64_t old_addr, Vma& to,
                     uint64_t new_addr) override {
    if (!chains_.Move(pfn, {from.mm, old_addr}, {to.mm, new_addr}, counters()))
      lost_++;
    return MoveAction::kKeep;
  }

  void Walk(Pfn pfn, const Page&, RmapOne rmap_one,
            WalkCost& cost) const override {
    chains_.Walk(pfn, rmap_one, cost);
  }

  uint64_t MetadataBytes(Layout layout) const override {
    return chains_.Bytes(layout);
  }

  Status CheckInvariants() const override {
    if (lost_)
      return Status::Error(
          "pte_chain: a PTE removed or moved was not on its chain");
    return chains_.Check("pte_chain");
  }

 private:
  PteChains chains_{/*direct_in_page=*/true};
  uint64_t lost_ = 0;  // hooks that named a PTE the chains did not hold

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // The marker every anonymous vma carries, and each page's PTEs: one
  // PG_direct edge, or chain blocks with an edge per entry.
  void Describe(GraphSink& g) const override {
    GraphId marker = GraphId::Object(&kAnonMarker);
    for (const Vma* vma : g.vmas()) {
      if (vma->anon_vma != &kAnonMarker) continue;
      g.Node(marker, "marker", "anon_vma marker\n(no object)");
      g.Edge(GraphId::Of(*vma), marker, "anon_vma");
    }
    chains_.Describe(g, "pte_chain");
  }
};

}  // namespace

std::unique_ptr<ReverseMap> NewPteChain() {
  return std::make_unique<PteChain>();
}

}  // namespace rmaplab
