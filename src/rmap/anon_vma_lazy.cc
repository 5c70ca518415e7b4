// anon_vma_lazy.cc: "[PATCH 0/15] mm: introduce ANON_VMA_LAZY for deferred
// anon_vma creation" (linux-kernel, 27 May 2026, and its patch 10/15), on
// top of anon_vma_chain (anon_vma_chain.cc, Linux 2.6.34 to today).  It
// revives Andrea Arcangeli's PageDirect of seed 001: a page points at its
// vma until the first fork.
//
// A vma that gets its first anonymous page becomes *lazy*: no anon_vma and
// no anon_vma_chain; its pages point at the vma itself (page->mapping,
// PG_rmap0) and are found with no anon_vma lock, in one step.  Every lazy
// vma carries the same anon object, the LAZY marker, in Vma::anon_vma, so
// lazy neighbours merge as freely as Linux merges vmas that share an
// anon_vma (find_mergeable_anon_vma makes faulted neighbours share one).
// When a lazy vma is first forked it is *upgraded*: it gets a regular
// anon_vma (a compatible neighbour's, as anon_vma_prepare would, or a new
// one) and its pages are repointed to it, which establishes the sharing
// topology.  The child's vma starts as a user of the parent's tree (linked
// to every anon_vma on the parent's chain, Vma::anon_vma borrowed from the
// parent) and allocates no anon_vma of its own until it needs one: its
// first exclusive new page or COW reuse runs the rest of anon_vma_fork()
// then, with anon_vma_fork's reuse rule (num_children / num_active_vmas).
//
// Rules the series leaves open, chosen here (docs/designs/anon_vma_lazy.md):
//  - split: the new vma is lazy too; its pages are repointed to it (a PTE
//    scan of the split-off part, as the RFC's __split_vma fixup);
//  - mremap: the copy is lazy; each moved page (or swap-cache page of a
//    moved swap PTE) is repointed as its PTE moves;
//  - merge: pages of a vma merged away keep their pointer; a pointer whose
//    vma no longer covers the page (gone, or shrunk by a merge) is
//    *forwarded*: the walk finds the vma that maps the page by address,
//    (page index << 12) + the vma's linear delta (vm_start - vm_pgoff <<
//    12, which split and merge preserve), counting the stale pointer as a
//    wasted step;
//  - swap: a lazy page keeps pointing at its vma while in the swap cache
//    and is repointed when it is mapped again (it has at most one mapping
//    before the first fork);
//  - a non-exclusive new page of a forked vma points at the root anon_vma
//    (__folio_set_anon), as in anon_vma_chain.
//
// Costs: anon_vma_chain's (96-byte anon_vma, 64-byte avc on x86-64; 48 /
// 32 on i386) for forked vmas and their children; nothing for a lazy vma
// (its pointer sits in page->mapping, the marker in vma->anon_vma).
//
// Invariants (CheckInvariants), anon_vma_tree.h's (1)-(4) for chained vmas
// (a borrowing child counts as an active vma of the anon_vma it borrows),
// and:
//  (6) a lazy vma has no avcs, carries the LAZY marker, and its node
//      points back at it;
//  (7) a node whose vma is gone (forwarded) belongs to a live mm.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/anon_vma_tree.h"

namespace rmaplab {
namespace {

constexpr uint32_t PG_lazy = PG_rmap0;  // page->mapping names a LazyVma

// The LAZY anon object every lazy vma carries (contract (4)'s marker).
char lazy_marker = 0;

// What a lazy page points at: its vma, and how to find it again by address
// if the vma went or shrank (forwarding).
struct LazyVma {
  uint32_t handle = 0;
  Mm* mm = nullptr;
  Vma* vma = nullptr;  // nullptr: forwarded
  int64_t delta = 0;   // vm_start - (vm_pgoff << 12)
};

// vma->rmap: the vma's anon_vma_chain, or its lazy node.
struct VmaState {
  std::vector<Avc*> avcs;
  bool borrowed = false;  // a fork child using its parent's anon_vma
  LazyVma* lazy = nullptr;
};

int64_t DeltaOf(const Vma& vma) {
  return static_cast<int64_t>(vma.start) -
         static_cast<int64_t>(vma.pgoff << kPageShift);
}

bool IsLazy(const Vma& vma) { return vma.anon_vma == &lazy_marker; }

// reusable_anon_vma()'s own condition: the neighbour has its own anon_vma
// (not lazy, not borrowed) and no ancestors.
bool HasNoAncestors(const Vma& old) {
  const VmaState* s = old.rmap.as<VmaState>();
  return !IsLazy(old) && s && s->avcs.size() == 1 && !s->borrowed;
}

class AnonVmaLazy final : public ReverseMap {
 public:
  std::string_view name() const override { return "anon_vma_lazy"; }

