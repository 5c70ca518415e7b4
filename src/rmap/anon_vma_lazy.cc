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
// Invariants (CheckInvariants), anon_vma_chain's (1)-(5) for chained vmas
// (a borrowing child counts as an active vma of the anon_vma it borrows),
// and:
//  (6) a lazy vma has no avcs, carries the LAZY marker, and its node
//      points back at it;
//  (7) a node whose vma is gone (forwarded) belongs to a live mm.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/rmap.h"

namespace rmaplab {
namespace {

constexpr uint32_t PG_lazy = PG_rmap0;  // page->mapping names a LazyVma

struct AnonVma;

struct Avc {
  Vma* vma;
  AnonVma* anon_vma;
  size_t tree_pos;  // index in anon_vma->tree
};

struct AnonVma {
  uint32_t handle = 0;
  AnonVma* root = nullptr;
  AnonVma* parent = nullptr;
  int refcount = 1;
  int num_children = 0;
  int num_active_vmas = 0;
  std::vector<Avc*> tree;
};

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
         static_cast<int64_t>(vma.pgoff << 12);
}

class AnonVmaLazy final : public ReverseMap {
 public:
  ~AnonVmaLazy() override {
    for (auto& [h, n] : lazy_) delete n;  // normally empty by now
  }
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
    const VmaState* s = State(vma);
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
    VmaState* s = State(to);
    if (cache && cache->Test(PG_anon) && cache->Test(PG_lazy) && s && s->lazy)
      cache->mapping = s->lazy->handle;
    return MoveAction::kKeep;
  }

  void Walk(Pfn pfn, const Page& page, RmapOne rmap_one) override {
    if (page.Test(PG_lazy)) return WalkLazy(page, rmap_one);
    WalkAnonVma(page, rmap_one);
  }

  uint64_t MetadataBytes(Layout layout) const override {
    bool x64 = layout == Layout::kX86_64;
    return live_anon_vmas_ * (x64 ? 96 : 48) + live_avcs_ * (x64 ? 64 : 32);
  }
  Status CheckInvariants() const override;

 private:
  static AnonVma* As(void* p) { return static_cast<AnonVma*>(p); }
  static VmaState* State(const Vma& vma) {
    return static_cast<VmaState*>(vma.rmap);
  }
  bool IsLazy(const Vma& vma) const { return vma.anon_vma == &lazy_marker_; }

  // --- lazy vmas ---
  void MakeLazy(Vma& vma);
  void PointAt(Pfn pfn, Page& page, Vma& vma, bool exclusive);
  // Calls fn(page) for every present lazy page mapped in [start, end) of mm.
  template <typename Fn>
  void ForEachLazyPage(Mm& mm, uint64_t start, uint64_t end, Fn&& fn);
  void Upgrade(Vma& vma);  // the parent's vma at its first fork
  void NeedOwn(Vma& vma);  // a borrowing child's deferred anon_vma_fork()
  void WalkLazy(const Page& page, RmapOne rmap_one);

  // --- anon_vma_chain (copied from anon_vma_chain.cc) ---
  AnonVma* FromHandle(uint32_t h) const {
    return h && h < by_handle_.size() ? by_handle_[h] : nullptr;
  }
  AnonVma* Alloc();
  void Free(AnonVma* av);
  void Put(AnonVma* av);
  void Link(Vma& vma, AnonVma* av);
  static void TreeRemove(Avc* avc);
  void LinkAll(Vma& dst, const Vma& src);  // anon_vma_clone() without reuse
  AnonVma* Reusable(Vma* old, const Vma& a, const Vma& b) const;
  AnonVma* FindMergeable(Vma& vma, Vma* prev, Vma* next) const;
  void WalkAnonVma(const Page& page, RmapOne rmap_one);

