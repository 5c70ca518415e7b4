// anonmm.cc: Hugh Dickins' anobjrmap, "one per mm" on the spectrum of seed
// 000 (000_d0e3dc1774f45ca4.txt: "I go for one per mm"; seed 001 quotes
// him: "Go by mms, and there's only the exceedingly rare ... awkward case
// of tracking pages in a private anon vma inherited from parent, when
// parent or child mremaps it with MAYMOVE").
//
// Every mm belongs to one anonmm group, shared by a fork family (fork adds
// the child).  page->mapping is the group, page->index the virtual page
// number: a walk looks that address up in every mm of the group.  An mm
// without a vma there is a wasted step; one whose PTE maps another page
// (a COW copy) is wasted in the core's count.  No per-vma object: every
// vma with anonymous pages gets the group as its anon_vma, so all the vmas
// of a family compare equal and merge as freely as the core allows.
//
// The hard case is mremap of a page shared across fork: the address no
// longer names the page in every mm.  Two remedies, two designs:
//  - anonmm-chains (anobjrmap-5): the page falls back to pte_chains
//    (pte_chains.h) for the rest of its life; struct page keeps its pte
//    union (52 bytes i386: objrmap's +4, PageBytesDelta +4);
//  - anonmm-copy (Linus in seed 004, 004_576e8bc08e3c093b.txt:
//    "if (PageAnonymous(page) && page->count > 1) { newpage =
//    alloc_page(); copy_page(page, newpage); ... } page->index = address
//    >> PAGE_SHIFT"): MovePte answers kCopy and the core gives the mover a
//    private copy, counted in wasted_pages.  We copy when mapcount > 1, not
//    page_count > 1: a pin's extra reference does not make the address
//    ambiguous, and copying a pinned page would leave the device writing
//    into a page no one maps (a process-visible difference).  struct page
//    loses the pte union: 44 bytes (PageBytesDelta -4).
// An exclusive page just moves: page->index = new address.
//
// Costs: per mm one struct anonmm node (count, lock, mm, head, list_head:
// 24 bytes i386, 40 x86-64) and mm->anonmm (4 / 8); chain blocks for
// chained pages.  Not modelled: anonmm nodes outliving their mm while pages
// still point at them (anobjrmap kept them until the last page went).
//
// Invariants (CheckInvariants):
//  (1) every mm in a group points back at it (Mm::rmap), once;
//  (2) no group lives empty;
//  (3) the chain invariants of pte_chains.h, and every page on the
//      chains is PG_rmap1 (chained; RemoveRmap clears it with the last
//      entry);
//  (4) anonmm-copy never met a page it could not track.
#include <algorithm>
#include <string>
#include <vector>

#include "rmap/pte_chains.h"

namespace rmaplab {
namespace {

constexpr uint32_t PG_chained = PG_rmap1;

struct AnonMmGroup {
  uint32_t handle = 0;
  std::vector<Mm*> mms;  // head->list: every mm of the fork family
};

class AnonMm final : public ReverseMap {
 public:
  explicit AnonMm(bool chains) : use_chains_(chains) {}

  std::string_view name() const override {
    return use_chains_ ? "anonmm-chains" : "anonmm-copy";
  }

  // --- address spaces ---
  void MmInit(Mm& mm) override { Join(mm, groups_.New()); }
  void MmFork(Mm& child, Mm& parent) override {
    Join(child, Group(parent));
    counters().fork_work++;
  }
  void MmExit(Mm& mm) override;

  // --- vmas: the group is every vma's anonymous object ---
  void AnonVmaPrepare(Vma& vma, Vma*, Vma*) override {
    vma.anon_vma = Group(*vma.mm);
  }
  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
  }
  void AnonVmaFork(Vma& child, Vma&) override {
    child.anon_vma = Group(*child.mm);
  }
  void UnlinkAnonVmas(Vma& vma) override { vma.anon_vma = nullptr; }