  void MmExit(Mm& mm) override;

  void AnonVmaPrepare(Vma& vma, Vma*, Vma*) override {
    if (vma.anon_vma) return;
    MakeLazy(vma);
  }
  void AnonVmaClone(Vma& dst, Vma& src) override;
  void AnonVmaFork(Vma& child, Vma& parent) override;
  void UnlinkAnonVmas(Vma& vma) override;
  bool IsForkChild(const Vma& vma) const override {
    const VmaState* s = vma.rmap.as<VmaState>();
    return vma.anon_vma && s && !s->lazy &&
           (s->avcs.size() != 1 || s->borrowed);
  }

  void AddNewAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr,
                      bool exclusive) override {
    page.index = vma.LinearPageIndex(addr);
    PointAt(pfn, page, vma, exclusive);
  }
  void AddAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t) override {
    if (page.Test(PG_lazy)) PointAt(pfn, page, vma, page.mapcount == 0);
  }
  void DupAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void RemoveRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void MoveAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t) override {
    PointAt(pfn, page, vma, true);  // folio_move_anon_rmap()
  }
  MoveAction MovePte(Pfn pfn, Page& page, Vma&, uint64_t, Vma& to,
                     uint64_t) override {
    if (page.Test(PG_lazy)) PointAt(pfn, page, to, true);
    return MoveAction::kKeep;  // vm_pgoff keeps page->index valid
  }
  MoveAction MoveSwapPte(Vma&, uint64_t, Vma& to, uint64_t, uint32_t,
                         Page* cache) override {
    // A lazy swap-cache page follows its PTE (AddAnonRmap would repoint
    // it anyway when it is mapped again).
    VmaState* s = to.rmap.as<VmaState>();
    if (cache && cache->Test(PG_anon) && cache->Test(PG_lazy) && s && s->lazy)
      cache->mapping = s->lazy->handle;
    return MoveAction::kKeep;
  }
  void SetStableNode(Pfn pfn, Page& page) override {
    lazy_pages_.erase(pfn);
    ReverseMap::SetStableNode(pfn, page);
  }

  void Walk(Pfn, const Page& page, RmapOne rmap_one,
            WalkCost& cost) const override {
    if (page.Test(PG_lazy)) return WalkLazy(page, rmap_one, cost);
    tree_.Walk(page, rmap_one, cost);
  }

  uint64_t MetadataBytes(Layout layout) const override {
    return tree_.MetadataBytes(layout);
  }
  Status CheckInvariants() const override;

 private:
  VmaState* StateOf(Vma& vma) {
    VmaState* s = vma.rmap.as<VmaState>();
    if (!s) vma.rmap = s = states_.New();
    return s;
  }

  // --- lazy vmas ---
  void MakeLazy(Vma& vma);
  void PointAt(Pfn pfn, Page& page, Vma& vma, bool exclusive);
  // Calls fn(page) for every present lazy page mapped in [start, end) of mm.
  template <typename Fn>
  void ForEachLazyPage(Mm& mm, uint64_t start, uint64_t end, Fn&& fn);
  void Upgrade(Vma& vma);  // the parent's vma at its first fork
  void NeedOwn(Vma& vma);  // a borrowing child's deferred anon_vma_fork()
  void WalkLazy(const Page& page, RmapOne rmap_one, WalkCost& cost) const;

  // --- anon_vma_chain (anon_vma_tree.h) ---
  void Link(Vma& vma, AnonVma* av) { tree_.Link(vma, av, StateOf(vma)->avcs); }
  void LinkAll(Vma& dst, Vma& src);  // anon_vma_clone() without reuse
  static const std::vector<Avc*>* ChainOf(const Vma& vma) {
    const VmaState* s = vma.rmap.as<VmaState>();
    return s ? &s->avcs : nullptr;
  }

  // Lazy nodes: never reused, so a stale page->mapping finds nothing.
  HandleTable<LazyVma> lazy_{/*reuse=*/false};
  std::unordered_multimap<const Mm*, LazyVma*> forwarded_;
  // Pfns last seen lazy: the pages a split or upgrade repoints, found from
  // the PTEs (the design is never handed a pfn -> page lookup).
  std::unordered_map<Pfn, Page*> lazy_pages_;
  AnonVmaTree tree_;
  ObjectPool<VmaState> states_;

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // A lazy vma: its node (node -> vma) and the LAZY marker; a chained one:
  // anon_vma_chain's picture, its anon_vma edge saying if it is borrowed.
  // A lazy page points at its node (a forwarded node -> its mm), any
  // other at its anon_vma.
  void Describe(GraphSink& g) const override {
    auto node = [&](const LazyVma* n) {
      GraphId id = GraphId::Object(n);
      if (g.Has(id)) return id;
      g.Node(id, "lazy",
             GraphLabel({"lazy node #", std::to_string(n->handle),
                         n->vma ? "" : "\n(forwarded: vma gone)"}));
      g.Edge(id, n->vma ? GraphId::Of(*n->vma) : GraphId::Of(*n->mm),
             n->vma ? "vma" : "mm (forwarded)");
      return id;
    };
    for (const Vma* vma : g.vmas()) {
      const VmaState* s = vma->rmap.as<VmaState>();
      if (s && s->lazy) node(s->lazy);
      if (s) tree_.DescribeChain(g, *vma, s->avcs);
      if (IsLazy(*vma))
        g.Node(GraphId::Object(&lazy_marker), "marker", "LAZY marker");
      else if (vma->anon_vma)
        tree_.DescribeAnonVma(g, vma->anon_vma.as<AnonVma>());
      if (vma->anon_vma)
        g.Edge(GraphId::Of(*vma), GraphId::Object(vma->anon_vma.get()),
               s && s->borrowed ? "anon_vma (borrowed)" : "anon_vma");
    }
    for (const GraphPage& p : g.pages()) {
      const LazyVma* n = lazy_.Find(p.page->mapping);
      if (!p.page->Test(PG_lazy))
        tree_.DescribePage(g, p);
      else if (n)
        g.Edge(
            GraphId::OfPage(p.pfn), node(n),
            GraphLabel({"mapping (PG_lazy), index ", GraphHex(p.page->index)}));
    }
  }
};