  char lazy_marker_ = 0;  // the LAZY anon object every lazy vma carries
  uint32_t next_lazy_handle_ = 1;  // never reused
  std::unordered_map<uint32_t, LazyVma*> lazy_;
  std::unordered_multimap<const Mm*, LazyVma*> forwarded_;
  std::unordered_map<Pfn, Page*> lazy_pages_;  // pfns last seen lazy
  std::vector<AnonVma*> by_handle_;
  std::vector<uint32_t> free_handles_;
  uint64_t live_anon_vmas_ = 0;
  uint64_t live_avcs_ = 0;
};

// --- lazy vmas -------------------------------------------------------------

void AnonVmaLazy::MakeLazy(Vma& vma) {
  LazyVma* n = new LazyVma{next_lazy_handle_++, vma.mm, &vma, DeltaOf(vma)};
  lazy_[n->handle] = n;
  VmaState* s = State(vma);
  if (!s) vma.rmap = s = new VmaState;
  s->lazy = n;
  vma.anon_vma = &lazy_marker_;
}

// Where a page mapped (now) in vma points: the vma itself while it is
// lazy, else its anon_vma (the root one when the page is not exclusive).
void AnonVmaLazy::PointAt(Pfn pfn, Page& page, Vma& vma, bool exclusive) {
  VmaState* s = State(vma);
  if (s && s->lazy) {
    page.mapping = s->lazy->handle;
    page.Set(PG_lazy);
    lazy_pages_[pfn] = &page;
    return;
  }
  page.Clear(PG_lazy);
  if (!exclusive) {
    page.mapping = As(vma.anon_vma)->root->handle;  // __folio_set_anon()
    return;
  }
  if (s && s->borrowed) NeedOwn(vma);
  page.mapping = As(vma.anon_vma)->handle;
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
  VmaState* ss = State(src);
  if (!ss) return;
  if (!ss->lazy) {  // split or copy of a chained vma: anon_vma_clone()
    LinkAll(dst, src);
    State(dst)->borrowed = ss->borrowed;
    As(dst.anon_vma)->num_active_vmas++;
    return;
  }
  MakeLazy(dst);
  uint32_t from = ss->lazy->handle, to = State(dst)->lazy->handle;
  ForEachLazyPage(*dst.mm, dst.start, dst.end, [&](Page& page) {
    if (page.mapping == from) page.mapping = to;  // __split_vma() fixup
  });
}

void AnonVmaLazy::Upgrade(Vma& vma) {
  VmaState* s = State(vma);
  LazyVma* n = s->lazy;
  AnonVma* av = FindMergeable(vma, vma.mm->Prev(vma), vma.mm->Next(vma));
  if (!av) {
    av = Alloc();
    av->num_children++;  // self-parent link of a new root
  }
  s->lazy = nullptr;
  vma.anon_vma = av;
  Link(vma, av);
  av->num_active_vmas++;
  stats().lock_acquisitions++;
  ForEachLazyPage(*vma.mm, vma.start, vma.end, [&](Page& page) {
    page.Clear(PG_lazy);
    page.mapping = av->handle;
    stats().fork_work++;
  });
  lazy_.erase(n->handle);
  delete n;
}

void AnonVmaLazy::AnonVmaFork(Vma& child, Vma& parent) {
  if (!parent.anon_vma) return;
  if (IsLazy(parent)) Upgrade(parent);
  child.anon_vma = nullptr;
  child.rmap = nullptr;
  LinkAll(child, parent);
  State(child)->borrowed = true;
  child.anon_vma = parent.anon_vma;
  As(child.anon_vma)->num_active_vmas++;
}

void AnonVmaLazy::NeedOwn(Vma& vma) {
  VmaState* s = State(vma);
  AnonVma* pav = As(vma.anon_vma);
  pav->num_active_vmas--;
  s->borrowed = false;
  for (Avc* avc : s->avcs) {  // anon_vma_fork()'s reuse rule
    AnonVma* av = avc->anon_vma;
    if (av->num_children < 2 && av->num_active_vmas == 0) {
      vma.anon_vma = av;
      av->num_active_vmas++;
      return;
    }
  }
  AnonVma* av = Alloc();
  av->num_active_vmas++;
  av->root = pav->root;
  av->parent = pav;
  av->root->refcount++;
  vma.anon_vma = av;
  Link(vma, av);
  pav->num_children++;
  stats().fork_work++;
  stats().lock_acquisitions++;
}

