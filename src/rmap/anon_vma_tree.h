// anon_vma_tree.h (internal): the anon_vma objects and anon_vma_chain
// entries of Linux 2.6.34+ (mm/rmap.c), shared by the designs built on
// them (anon_vma_chain.cc, anon_vma_lazy.cc): allocation and
// put_anon_vma(), linking an avc, unlink_anon_vmas()' loop, the reuse
// rule of anon_vma_fork(), rmap_walk_anon() over one anon_vma's tree, the
// metadata sizes and the count checks.  Each design keeps its own per-vma
// state (vma->anon_vma_chain plus what it adds) and hands the tree the
// avc list of a vma through `chain_of`.
//
// Invariants (Check):
//  (1) avc->vma's chain holds avc and avc->anon_vma's tree holds avc;
//  (2) num_active_vmas == the number of vmas whose anon_vma is this one;
//  (3) num_children == the number of live anon_vmas whose parent is this
//      one with a non-empty tree (a root counts itself);
//  (4) refcount == 1 while the tree is non-empty, plus one per live
//      descendant for a root.
#ifndef RMAPLAB_RMAP_ANON_VMA_TREE_H_
#define RMAPLAB_RMAP_ANON_VMA_TREE_H_

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/rmap.h"

namespace rmaplab {

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

class AnonVmaTree {
 public:
  // The vma's anon_vma_chain, or nullptr if it has none.
  using ChainOf = const std::vector<Avc*>* (*)(const Vma& vma);

  // A new root anon_vma (its own root and parent), not yet counted as
  // anyone's child.
  AnonVma* Alloc() {
    AnonVma* av = anon_vmas_.New();
    av->root = av;
    av->parent = av;
    return av;
  }
  // anon_vma_fork()'s new anon_vma for a child of `pav`.
  AnonVma* AllocChild(AnonVma* pav) {
    AnonVma* av = Alloc();
    av->root = pav->root;
    av->parent = pav;
    av->root->refcount++;  // get_anon_vma(root)
    pav->num_children++;
    return av;
  }
  // put_anon_vma() / __put_anon_vma().
  void Put(AnonVma* av) {
    if (--av->refcount > 0) return;
    AnonVma* root = av->root;
    anon_vmas_.Delete(av);
    if (root != av) Put(root);
  }
  // anon_vma_chain_link(): an avc for (vma, av), appended to `chain`.
  void Link(Vma& vma, AnonVma* av, std::vector<Avc*>& chain) {
    Avc* avc = avcs_.New(&vma, av);
    av->tree.Add(avc);
    chain.push_back(avc);
  }
  // unlink_anon_vmas(): frees every avc of `chain` (newest first) and puts
  // the anon_vmas left with empty trees; `active` (vma->anon_vma, or
  // nullptr) loses its active vma.  Returns the avcs freed.
  uint64_t Unlink(std::vector<Avc*>& chain, AnonVma* active) {
    std::vector<AnonVma*> emptied;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      AnonVma* av = (*it)->anon_vma;
      av->tree.Remove(*it);
      if (av->tree.empty()) {
        av->parent->num_children--;
        emptied.push_back(av);
      }
      avcs_.Delete(*it);
    }
    uint64_t freed = chain.size();
    chain.clear();
    if (active) active->num_active_vmas--;
    for (AnonVma* av : emptied) Put(av);
    return freed;
  }
  // anon_vma_fork()'s reuse rule: no vma of its own, at most one child.
  static bool ReusableAtFork(const AnonVma& av) {
    return av.num_children < 2 && av.num_active_vmas == 0;
  }

  // rmap_walk_anon() over the anon_vma page->mapping names.
  void Walk(const Page& page, RmapOne rmap_one, WalkCost& cost) const {
    const AnonVma* av = anon_vmas_.Find(page.mapping);
    if (!av) return;
    cost.lock_acquisitions++;  // anon_vma_lock_read(root)
    // anon_vma_interval_tree_foreach: only vmas whose pgoff range covers
    // page->index come out of the tree.
    for (Avc* avc : av->tree)
      if (auto addr = avc->vma->Address(page.index))
        if (!rmap_one(*avc->vma, *addr)) return;
  }

