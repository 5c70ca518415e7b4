// anon_vma_chain.cc: the reverse map of Linux 2.6.34 to today
// (mm/rmap.c: anon_vma_prepare, anon_vma_clone, anon_vma_fork,
// unlink_anon_vmas, folio_move_anon_rmap, rmap_walk_anon).
//
// Every vma that ever held anonymous pages has its own anon_vma, linked to
// its ancestors' through anon_vma_chain entries (avc): one avc per (vma,
// anon_vma) pair, on the vma's chain list and in the anon_vma's tree.  A
// page points at the anon_vma of the vma that faulted it (the root one when
// not exclusive); a walk visits the vmas in that anon_vma's tree, so a page
// COWed by a child is never searched for in the parent or its siblings.
// An anon_vma with no vma of its own and at most one child is reused at
// fork instead of allocating a new one (num_children / num_active_vmas,
// Linux 5.x; the 2015 `degree` bound before it).
//
// The anon_vmas, avcs, walk and counts are anon_vma_tree.h's (shared with
// anon_vma_lazy.cc); this file holds the per-vma chain and the rules.
//
// Invariants (CheckInvariants): anon_vma_tree.h's (1)-(4), and
//  (5) vma->anon_vma, if set, is on vma's chain.
#include <vector>

#include "rmap/anon_vma_tree.h"

namespace rmaplab {
namespace {

// vma->anon_vma_chain.
struct Chain {
  std::vector<Avc*> avcs;
};

class AnonVmaChain final : public ReverseMap {
 public:
  std::string_view name() const override { return "anon_vma_chain"; }

  void AnonVmaPrepare(Vma& vma, Vma* prev, Vma* next) override {
    if (vma.anon_vma) return;
    AnonVma* av = As(FindMergeableAnonVma(vma, prev, next, HasNoAncestors));
    if (!av) {
      av = tree_.Alloc();
      av->num_children++;  // self-parent link of a new root
    }
    vma.anon_vma = av;
    Link(vma, av);
    av->num_active_vmas++;
    counters().lock_acquisitions++;
  }

  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
    Clone(dst, src);
  }

  void AnonVmaFork(Vma& child, Vma& parent) override {
    Clone(child, parent);
    if (child.anon_vma) return;  // reused an existing anon_vma
    AnonVma* av = tree_.AllocChild(parent.anon_vma.as<AnonVma>());
    av->num_active_vmas++;
    child.anon_vma = av;
    Link(child, av);
    counters().fork_work++;
    counters().lock_acquisitions++;
  }

  void UnlinkAnonVmas(Vma& vma) override {
    Chain* c = vma.rmap.as<Chain>();
    if (!c) {
      vma.anon_vma = nullptr;
      return;
    }
    counters().lock_acquisitions++;
    counters().exit_work += tree_.Unlink(c->avcs, vma.anon_vma.as<AnonVma>());
    vma.anon_vma = nullptr;
    chains_.Delete(c);
    vma.rmap = nullptr;
  }

  bool IsForkChild(const Vma& vma) const override {
    const Chain* c = vma.rmap.as<Chain>();
    return vma.anon_vma && c && c->avcs.size() != 1;
  }

  void AddNewAnonRmap(Pfn, Page& page, Vma& vma, uint64_t addr,
                      bool exclusive) override {
    AnonVma* av = vma.anon_vma.as<AnonVma>();
    if (!exclusive) av = av->root;  // __folio_set_anon
    page.mapping = av->handle;
    page.index = vma.LinearPageIndex(addr);
  }
  void AddAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void DupAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void RemoveRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void MoveAnonRmap(Pfn, Page& page, Vma& vma, uint64_t) override {
    page.mapping = vma.anon_vma.as<AnonVma>()->handle;  // folio_move_anon_rmap
  }
  MoveAction MovePte(Pfn, Page&, Vma&, uint64_t, Vma&, uint64_t) override {
    return MoveAction::kKeep;  // vm_pgoff keeps page->index valid
  }

  void Walk(Pfn, const Page& page, RmapOne rmap_one,
            WalkCost& cost) const override {
    tree_.Walk(page, rmap_one, cost);
  }

  uint64_t MetadataBytes(Layout layout) const override {
    return tree_.MetadataBytes(layout);
  }

  Status CheckInvariants() const override;

 private:
  static AnonVma* As(void* p) { return static_cast<AnonVma*>(p); }

  void Link(Vma& vma, AnonVma* av) {
    Chain* c = vma.rmap.as<Chain>();
    if (!c) vma.rmap = c = chains_.New();
    tree_.Link(vma, av, c->avcs);
  }

  // anon_vma_clone(): link dst to every anon_vma on src's chain; a fork
  // child (no anon_vma yet) reuses one that has no vma of its own and at
  // most one child.
  void Clone(Vma& dst, Vma& src) {
    const Chain* sc = src.rmap.as<Chain>();
    if (!sc) return;
    for (Avc* pavc : sc->avcs) {
      AnonVma* av = pavc->anon_vma;
      Link(dst, av);
      if (!dst.anon_vma && src.anon_vma && AnonVmaTree::ReusableAtFork(*av))
        dst.anon_vma = av;
      counters().fork_work++;
    }
    if (dst.anon_vma) dst.anon_vma.as<AnonVma>()->num_active_vmas++;
    counters().lock_acquisitions++;
  }

  // reusable_anon_vma()'s own condition: the neighbour has no ancestors.
  static bool HasNoAncestors(const Vma& old) {
    const Chain* c = old.rmap.as<Chain>();
    return c && c->avcs.size() == 1;
  }
  static const std::vector<Avc*>* ChainOf(const Vma& vma) {
    const Chain* c = vma.rmap.as<Chain>();
    return c ? &c->avcs : nullptr;
  }

  AnonVmaTree tree_;
  ObjectPool<Chain> chains_;

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // Each vma's chain (vma -> avc -> anon_vma), its own anon_vma, the
  // anon_vmas' parents and roots, and each page's anon_vma.
  void Describe(GraphSink& g) const override {
    for (const Vma* vma : g.vmas()) {
      if (const std::vector<Avc*>* c = ChainOf(*vma))
        tree_.DescribeChain(g, *vma, *c);
      if (!vma->anon_vma) continue;
      tree_.DescribeAnonVma(g, vma->anon_vma.as<AnonVma>());
      g.Edge(GraphId::Of(*vma), GraphId::Object(vma->anon_vma.get()),
             "anon_vma");
    }
    for (const GraphPage& p : g.pages()) tree_.DescribePage(g, p);
  }
};

Status AnonVmaChain::CheckInvariants() const {
  return tree_.Check("anon_vma_chain", ChainOf);
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonVmaChain() {
  return std::make_unique<AnonVmaChain>();
}

}  // namespace rmaplab
