// anon_vma.cc: Andrea Arcangeli's anon_vma as merged in Linux 2.6.7
// (mm/rmap.c of 2.6.7-2.6.33: anon_vma_prepare, anon_vma_link,
// anon_vma_unlink, page_add_anon_rmap, page_referenced_anon), following
// seed 001 (001_ae8d9a1aa61386b3.txt, "anon_vma RFC2"): "the additional
// cost of tracking the vmas payoffs because then we've a tiny list of vma
// to search for every page"; "the per-vma overhead is 12 bytes, 2 pointers
// for the list node and 1 pointer to the anon-vma"; "to track the stuff in
// a fine-granular way I have to forbid merging sometime".
//
// One anon_vma per fork family: a vma gets one at its first anonymous
// fault (or reuses a compatible neighbour's: find_mergeable_anon_vma); a
// fork child's vma joins its parent's anon_vma (anon_vma_link).  Every page
// points at the anon_vma from its first fault, page->index = linear page
// index (vm_pgoff based, so mremap needs nothing).  A walk visits every vma
// on the anon_vma's list: a vma whose pgoff range misses page->index is a
// wasted step (vma_address() == -EFAULT); one that covers it but maps
// another page (a sibling's COW copy) is wasted in the core's count.  So a
// server forking N children that each COW their memory makes every walk
// O(N): the AIM7 problem that 2.6.34's anon_vma_chain fixed.  Two vmas
// merge only if their anon_vmas are equal or one is unset (2.6.7's
// is_mergeable_anon_vma; there is no fork-child rule).
//
// Option `direct` (design anon_vma-direct): the RFC's PageDirect.  A page
// points straight at its vma while it has one mapping; fork (or any second
// mapping) turns it into an anon_vma page.  A direct walk is one step.  A
// split moves the direct pages of the new part to the new vma
// (AnonVmaClone scans its PTEs: the RFC's fixup at __split_vma); where a
// merge left the pointer stale, the walk falls back to the anon_vma list,
// counting the miss as wasted.  The
// RFC also deferred allocating the anon_vma until the first fork; the model
// allocates it at the first fault in both variants, so only the walk
// saving is measured.
//
// Costs: per linked vma 12 bytes (i386) / 24 (x86-64); per anon_vma 12
// (spinlock + list_head, i386) / 24 (x86-64).  struct page: objrmap's +4
// (mapcount) and -8 for the pte union: 44 bytes (PageBytesDelta -4).
//
// Invariants (CheckInvariants):
//  (1) a linked vma's node says where it sits on its anon_vma's list, and
//      the list entry points back at the vma;
//  (2) vma->anon_vma of a linked vma is the anon_vma whose list holds it;
//  (3) no anon_vma lives with an empty list;
//  (4) every page on the direct table is PG_rmap0 (PageDirect), and
//      direct pages leave the table when they gain or lose a mapping.
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/rmap.h"

namespace rmaplab {
namespace {

// The vma's anon_vma_node, plus its identity for direct pages.
struct VmaNode {
  Vma* vma;
  uint64_t id;     // never reused, so a stale direct pointer is detectable
  size_t pos = 0;  // index in anon_vma->head
};

struct AnonVma {
  uint32_t handle = 0;
  PositionList<VmaNode> head;  // anon_vma->head: every vma sharing it
};

class AnonVmaDesign final : public ReverseMap {
 public:
  explicit AnonVmaDesign(bool direct) : direct_(direct) {}

  std::string_view name() const override {
    return direct_ ? "anon_vma-direct" : "anon_vma";
  }

  void AnonVmaPrepare(Vma& vma, Vma* prev, Vma* next) override {
    if (vma.anon_vma) return;
    void* av = FindMergeableAnonVma(vma, prev, next);
    vma.anon_vma = av ? av : anon_vmas_.New();
    Link(vma);
  }
  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
    if (dst.anon_vma && !dst.rmap) Link(dst);
    if (direct_ && src.rmap) Repoint(dst, Node(src)->id);
  }
  void AnonVmaFork(Vma& child, Vma& parent) override {
    child.anon_vma = parent.anon_vma.get();
    Link(child);
    counters().fork_work++;
  }
  void UnlinkAnonVmas(Vma& vma) override;

