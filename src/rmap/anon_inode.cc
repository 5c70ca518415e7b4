// anon_inode.cc: Rik van Riel's "anon_memory inode", seed 000
// (000_d0e3dc1774f45ca4.txt: "Add every anonymous page to an
// "anon_memory" inode.  Then everything is in effect file backed."), the
// "one anon memory object in total" end of Hugh's spectrum.
//
// All anonymous memory is one object; its offsets are handed out like a
// file's and a page is found the way a file page is: page->index is its
// offset, and every vma mapping the object (its i_mmap, modelled as one
// list of every anonymous vma in the system) is a candidate.  A vma whose
// offset range misses the page is a wasted step: the search cost Hugh and
// Andrea argued about, paid on every walk.
//
// What the two-paragraph proposal left unspecified, and what we chose:
//  - Handing out offsets.  A vma gets a range of the object at its first
//    anonymous fault (or shares a compatible neighbour's, as
//    find_mergeable_anon_vma would): object offset = (range << 36) |
//    vm_pgoff, so the vma's own vm_pgoff (kept by split, merge and mremap
//    like a file mapping's) stays its position in the range, and a range
//    holds every pgoff a user address can have.  The range is the vma's
//    anon_vma, so vmas merge like file mappings: same range, contiguous
//    pgoff.  Fork shares ranges: the child maps the same offsets.
//  - COW.  A file offset holds one page; after fork, parent and child map
//    the same offset, and whichever writes first needs a page of its own.
//    We give such a page (any new page whose offset is already taken: a
//    COW copy, fork's copy of a pinned page) a fresh offset of its own in
//    the object (the "stray" range, so the swap cache could still name it)
//    and a per-page back pointer, which becomes a pte_chain if fork shares
//    it again (pte_chains.h, PG_rmap1 marks such pages).  Their cost is
//    counted: one pte_addr_t per stray page, chain blocks when shared.
//  - The swap cache as backing store, and swapoff.  The core swaps every
//    design the same way (swap slots, swap cache); what the anon inode
//    would change is swapoff: instead of scanning page tables it could visit
//    the object's swapped offsets, but each offset's mappers must still be
//    searched on i_mmap (every anonymous vma is a candidate).
//    SwapoffByObjectVisits() reports that cost beside the page-table scan.
// An offset's page lives in the object's page cache until its last
// mapping goes; then the offset is free again.
//
// Costs: struct page as objrmap without the pte union: 44 bytes i386
// (PageBytesDelta -4); the object's page cache: one radix-tree slot per
// page at home (4 / 8 bytes); back pointers and chains of stray pages.
// vm_area_struct does not grow (file vmas already have i_mmap links).
//
// Invariants (CheckInvariants):
//  (1) i_mmap positions agree with the vmas' nodes;
//  (2) every range's vma count equals the vmas on i_mmap using it;
//  (3) the chain invariants of pte_chains.h; every stray page is PG_rmap1.
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/pte_chains.h"

namespace rmaplab {
namespace {

constexpr uint32_t PG_stray = PG_rmap1;
constexpr uint32_t kInode = 1;   // page->mapping of every anonymous page
constexpr int kRangeShift = 36;  // pgoffs of user addresses fit in 36 bits

struct Range {
  uint64_t id = 0;
  int vmas = 0;
};

struct VmaNode {
  Vma* vma;
  size_t pos = 0;  // index in i_mmap
};

class AnonInode final : public ReverseMap {
 public:
  std::string_view name() const override { return "anon_inode"; }

  int64_t SwapoffByObjectVisits(uint64_t swapped) const override {
    return static_cast<int64_t>(swapped * i_mmap_.size());
  }

  void AnonVmaPrepare(Vma& vma, Vma* prev, Vma* next) override {
    if (vma.anon_vma) return;
    void* r = FindMergeableAnonVma(vma, prev, next);
    vma.anon_vma = r ? r : ranges_.New(next_range_++, 0);
    Link(vma);
  }
  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
    if (dst.anon_vma && !dst.rmap) Link(dst);
  }
  void AnonVmaFork(Vma& child, Vma& parent) override {
    AnonVmaClone(child, parent);  // the child maps the same offsets
    counters().fork_work++;
  }
  void UnlinkAnonVmas(Vma& vma) override;