  // --- pages ---
  void AddNewAnonRmap(Pfn, Page& page, Vma& vma, uint64_t addr, bool) override {
    page.mapping = Group(*vma.mm)->handle;
    page.index = addr >> kPageShift;
  }
  void AddAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) override {
    if (page.Test(PG_chained))
      return chains_.Add(pfn, page, {vma.mm, addr}, counters());
    if (Tracks(page, vma, addr)) return;
    if (!use_chains_) {
      untrackable_++;  // swap-in/KSM at a second address: no remedy here
      return;
    }
    Chain(pfn, page, nullptr, 0);
    chains_.Add(pfn, page, {vma.mm, addr}, counters());
  }
  void DupAnonRmap(Pfn pfn, Page& page, Vma& child_vma,
                   uint64_t addr) override {
    if (page.Test(PG_chained)) {
      chains_.Add(pfn, page, {child_vma.mm, addr}, counters());
      counters().fork_work++;
    }
  }
  void RemoveRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) override {
    if (!page.Test(PG_chained)) return;
    chains_.Remove(pfn, {vma.mm, addr}, counters());
    if (!chains_.Tracks(pfn)) page.Clear(PG_chained);
  }
  void MoveAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  MoveAction MovePte(Pfn pfn, Page& page, Vma& from, uint64_t old_addr, Vma& to,
                     uint64_t new_addr) override;
  // A swapped page's address is its identity too (Hugh, seed 004: "does
  // need to COW pages currently on swap too").  A slot only this PTE holds
  // just moves (its swap-cache page, if any, takes the new address); a
  // shared one is copied (anonmm-copy) or left for AddAnonRmap to chain
  // when it is swapped in at the new address (anonmm-chains).
  MoveAction MoveSwapPte(Vma&, uint64_t, Vma&, uint64_t new_addr,
                         uint32_t count, Page* cache) override {
    if (count <= 1 && (!cache || cache->mapcount == 0)) {
      if (cache && cache->Test(PG_anon) && !cache->Test(PG_chained))
        cache->index = new_addr >> kPageShift;
      return MoveAction::kKeep;
    }
    return use_chains_ ? MoveAction::kKeep : MoveAction::kCopy;
  }

  // --- the walk ---
  void Walk(Pfn pfn, const Page& page, RmapOne rmap_one,
            WalkCost& cost) const override {
    if (page.Test(PG_chained)) return chains_.Walk(pfn, rmap_one, cost);
    const AnonMmGroup* g = groups_.Find(page.mapping);
    if (!g) return;
    cost.lock_acquisitions++;  // the group's lock
    uint64_t addr = page.index << kPageShift;
    for (Mm* mm : g->mms) {
      Vma* vma = mm->VmaLookup(addr);
      if (!vma || vma->shmem)
        cost.wasted_steps++;
      else if (!rmap_one(*vma, addr))
        return;
    }
  }

  // --- costs ---
  uint64_t MetadataBytes(Layout layout) const override {
    uint64_t per_mm = layout == Layout::kX86_64 ? 40 + 8 : 24 + 4;
    return mms_ * per_mm + chains_.Bytes(layout);
  }
  int PageBytesDelta(Layout) const override { return use_chains_ ? 4 : -4; }
  Status CheckInvariants() const override;

 private:
  static AnonMmGroup* Group(const Mm& mm) { return mm.rmap.as<AnonMmGroup>(); }

  void Join(Mm& mm, AnonMmGroup* g) {
    mm.rmap = g;
    g->mms.push_back(&mm);
    mms_++;
    counters().lock_acquisitions++;
  }

  // The group walk would find the page at (vma, addr).
  static bool Tracks(const Page& page, const Vma& vma, uint64_t addr) {
    return page.mapping == Group(*vma.mm)->handle &&
           page.index == addr >> kPageShift;
  }

  // anobjrmap-5: the page's address no longer names it; list its PTEs
  // (every mm of the group whose PTE at page->index maps it), except
  // (skip, skip_addr), which the caller re-adds where it now is.
  void Chain(Pfn pfn, Page& page, Mm* skip, uint64_t skip_addr) {
    uint64_t addr = page.index << kPageShift;
    for (Mm* mm : groups_.Find(page.mapping)->mms) {
      if (mm == skip && addr == skip_addr) continue;
      Pte pte = mm->pt.Get(addr);
      if (pte.present() && pte.pfn() == pfn)
        chains_.Add(pfn, page, {mm, addr}, counters());
    }
    page.Set(PG_chained);
  }

  bool use_chains_;
  uint64_t mms_ = 0;
  uint64_t untrackable_ = 0;
  HandleTable<AnonMmGroup> groups_{/*reuse=*/false};
  PteChains chains_{/*direct_in_page=*/true};

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // Each mm's group (anonmm -> every mm of it), each vma's object (the
  // group), each page's group at its virtual address, or its pte_chain
  // once it is PG_chained.
  void Describe(GraphSink& g) const override {
    for (const Mm* mm : g.mms()) {
      const AnonMmGroup* grp = Group(*mm);
      if (!grp || g.Has(GraphId::Object(grp))) continue;
      g.Node(GraphId::Object(grp), "anonmm",
             GraphLabel({"anonmm #", std::to_string(grp->handle), "\n",
                         std::to_string(grp->mms.size()), " mms"}));
      for (const Mm* m : grp->mms)
        g.Edge(GraphId::Object(grp), GraphId::Of(*m), "mm");
    }
    for (const Vma* vma : g.vmas())
      if (vma->anon_vma)
        g.Edge(GraphId::Of(*vma), GraphId::Object(vma->anon_vma.get()),
               "anon_vma");
    for (const GraphPage& p : g.pages()) {
      const AnonMmGroup* grp = groups_.Find(p.page->mapping);
      if (p.page->Test(PG_chained) || !grp) continue;
      g.Edge(GraphId::OfPage(p.pfn), GraphId::Object(grp),
             GraphLabel(
                 {"mapping, address ", GraphHex(p.page->index << kPageShift)}));
    }
    chains_.Describe(g, "pte_chain");
  }
};