void AnonVmaLazy::UnlinkAnonVmas(Vma& vma) {
  VmaState* s = State(vma);
  if (s && s->lazy) {
    LazyVma* n = s->lazy;
    bool left = false;  // pages a merge handed to a neighbour
    ForEachLazyPage(*vma.mm, vma.start, vma.end,
                    [&](Page& page) { left |= page.mapping == n->handle; });
    n->vma = nullptr;
    if (left) {
      forwarded_.emplace(n->mm, n);
    } else {
      lazy_.erase(n->handle);
      delete n;
    }
    delete s;
    vma.rmap = nullptr;
    vma.anon_vma = nullptr;
    return;
  }
  if (!s) {
    vma.anon_vma = nullptr;
    return;
  }
  stats().lock_acquisitions++;
  std::vector<AnonVma*> emptied;
  for (auto it = s->avcs.rbegin(); it != s->avcs.rend(); ++it) {
    Avc* avc = *it;
    AnonVma* av = avc->anon_vma;
    TreeRemove(avc);
    if (av->tree.empty()) {
      av->parent->num_children--;
      emptied.push_back(av);
    }
    delete avc;
    live_avcs_--;
    stats().exit_work++;
  }
  if (vma.anon_vma) As(vma.anon_vma)->num_active_vmas--;
  vma.anon_vma = nullptr;
  delete s;
  vma.rmap = nullptr;
  for (AnonVma* av : emptied) Put(av);
}

void AnonVmaLazy::MmExit(Mm& mm) {
  auto [b, e] = forwarded_.equal_range(&mm);
  for (auto it = b; it != e; ++it) {
    lazy_.erase(it->second->handle);
    delete it->second;
  }
  forwarded_.erase(&mm);
}

// One step: the page's vma, or, if the pointer went stale, the vma that
// maps the page's address now.
void AnonVmaLazy::WalkLazy(const Page& page, RmapOne rmap_one) {
  auto it = lazy_.find(page.mapping);
  if (it == lazy_.end()) return;
  LazyVma* n = it->second;
  Vma* vma = n->vma;
  if (!vma || page.index < vma->pgoff ||
      page.index >= vma->pgoff + vma->pages()) {
    stats().wasted_steps++;  // forwarded
    vma = n->mm->VmaLookup((page.index << 12) + n->delta);
    if (!vma || !vma->is_anonymous() || DeltaOf(*vma) != n->delta) return;
  }
  rmap_one(*vma, vma->start + ((page.index - vma->pgoff) << 12));
}

// --- anon_vma_chain ----------------------------------------------------------

AnonVma* AnonVmaLazy::Alloc() {
  AnonVma* av = new AnonVma;
  av->root = av;
  av->parent = av;
  if (free_handles_.empty()) {
    if (by_handle_.empty()) by_handle_.push_back(nullptr);  // handle 0 = none
    av->handle = static_cast<uint32_t>(by_handle_.size());
    by_handle_.push_back(av);
  } else {
    av->handle = free_handles_.back();
    free_handles_.pop_back();
    by_handle_[av->handle] = av;
  }
  live_anon_vmas_++;
  return av;
}

void AnonVmaLazy::Free(AnonVma* av) {
  by_handle_[av->handle] = nullptr;
  free_handles_.push_back(av->handle);
  live_anon_vmas_--;
  delete av;
}

void AnonVmaLazy::Put(AnonVma* av) {
  if (--av->refcount > 0) return;
  AnonVma* root = av->root;
  Free(av);
  if (root != av) Put(root);
}