  // 96-byte anon_vma, 64-byte avc on x86-64; 48 / 32 on i386.
  uint64_t MetadataBytes(Layout layout) const {
    bool x64 = layout == Layout::kX86_64;
    return anon_vmas_.live() * (x64 ? 96 : 48) + avcs_.live() * (x64 ? 64 : 32);
  }

  // Invariants (1)-(4); errors start with `who`.
  Status Check(const std::string& who, ChainOf chain_of) const {
    std::unordered_map<const AnonVma*, int> active, children, descendants;
    bool placed = true;
    anon_vmas_.ForEach([&](const AnonVma& av) {
      placed &= av.tree.Consistent([&](const Avc& avc) {
        const std::vector<Avc*>* c = chain_of(*avc.vma);
        if (avc.vma->anon_vma == &av) active[&av]++;
        return avc.anon_vma == &av && c &&
               std::find(c->begin(), c->end(), &avc) != c->end();
      });
      if (!av.tree.empty()) children[av.parent]++;
      if (av.root != &av) descendants[av.root]++;
    });
    if (!placed)
      return Status::Error(who + ": avc not where its tree and chain say");
    Status st;
    anon_vmas_.ForEach([&](const AnonVma& av) {
      if (!st.ok()) return;
      int want =
          (av.tree.empty() ? 0 : 1) + (av.root == &av ? descendants[&av] : 0);
      if (av.num_active_vmas != active[&av])
        st = Status::Error(
            who + ": num_active_vmas " + std::to_string(av.num_active_vmas) +
            " != " + std::to_string(active[&av]) + " vmas using it");
      else if (av.num_children != children[&av])
        st = Status::Error(who + ": num_children " +
                           std::to_string(av.num_children) +
                           " != " + std::to_string(children[&av]));
      else if (av.refcount != want)
        st = Status::Error(who + ": refcount " + std::to_string(av.refcount) +
                           " != " + std::to_string(want));
    });
    return st;
  }

  // --- structure pictures (rmaplab/graph.h) ---
  // anon_vma `av` and, through parent and root, its ancestors.
  void DescribeAnonVma(GraphSink& g, const AnonVma* av) const {
    GraphId id = GraphId::Object(av);
    if (g.Has(id)) return;
    g.Node(id, "anon_vma",
           GraphLabel({"anon_vma #", std::to_string(av->handle), "\nchildren ",
                       std::to_string(av->num_children), ", active vmas ",
                       std::to_string(av->num_active_vmas), "\nrefcount ",
                       std::to_string(av->refcount)}));
    if (av->parent != av) {
      DescribeAnonVma(g, av->parent);
      g.Edge(id, GraphId::Object(av->parent), "parent");
    }
    if (av->root != av && av->root != av->parent) {
      DescribeAnonVma(g, av->root);
      g.Edge(id, GraphId::Object(av->root), "root");
    }
  }
  // vma's anon_vma_chain: vma -> avc -> anon_vma, one avc per entry.
  void DescribeChain(GraphSink& g, const Vma& vma,
                     const std::vector<Avc*>& chain) const {
    for (const Avc* avc : chain) {
      DescribeAnonVma(g, avc->anon_vma);
      GraphId id = GraphId::Object(avc);
      g.Node(id, "avc", "avc");
      g.Edge(GraphId::Of(vma), id, "");
      g.Edge(id, GraphId::Object(avc->anon_vma), "");
    }
  }
  // page -> the anon_vma page->mapping names; false if it names none.
  bool DescribePage(GraphSink& g, const GraphPage& p) const {
    const AnonVma* av = anon_vmas_.Find(p.page->mapping);
    if (!av) return false;
    DescribeAnonVma(g, av);
    g.Edge(GraphId::OfPage(p.pfn), GraphId::Object(av),
           GraphLabel({"mapping, index ", GraphHex(p.page->index)}));
    return true;
  }

 private:
  HandleTable<AnonVma> anon_vmas_{/*reuse=*/true};
  ObjectPool<Avc> avcs_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_RMAP_ANON_VMA_TREE_H_