  void AddNewAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr,
                      bool) override {
    page.mapping = vma.anon_vma.as<AnonVma>()->handle;
    page.index = vma.LinearPageIndex(addr);
    if (!direct_) return;
    page.Set(PG_rmap0);
    direct_vma_[pfn] = {Node(vma)->id, &page};
  }
  void AddAnonRmap(Pfn pfn, Page& page, Vma&, uint64_t) override {
    Undirect(pfn, page);
  }
  void DupAnonRmap(Pfn pfn, Page& page, Vma&, uint64_t) override {
    Undirect(pfn, page);
  }
  void RemoveRmap(Pfn pfn, Page& page, Vma&, uint64_t) override {
    Undirect(pfn, page);
  }
  void MoveAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  MoveAction MovePte(Pfn pfn, Page& page, Vma&, uint64_t, Vma& to,
                     uint64_t) override {
    if (!page.Test(PG_rmap0)) return MoveAction::kKeep;
    if (to.rmap)
      direct_vma_[pfn] = {Node(to)->id, &page};
    else
      Undirect(pfn, page);
    return MoveAction::kKeep;  // vm_pgoff keeps page->index valid
  }

  void Walk(Pfn pfn, const Page& page, RmapOne rmap_one,
            WalkCost& cost) const override {
    if (page.Test(PG_rmap0) && WalkDirect(pfn, page, rmap_one, cost)) return;
    WalkList(page, rmap_one, cost);
  }

  uint64_t MetadataBytes(Layout layout) const override {
    uint64_t each = layout == Layout::kX86_64 ? 24 : 12;
    return (nodes_.live() + anon_vmas_.live()) * each;
  }
  int PageBytesDelta(Layout) const override { return -4; }
  Status CheckInvariants() const override;

 private:
  static VmaNode* Node(const Vma& vma) { return vma.rmap.as<VmaNode>(); }

  // anon_vma_link(): put vma on its anon_vma's list.
  void Link(Vma& vma) {
    VmaNode* n = nodes_.New(&vma, next_vma_id_++);
    vma.rmap = n;
    vma.anon_vma.as<AnonVma>()->head.Add(n);
    live_vmas_[n->id] = &vma;
    counters().lock_acquisitions++;
  }

  // __split_vma() in the RFC: direct pages now in dst's range follow it.
  void Repoint(Vma& dst, uint64_t src_id) {
    uint64_t id = Node(dst)->id;
    dst.mm->pt.ForEach(dst.start, dst.end, [&](uint64_t, const Pte& pte) {
      auto d = pte.present() ? direct_vma_.find(pte.pfn()) : direct_vma_.end();
      if (d != direct_vma_.end() && d->second.vma_id == src_id)
        d->second.vma_id = id;
    });
  }

  void Undirect(Pfn pfn, Page& page) {
    if (!page.Test(PG_rmap0)) return;
    page.Clear(PG_rmap0);
    direct_vma_.erase(pfn);
  }

  // The RFC's PageDirect walk: one vma.  False if it no longer maps the page.
  bool WalkDirect(Pfn pfn, const Page& page, RmapOne rmap_one,
                  WalkCost& cost) const {
    auto d = direct_vma_.find(pfn);
    auto v = d == direct_vma_.end() ? live_vmas_.end()
                                    : live_vmas_.find(d->second.vma_id);
    if (v != live_vmas_.end())
      if (auto addr = v->second->Address(page.index)) {
        Pte pte = v->second->mm->pt.Get(*addr);
        if (pte.present() && pte.pfn() == pfn) {
          rmap_one(*v->second, *addr);
          return true;
        }
      }
    cost.wasted_steps++;  // the direct pointer went stale
    return false;
  }