// --- lazy vmas -------------------------------------------------------------

void AnonVmaLazy::MakeLazy(Vma& vma) {
  LazyVma* n = lazy_.New();
  n->mm = vma.mm;
  n->vma = &vma;
  n->delta = DeltaOf(vma);
  StateOf(vma)->lazy = n;
  vma.anon_vma = &lazy_marker;
}

// Where a page mapped (now) in vma points: the vma itself while it is
// lazy, else its anon_vma (the root one when the page is not exclusive).
void AnonVmaLazy::PointAt(Pfn pfn, Page& page, Vma& vma, bool exclusive) {
  VmaState* s = vma.rmap.as<VmaState>();
  if (s && s->lazy) {
    page.mapping = s->lazy->handle;
    page.Set(PG_lazy);
    lazy_pages_[pfn] = &page;
    return;
  }
  page.Clear(PG_lazy);
  if (!exclusive) {
    page.mapping =
        vma.anon_vma.as<AnonVma>()->root->handle;  // __folio_set_anon
    return;
  }
  if (s && s->borrowed) NeedOwn(vma);
  page.mapping = vma.anon_vma.as<AnonVma>()->handle;
}

template <typename Fn>
void AnonVmaLazy::ForEachLazyPage(Mm& mm, uint64_t start, uint64_t end,
                                  Fn&& fn) {
  mm.pt.ForEach(start, end, [&](uint64_t, const Pte& pte) {
    if (!pte.present()) return;
    auto it = lazy_pages_.find(pte.pfn());
    if (it == lazy_pages_.end()) return;
    Page& page = *it->second;
    if (page.Test(PG_anon) && page.Test(PG_lazy)) fn(page);
  });
}

void AnonVmaLazy::AnonVmaClone(Vma& dst, Vma& src) {
  VmaState* ss = src.rmap.as<VmaState>();
  if (!ss) {
    dst.anon_vma = src.anon_vma.get();
    return;
  }
  if (!ss->lazy) {  // split or copy of a chained vma: anon_vma_clone()
    LinkAll(dst, src);
    dst.rmap.as<VmaState>()->borrowed = ss->borrowed;
    dst.anon_vma = src.anon_vma.get();
    dst.anon_vma.as<AnonVma>()->num_active_vmas++;
    return;
  }
  MakeLazy(dst);
  uint32_t from = ss->lazy->handle, to = dst.rmap.as<VmaState>()->lazy->handle;
  ForEachLazyPage(*dst.mm, dst.start, dst.end, [&](Page& page) {
    if (page.mapping == from) page.mapping = to;  // __split_vma() fixup
  });
}

void AnonVmaLazy::Upgrade(Vma& vma) {
  VmaState* s = vma.rmap.as<VmaState>();
  LazyVma* n = s->lazy;
  AnonVma* av = static_cast<AnonVma*>(FindMergeableAnonVma(
      vma, vma.mm->Prev(vma), vma.mm->Next(vma), HasNoAncestors));
  if (!av) {
    av = tree_.Alloc();
    av->num_children++;  // self-parent link of a new root
  }
  s->lazy = nullptr;
  vma.anon_vma = av;
  Link(vma, av);
  av->num_active_vmas++;
  counters().lock_acquisitions++;
  ForEachLazyPage(*vma.mm, vma.start, vma.end, [&](Page& page) {
    page.Clear(PG_lazy);
    page.mapping = av->handle;
    counters().fork_work++;
  });
  lazy_.Delete(n);
}