void AnonVmaLazy::Link(Vma& vma, AnonVma* av) {
  VmaState* s = State(vma);
  if (!s) vma.rmap = s = new VmaState;
  Avc* avc = new Avc{&vma, av, av->tree.size()};
  av->tree.push_back(avc);
  s->avcs.push_back(avc);
  live_avcs_++;
}

void AnonVmaLazy::TreeRemove(Avc* avc) {
  auto& tree = avc->anon_vma->tree;
  Avc* last = tree.back();
  tree[avc->tree_pos] = last;
  last->tree_pos = avc->tree_pos;
  tree.pop_back();
}

void AnonVmaLazy::LinkAll(Vma& dst, const Vma& src) {
  if (!dst.rmap) dst.rmap = new VmaState;
  for (Avc* pavc : State(src)->avcs) {
    Link(dst, pavc->anon_vma);
    stats().fork_work++;
  }
  stats().lock_acquisitions++;
}

AnonVma* AnonVmaLazy::Reusable(Vma* old, const Vma& a, const Vma& b) const {
  if (!AnonVmaCompatible(a, b) || !old->anon_vma || IsLazy(*old))
    return nullptr;
  const VmaState* s = State(*old);
  return s && s->avcs.size() == 1 && !s->borrowed ? As(old->anon_vma) : nullptr;
}

AnonVma* AnonVmaLazy::FindMergeable(Vma& vma, Vma* prev, Vma* next) const {
  if (next && next->start == vma.end) {
    if (AnonVma* av = Reusable(next, vma, *next)) return av;
  }
  if (prev) return Reusable(prev, *prev, vma);
  return nullptr;
}

void AnonVmaLazy::WalkAnonVma(const Page& page, RmapOne rmap_one) {
  AnonVma* av = FromHandle(page.mapping);
  if (!av) return;
  stats().lock_acquisitions++;  // anon_vma_lock_read(root)
  for (Avc* avc : av->tree) {
    Vma& vma = *avc->vma;
    if (page.index < vma.pgoff || page.index >= vma.pgoff + vma.pages())
      continue;
    uint64_t addr = vma.start + ((page.index - vma.pgoff) << 12);
    if (!rmap_one(vma, addr)) return;
  }
}

Status AnonVmaLazy::CheckInvariants() const {
  auto err = [](const std::string& m) {
    return Status::Error("anon_vma_lazy: " + m);
  };
  std::unordered_map<const AnonVma*, int> active, children, descendants;
  for (AnonVma* av : by_handle_) {
    if (!av) continue;
    for (size_t i = 0; i < av->tree.size(); ++i) {
      const Avc* avc = av->tree[i];
      const VmaState* s = State(*avc->vma);
      if (avc->anon_vma != av || avc->tree_pos != i || !s ||
          std::find(s->avcs.begin(), s->avcs.end(), avc) == s->avcs.end())
        return err("avc not where its tree and chain say");
      if (avc->vma->anon_vma == av) active[av]++;
    }
    if (!av->tree.empty()) children[av->parent]++;
    if (av->root != av) descendants[av->root]++;
  }
  for (AnonVma* av : by_handle_) {
    if (!av) continue;
    int want =
        (av->tree.empty() ? 0 : 1) + (av->root == av ? descendants[av] : 0);
    if (av->num_active_vmas != active[av] || av->num_children != children[av] ||
        av->refcount != want)
      return err("counts of anon_vma " + std::to_string(av->handle) +
                 " disagree");
  }
  for (const auto& [h, n] : lazy_) {
    if (!n->vma) continue;
    const VmaState* s = State(*n->vma);
    if (!s || s->lazy != n || !s->avcs.empty() || !IsLazy(*n->vma))
      return err("lazy vma and its node disagree");
  }
  for (const auto& [mm, n] : forwarded_)
    if (n->vma || n->mm != mm) return err("forwarded node still has a vma");
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonVmaLazy() {
  return std::make_unique<AnonVmaLazy>();
}

}  // namespace rmaplab