  void AddNewAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr,
                      bool) override {
    uint64_t off = Offset(vma, addr);
    auto [it, fresh] = page_cache_.try_emplace(off, pfn);
    if (fresh) {
      page.mapping = kInode;
      page.index = off;
      return;
    }
    MakeStray(pfn, page);
    strays_.Add(pfn, page, {vma.mm, addr}, counters());
  }
  void AddAnonRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) override {
    if (!page.Test(PG_stray) && Offset(vma, addr) == page.index) return;
    if (!page.Test(PG_stray)) Evict(pfn, page, {nullptr, 0});
    strays_.Add(pfn, page, {vma.mm, addr}, counters());
  }
  void DupAnonRmap(Pfn pfn, Page& page, Vma& child_vma,
                   uint64_t addr) override {
    if (!page.Test(PG_stray)) return;  // the child maps the same offset
    strays_.Add(pfn, page, {child_vma.mm, addr}, counters());
    counters().fork_work++;
  }
  void RemoveRmap(Pfn pfn, Page& page, Vma& vma, uint64_t addr) override {
    if (page.Test(PG_stray)) {
      strays_.Remove(pfn, {vma.mm, addr}, counters());
      if (!strays_.Tracks(pfn)) page.Clear(PG_stray);
    } else if (page.mapcount <= 1) {
      Uncache(pfn, page);  // the offset's last mapping goes
    }
  }
  void MoveAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  MoveAction MovePte(Pfn pfn, Page& page, Vma& from, uint64_t old_addr, Vma& to,
                     uint64_t new_addr) override {
    if (page.Test(PG_stray)) {
      strays_.Move(pfn, {from.mm, old_addr}, {to.mm, new_addr}, counters());
    } else if (Offset(to, new_addr) !=
               page.index) {  // not expected: vm_pgoff moves along
      Evict(pfn, page, {from.mm, old_addr});
      strays_.Add(pfn, page, {to.mm, new_addr}, counters());
    }
    return MoveAction::kKeep;  // vm_pgoff keeps the offset, as for a file
  }
  // The page leaves the object: its offset is free again.
  void SetStableNode(Pfn pfn, Page& page) override {
    if (!page.Test(PG_stray)) Uncache(pfn, page);
    ReverseMap::SetStableNode(pfn, page);
  }

  void Walk(Pfn pfn, const Page& page, RmapOne rmap_one,
            WalkCost& cost) const override {
    if (page.Test(PG_stray)) return strays_.Walk(pfn, rmap_one, cost);
    cost.lock_acquisitions++;  // i_mmap_lock
    for (const VmaNode* n : i_mmap_) {
      auto addr = Maps(*n->vma, page.index);
      if (!addr)
        cost.wasted_steps++;
      else if (!rmap_one(*n->vma, *addr))
        return;
    }
  }

  uint64_t MetadataBytes(Layout layout) const override {
    uint64_t slot = layout == Layout::kX86_64 ? 8 : 4;
    return page_cache_.size() * slot + strays_.Bytes(layout);
  }
  int PageBytesDelta(Layout) const override { return -4; }
  Status CheckInvariants() const override;

 private:
  static Range* RangeOf(const Vma& vma) { return vma.anon_vma.as<Range>(); }
  static VmaNode* Node(const Vma& vma) { return vma.rmap.as<VmaNode>(); }

  static uint64_t Offset(const Vma& vma, uint64_t addr) {
    return (RangeOf(vma)->id << kRangeShift) | vma.LinearPageIndex(addr);
  }

  // Where the vma maps object offset `off`, if it does.
  static std::optional<uint64_t> Maps(const Vma& vma, uint64_t off) {
    if ((off >> kRangeShift) != RangeOf(vma)->id) return std::nullopt;
    return vma.Address(off & ((uint64_t{1} << kRangeShift) - 1));
  }

  void Link(Vma& vma) {
    VmaNode* n = nodes_.New(&vma);
    vma.rmap = n;
    i_mmap_.Add(n);
    RangeOf(vma)->vmas++;
    counters().lock_acquisitions++;
  }

  // A fresh offset of its own, and a back pointer instead of the range.
  void MakeStray(Pfn, Page& page) {
    page.mapping = kInode;
    page.index = (kStrayRange << kRangeShift) | next_stray_++;
    page.Set(PG_stray);
  }

  void Uncache(Pfn pfn, const Page& page) {
    auto it = page_cache_.find(page.index);
    if (it != page_cache_.end() && it->second == pfn) page_cache_.erase(it);
  }

  // The page leaves its offset: chain every PTE the offset walk finds
  // but `skip` (which the caller re-adds where it now is).
  void Evict(Pfn pfn, Page& page, PteAddr skip) {
    std::vector<PteAddr> ptes;
    for (const VmaNode* n : i_mmap_) {
      Vma* vma = n->vma;
      auto addr = Maps(*vma, page.index);
      if (!addr || PteAddr{vma->mm, *addr} == skip) continue;
      Pte pte = vma->mm->pt.Get(*addr);
      if (pte.present() && pte.pfn() == pfn) ptes.push_back({vma->mm, *addr});
    }
    Uncache(pfn, page);
    MakeStray(pfn, page);
    for (const PteAddr& p : ptes) strays_.Add(pfn, page, p, counters());
  }

  static constexpr uint64_t kStrayRange = 0;  // ranges count from 1
  uint64_t next_range_ = 1;
  uint64_t next_stray_ = 0;
  ObjectPool<Range> ranges_;
  ObjectPool<VmaNode> nodes_;
  PositionList<VmaNode> i_mmap_;
  std::unordered_map<uint64_t, Pfn> page_cache_;  // offset -> page at home
  PteChains strays_{/*direct_in_page=*/false};

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // The one inode with its i_mmap (inode -> every anonymous vma), each
  // vma's range, each page at its offset (page -> inode), and each stray
  // page's back pointer or pte_chain.
  void Describe(GraphSink& g) const override {
    GraphId inode = GraphId::Object(this);
    g.Node(
        inode, "anon_inode",
        GraphLabel({"anon_memory inode\n", std::to_string(page_cache_.size()),
                    " pages at their offset\ni_mmap: ",
                    std::to_string(i_mmap_.size()), " vmas"}));
    for (const VmaNode* n : i_mmap_)
      g.Edge(inode, GraphId::Of(*n->vma), "i_mmap");
    for (const Vma* vma : g.vmas()) {
      const Range* r = RangeOf(*vma);
      if (!r) continue;
      g.Node(GraphId::Object(r), "range",
             GraphLabel({"range ", std::to_string(r->id), "\noffsets ",
                         GraphHex(r->id << kRangeShift), "+"}));
      g.Edge(GraphId::Of(*vma), GraphId::Object(r), "anon_vma");
    }
    for (const GraphPage& p : g.pages()) {
      if (p.page->mapping != kInode) continue;
      uint64_t off = p.page->index;
      std::string pgoff = GraphHex(off & ((uint64_t{1} << kRangeShift) - 1));
      g.Edge(GraphId::OfPage(p.pfn), inode,
             p.page->Test(PG_stray)
                 ? GraphLabel({"stray offset ", pgoff})
                 : GraphLabel({"mapping, range ",
                               std::to_string(off >> kRangeShift), " pgoff ",
                               pgoff}));
    }
    strays_.Describe(g, "stray");
  }
};

