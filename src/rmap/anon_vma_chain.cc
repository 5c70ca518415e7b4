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
// Invariants (CheckInvariants):
//  (1) avc->vma's chain holds avc and avc->anon_vma's tree holds avc;
//  (2) vma->anon_vma, if set, is on vma's chain;
//  (3) num_active_vmas == the number of vmas whose anon_vma is this one;
//  (4) num_children == the number of live anon_vmas whose parent is this
//      one with a non-empty tree (a root counts itself);
//  (5) refcount == 1 while the tree is non-empty, plus one per live
//      descendant for a root.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/rmap.h"

namespace rmaplab {
namespace {

struct AnonVma;

struct Avc {
  Vma* vma;
  AnonVma* anon_vma;
  size_t pos = 0;  // index in anon_vma->tree
};

struct AnonVma {
  uint32_t handle = 0;
  AnonVma* root = nullptr;
  AnonVma* parent = nullptr;
  int refcount = 1;
  int num_children = 0;
  int num_active_vmas = 0;
  PositionList<Avc> tree;  // rb_root: the avcs of every vma that may map
                           // pages of this anon_vma
};

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
      av = Alloc();
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
    AnonVma* pav = As(parent.anon_vma.get());
    AnonVma* av = Alloc();
    av->num_active_vmas++;
    av->root = pav->root;
    av->parent = pav;
    av->root->refcount++;  // get_anon_vma(root)
    child.anon_vma = av;
    Link(child, av);
    pav->num_children++;
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
    std::vector<AnonVma*> emptied;
    for (auto it = c->avcs.rbegin(); it != c->avcs.rend(); ++it) {
      Avc* avc = *it;
      AnonVma* av = avc->anon_vma;
      av->tree.Remove(avc);
      if (av->tree.empty()) {
        av->parent->num_children--;
        emptied.push_back(av);
      }
      avcs_.Delete(avc);
      counters().exit_work++;
    }
    if (vma.anon_vma) vma.anon_vma.as<AnonVma>()->num_active_vmas--;
    vma.anon_vma = nullptr;
    chains_.Delete(c);
    vma.rmap = nullptr;
    for (AnonVma* av : emptied) Put(av);
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
    const AnonVma* av = anon_vmas_.Find(page.mapping);
    if (!av) return;
    cost.lock_acquisitions++;  // anon_vma_lock_read(root)
    // anon_vma_interval_tree_foreach: only vmas whose pgoff range covers
    // page->index come out of the tree.
    for (Avc* avc : av->tree)
      if (auto addr = avc->vma->Address(page.index))
        if (!rmap_one(*avc->vma, *addr)) return;
  }

  uint64_t MetadataBytes(Layout layout) const override {
    bool x64 = layout == Layout::kX86_64;
    return anon_vmas_.live() * (x64 ? 96 : 48) + avcs_.live() * (x64 ? 64 : 32);
  }

  Status CheckInvariants() const override;

 private:
  static AnonVma* As(void* p) { return static_cast<AnonVma*>(p); }

  AnonVma* Alloc() {
    AnonVma* av = anon_vmas_.New();
    av->root = av;
    av->parent = av;
    return av;
  }

  // put_anon_vma() / __put_anon_vma().
  void Put(AnonVma* av) {
    if (--av->refcount > 0) return;
    AnonVma* root = av->root;
    anon_vmas_.Delete(av);
    if (root != av) Put(root);
  }

  void Link(Vma& vma, AnonVma* av) {
    Chain* c = vma.rmap.as<Chain>();
    if (!c) vma.rmap = c = chains_.New();
    Avc* avc = avcs_.New(&vma, av);
    av->tree.Add(avc);
    c->avcs.push_back(avc);
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
      if (!dst.anon_vma && src.anon_vma && av->num_children < 2 &&
          av->num_active_vmas == 0)
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

  HandleTable<AnonVma> anon_vmas_{/*reuse=*/true};
  ObjectPool<Avc> avcs_;
  ObjectPool<Chain> chains_;
};

Status AnonVmaChain::CheckInvariants() const {
  std::unordered_map<const AnonVma*, int> active, children, descendants;
  Status st;
  anon_vmas_.ForEach([&](const AnonVma& av) {
    bool ok = av.tree.Consistent([&](const Avc& avc) {
      const Chain* c = avc.vma->rmap.as<Chain>();
      if (avc.vma->anon_vma == &av) active[&av]++;
      return avc.anon_vma == &av && c &&
             std::find(c->avcs.begin(), c->avcs.end(), &avc) != c->avcs.end();
    });
    if (!ok && st.ok())
      st =
          Status::Error("anon_vma_chain: avc not where its tree and chain say");
    if (!av.tree.empty()) children[av.parent]++;
    if (av.root != &av) descendants[av.root]++;
  });
  if (!st.ok()) return st;
  anon_vmas_.ForEach([&](const AnonVma& av) {
    if (!st.ok()) return;
    int want =
        (av.tree.empty() ? 0 : 1) + (av.root == &av ? descendants[&av] : 0);
    if (av.num_active_vmas != active[&av])
      st = Status::Error("anon_vma_chain: num_active_vmas " +
                         std::to_string(av.num_active_vmas) + " != " +
                         std::to_string(active[&av]) + " vmas using it");
    else if (av.num_children != children[&av])
      st = Status::Error("anon_vma_chain: num_children " +
                         std::to_string(av.num_children) +
                         " != " + std::to_string(children[&av]));
    else if (av.refcount != want)
      st = Status::Error("anon_vma_chain: refcount " +
                         std::to_string(av.refcount) +
                         " != " + std::to_string(want));
  });
  return st;
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonVmaChain() {
  return std::make_unique<AnonVmaChain>();
}

}  // namespace rmaplab
