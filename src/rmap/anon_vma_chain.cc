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
  size_t tree_pos;  // index in anon_vma->tree
};

struct AnonVma {
  uint32_t handle = 0;
  AnonVma* root = nullptr;
  AnonVma* parent = nullptr;
  int refcount = 1;
  int num_children = 0;
  int num_active_vmas = 0;
  std::vector<Avc*> tree;  // rb_root: the avcs of every vma that may map
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
    AnonVma* av = FindMergeable(vma, prev, next);
    if (!av) {
      av = Alloc();
      av->num_children++;  // self-parent link of a new root
    }
    vma.anon_vma = av;
    Link(vma, av);
    av->num_active_vmas++;
    stats().lock_acquisitions++;
  }

  void AnonVmaClone(Vma& dst, Vma& src) override { Clone(dst, src); }

  void AnonVmaFork(Vma& child, Vma& parent) override {
    if (!parent.anon_vma) return;
    child.anon_vma = nullptr;
    child.rmap = nullptr;
    Clone(child, parent);
    if (child.anon_vma) return;  // reused an existing anon_vma
    AnonVma* pav = As(parent.anon_vma);
    AnonVma* av = Alloc();
    av->num_active_vmas++;
    av->root = pav->root;
    av->parent = pav;
    av->root->refcount++;  // get_anon_vma(root)
    child.anon_vma = av;
    Link(child, av);
    pav->num_children++;
    stats().fork_work++;
    stats().lock_acquisitions++;
  }

  void UnlinkAnonVmas(Vma& vma) override {
    Chain* c = ChainOf(vma);
    if (!c) {
      vma.anon_vma = nullptr;
      return;
    }
    stats().lock_acquisitions++;
    std::vector<AnonVma*> emptied;
    for (auto it = c->avcs.rbegin(); it != c->avcs.rend(); ++it) {
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
    delete c;
    vma.rmap = nullptr;
    for (AnonVma* av : emptied) Put(av);
  }

  bool IsForkChild(const Vma& vma) const override {
    const Chain* c = static_cast<const Chain*>(vma.rmap);
    return vma.anon_vma && c && c->avcs.size() != 1;
  }

  void AddNewAnonRmap(Pfn, Page& page, Vma& vma, uint64_t addr,
                      bool exclusive) override {
    AnonVma* av = As(vma.anon_vma);
    if (!exclusive) av = av->root;  // __folio_set_anon
    page.mapping = av->handle;
    page.index = vma.LinearPageIndex(addr);
  }
  void AddAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void DupAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void RemoveRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void MoveAnonRmap(Pfn, Page& page, Vma& vma, uint64_t) override {
    page.mapping = As(vma.anon_vma)->handle;  // folio_move_anon_rmap
  }
  MoveAction MovePte(Pfn, Page&, Vma&, uint64_t, Vma&, uint64_t) override {
    return MoveAction::kKeep;  // vm_pgoff keeps page->index valid
  }

  void Walk(Pfn, const Page& page, RmapOne rmap_one) override {
    AnonVma* av = FromHandle(page.mapping);
    if (!av) return;
    stats().lock_acquisitions++;  // anon_vma_lock_read(root)
    // anon_vma_interval_tree_foreach: only vmas whose pgoff range covers
    // page->index come out of the tree.
    for (Avc* avc : av->tree) {
      Vma& vma = *avc->vma;
      if (page.index < vma.pgoff || page.index >= vma.pgoff + vma.pages())
        continue;
      uint64_t addr = vma.start + ((page.index - vma.pgoff) << 12);
      if (!rmap_one(vma, addr)) return;
    }
  }

  uint64_t MetadataBytes(Layout layout) const override {
    bool x64 = layout == Layout::kX86_64;
    return live_anon_vmas_ * (x64 ? 96 : 48) + live_avcs_ * (x64 ? 64 : 32);
  }

  Status CheckInvariants() const override;

  uint64_t live_anon_vmas() const { return live_anon_vmas_; }

 private:
  static AnonVma* As(void* p) { return static_cast<AnonVma*>(p); }
  static Chain* ChainOf(Vma& vma) { return static_cast<Chain*>(vma.rmap); }

  AnonVma* FromHandle(uint32_t h) const {
    return h && h < by_handle_.size() ? by_handle_[h] : nullptr;
  }

  AnonVma* Alloc() {
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

  void Free(AnonVma* av) {
    by_handle_[av->handle] = nullptr;
    free_handles_.push_back(av->handle);
    live_anon_vmas_--;
    delete av;
  }

  // put_anon_vma() / __put_anon_vma().
  void Put(AnonVma* av) {
    if (--av->refcount > 0) return;
    AnonVma* root = av->root;
    Free(av);
    if (root != av) Put(root);
  }

  void Link(Vma& vma, AnonVma* av) {
    Chain* c = ChainOf(vma);
    if (!c) vma.rmap = c = new Chain;
    Avc* avc = new Avc{&vma, av, av->tree.size()};
    av->tree.push_back(avc);
    c->avcs.push_back(avc);
    live_avcs_++;
  }

  static void TreeRemove(Avc* avc) {
    auto& tree = avc->anon_vma->tree;
    Avc* last = tree.back();
    tree[avc->tree_pos] = last;
    last->tree_pos = avc->tree_pos;
    tree.pop_back();
  }

  // anon_vma_clone(): link dst to every anon_vma on src's chain, reusing
  // one that has no vma of its own and at most one child.
  void Clone(Vma& dst, Vma& src) {
    Chain* sc = ChainOf(src);
    if (!sc) return;
    for (Avc* pavc : sc->avcs) {
      AnonVma* av = pavc->anon_vma;
      Link(dst, av);
      if (!dst.anon_vma && src.anon_vma && av->num_children < 2 &&
          av->num_active_vmas == 0)
        dst.anon_vma = av;
      stats().fork_work++;
    }
    if (dst.anon_vma) As(dst.anon_vma)->num_active_vmas++;
    stats().lock_acquisitions++;
  }

  // reusable_anon_vma(): old's anon_vma, if a and b are compatible and old
  // has no ancestors.
  static AnonVma* Reusable(Vma* old, const Vma& a, const Vma& b) {
    if (!AnonVmaCompatible(a, b) || !old->anon_vma) return nullptr;
    Chain* c = ChainOf(*old);
    return c && c->avcs.size() == 1 ? As(old->anon_vma) : nullptr;
  }

  // find_mergeable_anon_vma(): try next, then prev.
  static AnonVma* FindMergeable(Vma& vma, Vma* prev, Vma* next) {
    if (next && next->start == vma.end) {
      if (AnonVma* av = Reusable(next, vma, *next)) return av;
    }
    if (prev) return Reusable(prev, *prev, vma);
    return nullptr;
  }

  std::vector<AnonVma*> by_handle_;
  std::vector<uint32_t> free_handles_;
  uint64_t live_anon_vmas_ = 0;
  uint64_t live_avcs_ = 0;
};

Status AnonVmaChain::CheckInvariants() const {
  std::unordered_map<const AnonVma*, int> active, children, descendants;
  for (AnonVma* av : by_handle_) {
    if (!av) continue;
    for (size_t i = 0; i < av->tree.size(); ++i) {
      const Avc* avc = av->tree[i];
      if (avc->anon_vma != av || avc->tree_pos != i)
        return Status::Error("anon_vma_chain: avc not where its tree says");
      const Chain* c = static_cast<const Chain*>(avc->vma->rmap);
      if (!c || std::find(c->avcs.begin(), c->avcs.end(), avc) == c->avcs.end())
        return Status::Error("anon_vma_chain: avc in a tree but not on its vma's chain");
      if (avc->vma->anon_vma == av) active[av]++;
    }
    if (!av->tree.empty()) children[av->parent]++;
    if (av->root != av) descendants[av->root]++;
  }
  for (AnonVma* av : by_handle_) {
    if (!av) continue;
    if (av->num_active_vmas != active[av])
      return Status::Error("anon_vma_chain: num_active_vmas " +
                           std::to_string(av->num_active_vmas) + " != " +
                           std::to_string(active[av]) + " vmas using it");
    if (av->num_children != children[av])
      return Status::Error("anon_vma_chain: num_children " +
                           std::to_string(av->num_children) + " != " +
                           std::to_string(children[av]));
    int want = (av->tree.empty() ? 0 : 1) + (av->root == av ? descendants[av] : 0);
    if (av->refcount != want)
      return Status::Error("anon_vma_chain: refcount " +
                           std::to_string(av->refcount) + " != " +
                           std::to_string(want));
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonVmaChain() {
  return std::make_unique<AnonVmaChain>();
}

}  // namespace rmaplab