void AnonInode::UnlinkAnonVmas(Vma& vma) {
  VmaNode* n = Node(vma);
  Range* r = RangeOf(vma);
  vma.anon_vma = nullptr;
  vma.rmap = nullptr;
  if (!n) return;
  i_mmap_.Remove(n);
  nodes_.Delete(n);
  counters().exit_work++;
  counters().lock_acquisitions++;
  if (--r->vmas == 0) ranges_.Delete(r);
}

Status AnonInode::CheckInvariants() const {
  std::unordered_map<const Range*, int> uses;
  if (!i_mmap_.Consistent([&](const VmaNode& n) {
        if (n.vma->anon_vma) uses[RangeOf(*n.vma)]++;
        return Node(*n.vma) == &n && n.vma->anon_vma;
      }))
    return Status::Error("anon_inode: i_mmap entry disagrees with its vma");
  for (const auto& [r, n] : uses)
    if (r->vmas != n)
      return Status::Error("anon_inode: range " + std::to_string(r->id) +
                           " counts " + std::to_string(r->vmas) +
                           " vmas, i_mmap has " + std::to_string(n));
  if (!strays_.AllFlagged(PG_stray))
    return Status::Error("anon_inode: a page on the chains is not PG_rmap1");
  return strays_.Check("anon_inode");
}

}  // namespace

std::unique_ptr<ReverseMap> NewAnonInode() {
  return std::make_unique<AnonInode>();
}

}  // namespace rmaplab