  // page_referenced_anon(): every vma on the list.
  void WalkList(const Page& page, RmapOne rmap_one, WalkCost& cost) const {
    const AnonVma* av = anon_vmas_.Find(page.mapping);
    if (!av) return;
    cost.lock_acquisitions++;  // spin_lock(&anon_vma->lock)
    for (const VmaNode* n : av->head) {
      auto addr = n->vma->Address(page.index);
      if (!addr)
        cost.wasted_steps++;
      else if (!rmap_one(*n->vma, *addr))
        return;
    }
  }

  bool direct_;
  uint64_t next_vma_id_ = 1;
  HandleTable<AnonVma> anon_vmas_{/*reuse=*/false};
  ObjectPool<VmaNode> nodes_;
  std::unordered_map<uint64_t, Vma*> live_vmas_;  // linked vmas by id
  struct Direct {
    uint64_t vma_id;
    const Page* page;
  };
  std::unordered_map<Pfn, Direct> direct_vma_;  // PageDirect pages

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // Each anon_vma with its list of vmas (anon_vma -> vma, in list order),
  // each page's anon_vma and, for a PageDirect page, its vma.
  void Describe(GraphSink& g) const override {
    auto draw = [&](const AnonVma* av) {
      GraphId id = GraphId::Object(av);
      if (g.Has(id)) return;
      g.Node(
          id, "anon_vma",
          GraphLabel({"anon_vma #", std::to_string(av->handle), "\n",
                      std::to_string(av->head.size()), " vmas on its list"}));
      for (const VmaNode* n : av->head)
        g.Edge(id, GraphId::Of(*n->vma), "head");
    };
    for (const Vma* vma : g.vmas())
      if (vma->anon_vma) draw(vma->anon_vma.as<AnonVma>());
    for (const GraphPage& p : g.pages()) {
      if (const AnonVma* av = anon_vmas_.Find(p.page->mapping)) {
        draw(av);
        g.Edge(GraphId::OfPage(p.pfn), GraphId::Object(av),
               GraphLabel({"mapping, index ", GraphHex(p.page->index)}));
      }
      auto d = direct_vma_.find(p.pfn);
      auto v = d == direct_vma_.end() ? live_vmas_.end()
                                      : live_vmas_.find(d->second.vma_id);
      if (p.page->Test(PG_rmap0) && v != live_vmas_.end())
        g.Edge(GraphId::OfPage(p.pfn), GraphId::Of(*v->second), "PageDirect");
    }
  }
};

// anon_vma_unlink(): the last vma frees the anon_vma.
void AnonVmaDesign::UnlinkAnonVmas(Vma& vma) {
  VmaNode* n = Node(vma);
  AnonVma* av = vma.anon_vma.as<AnonVma>();
  vma.anon_vma = nullptr;
  vma.rmap = nullptr;
  if (!n) return;
  counters().lock_acquisitions++;
  counters().exit_work++;
  av->head.Remove(n);
  live_vmas_.erase(n->id);
  nodes_.Delete(n);
  if (av->head.empty()) anon_vmas_.Delete(av);
}

Status AnonVmaDesign::CheckInvariants() const {
  size_t linked = 0;
  Status st;
  anon_vmas_.ForEach([&](const AnonVma& av) {
    if (!st.ok()) return;
    if (av.head.empty()) st = Status::Error("anon_vma: empty anon_vma lives");
    if (!av.head.Consistent([&](const VmaNode& n) {
          return Node(*n.vma) == &n && n.vma->anon_vma == &av;
        }))
      st = Status::Error("anon_vma: vma on anon_vma " +
                         std::to_string(av.handle) +
                         "'s list disagrees with its node");
    linked += av.head.size();
  });
  if (!st.ok()) return st;
  if (linked != live_vmas_.size() || linked != nodes_.live())
    return Status::Error("anon_vma: " + std::to_string(live_vmas_.size()) +
                         " vma ids for " + std::to_string(linked) +
                         " linked vmas");
  for (const auto& [pfn, d] : direct_vma_)
    if (!d.page->Test(PG_rmap0))
      return Status::Error("anon_vma: frame " + std::to_string(pfn) +
                           " on the direct table without PageDirect");
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonVma(bool direct) {
  return std::make_unique<AnonVmaDesign>(direct);
}

}  // namespace rmaplab