void AnonMm::MmExit(Mm& mm) {
  AnonMmGroup* g = Group(mm);
  if (!g) return;
  g->mms.erase(std::find(g->mms.begin(), g->mms.end(), &mm));
  mm.rmap = nullptr;
  mms_--;
  counters().exit_work++;
  counters().lock_acquisitions++;
  if (g->mms.empty()) groups_.Delete(g);
}

MoveAction AnonMm::MovePte(Pfn pfn, Page& page, Vma& from, uint64_t old_addr,
                           Vma& to, uint64_t new_addr) {
  if (page.Test(PG_chained)) {
    chains_.Move(pfn, {from.mm, old_addr}, {to.mm, new_addr}, counters());
    return MoveAction::kKeep;
  }
  // Exclusive: the new address names it.  A swap-cache page is not: swap
  // PTEs elsewhere (a fork's) will map it back at the old address.
  if (page.mapcount <= 1 && !page.Test(PG_swapcache)) {
    page.index = new_addr >> kPageShift;
    return MoveAction::kKeep;
  }
  if (!use_chains_) return MoveAction::kCopy;  // Linus: copy_one_pte copies
  Chain(pfn, page, from.mm, old_addr);
  chains_.Add(pfn, page, {to.mm, new_addr}, counters());
  return MoveAction::kKeep;
}

Status AnonMm::CheckInvariants() const {
  uint64_t n = 0;
  bool ok = true;
  groups_.ForEach([&](const AnonMmGroup& g) {
    ok = ok && !g.mms.empty();
    for (const Mm* mm : g.mms) ok = ok && Group(*mm) == &g;
    n += g.mms.size();
  });
  if (!ok)
    return Status::Error(
        "anonmm: a group is empty or holds an mm that does "
        "not point at it");
  if (n != mms_) return Status::Error("anonmm: an mm is in two groups");
  if (untrackable_)
    return Status::Error(
        "anonmm-copy: a page gained a mapping at a second address");
  if (!chains_.AllFlagged(PG_chained))
    return Status::Error("anonmm: a page on the chains is not PG_chained");
  return chains_.Check(name());
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonMm(bool chains) {
  return std::make_unique<AnonMm>(chains);
}

}  // namespace rmaplab