void AnonVmaLazy::AnonVmaFork(Vma& child, Vma& parent) {
  if (!parent.anon_vma) return;
  if (IsLazy(parent)) Upgrade(parent);
  LinkAll(child, parent);
  child.rmap.as<VmaState>()->borrowed = true;
  child.anon_vma = parent.anon_vma.get();
  child.anon_vma.as<AnonVma>()->num_active_vmas++;
}

void AnonVmaLazy::NeedOwn(Vma& vma) {
  VmaState* s = vma.rmap.as<VmaState>();
  AnonVma* pav = vma.anon_vma.as<AnonVma>();
  pav->num_active_vmas--;
  s->borrowed = false;
  for (Avc* avc : s->avcs) {  // anon_vma_fork()'s reuse rule
    AnonVma* av = avc->anon_vma;
    if (AnonVmaTree::ReusableAtFork(*av)) {
      vma.anon_vma = av;
      av->num_active_vmas++;
      return;
    }
  }
  AnonVma* av = tree_.AllocChild(pav);
  av->num_active_vmas++;
  vma.anon_vma = av;
  Link(vma, av);
  counters().fork_work++;
  counters().lock_acquisitions++;
}

void AnonVmaLazy::UnlinkAnonVmas(Vma& vma) {
  VmaState* s = vma.rmap.as<VmaState>();
  if (!s) {
    vma.anon_vma = nullptr;
    return;
  }
  if (LazyVma* n = s->lazy) {
    bool left = false;  // pages a merge handed to a neighbour
    ForEachLazyPage(*vma.mm, vma.start, vma.end,
                    [&](Page& page) { left |= page.mapping == n->handle; });
    n->vma = nullptr;
    if (left)
      forwarded_.emplace(n->mm, n);
    else
      lazy_.Delete(n);
  } else {
    counters().lock_acquisitions++;
    counters().exit_work += tree_.Unlink(s->avcs, vma.anon_vma.as<AnonVma>());
  }
  states_.Delete(s);
  vma.rmap = nullptr;
  vma.anon_vma = nullptr;
}

void AnonVmaLazy::MmExit(Mm& mm) {
  auto [b, e] = forwarded_.equal_range(&mm);
  for (auto it = b; it != e; ++it) lazy_.Delete(it->second);
  forwarded_.erase(&mm);
}

// One step: the page's vma, or, if the pointer went stale, the vma that
// maps the page's address now.
void AnonVmaLazy::WalkLazy(const Page& page, RmapOne rmap_one,
                           WalkCost& cost) const {
  const LazyVma* n = lazy_.Find(page.mapping);
  if (!n) return;
  Vma* vma = n->vma;
  std::optional<uint64_t> addr;
  if (vma) addr = vma->Address(page.index);
  if (!addr) {
    cost.wasted_steps++;  // forwarded
    vma = n->mm->VmaLookup((page.index << kPageShift) + n->delta);
    if (!vma || !vma->is_anonymous() || DeltaOf(*vma) != n->delta) return;
    addr = vma->Address(page.index);
    if (!addr) return;
  }
  rmap_one(*vma, *addr);
}

// --- anon_vma_chain ----------------------------------------------------------

void AnonVmaLazy::LinkAll(Vma& dst, Vma& src) {
  StateOf(dst);
  for (Avc* pavc : src.rmap.as<VmaState>()->avcs) {
    Link(dst, pavc->anon_vma);
    counters().fork_work++;
  }
  counters().lock_acquisitions++;
}

Status AnonVmaLazy::CheckInvariants() const {
  auto err = [](const std::string& m) {
    return Status::Error("anon_vma_lazy: " + m);
  };
  Status st = tree_.Check("anon_vma_lazy", ChainOf);
  if (!st.ok()) return st;
  lazy_.ForEach([&](const LazyVma& n) {
    if (!st.ok() || !n.vma) return;
    const VmaState* s = n.vma->rmap.as<VmaState>();
    if (!s || s->lazy != &n || !s->avcs.empty() || !IsLazy(*n.vma))
      st = err("lazy vma and its node disagree");
  });
  if (!st.ok()) return st;
  for (const auto& [mm, n] : forwarded_)
    if (n->vma || n->mm != mm) return err("forwarded node still has a vma");
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonVmaLazy() {
  return std::make_unique<AnonVmaLazy>();
}

}  // namespace rmaplab
