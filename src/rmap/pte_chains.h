// pte_chains.h: per-page lists of the PTEs that map a page (Rik van Riel's
// 2.5 rmap, mm/rmap.c of 2.5.x-2.6.6: struct pte_chain), shared by the
// designs that keep chains for some or all pages: pte_chain (every page),
// anonmm-chains (pages mremapped after fork, as anobjrmap-5 did) and
// anon_inode (COW copies that cannot sit at their offset in the object).
// Not a design: a helper, header only, used from one design file each.
//
// A PTE is named by (mm, address), which is what a pte_addr_t resolves to
// (the page-table page's struct page gives mm and address).  A page mapped
// once keeps its PTE "directly" in struct page (PG_direct, here PG_rmap0);
// from the second mapping on, all its PTEs live in chain blocks.  Memory is
// counted as Andrew Morton's packed chains: a block is one L1 cache line
// holding a `next` pointer and NRPTE = (L1_CACHE_BYTES - sizeof(long)) /
// sizeof(pte_addr_t) PTE slots:
//   i386:   32-byte lines, 4-byte pte_addr_t -> NRPTE 7 per 32-byte block;
//   x86-64: 64-byte lines, 8-byte pte_addr_t -> NRPTE 7 per 64-byte block.
// (With 4-byte pte_addr_t a 64-byte line would hold 15; x86-64 has 8-byte
// PTE addresses, so we count 7.)
//
// Invariants (Check):
//  (1) every tracked page has at least one entry, and no entry twice;
//  (2) PG_rmap0 (PG_direct) is set iff the page has exactly one entry
//      (when the owner asked for direct storage).
#ifndef RMAPLAB_RMAP_PTE_CHAINS_H_
#define RMAPLAB_RMAP_PTE_CHAINS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rmap/rmap.h"

namespace rmaplab {

// pte_addr_t: where one PTE lives.
struct PteAddr {
  Mm* mm;
  uint64_t addr;
  bool operator==(const PteAddr& o) const {
    return mm == o.mm && addr == o.addr;
  }
};

inline constexpr uint64_t kNrPte = 7;  // slots per block, both layouts

class PteChains {
 public:
  // direct_in_page: a single mapping costs nothing (it sits in struct
  // page's pte union) and is flagged PG_rmap0; else it takes a block.
  explicit PteChains(bool direct_in_page) : direct_in_page_(direct_in_page) {}

  bool Tracks(Pfn pfn) const { return chains_.count(pfn) != 0; }

  // page_add_rmap(): one more PTE maps the page.
  void Add(Pfn pfn, Page& page, PteAddr pte, RmapStats& st) {
    st.lock_acquisitions++;  // pte_chain_lock(page)
    Entry& e = chains_[pfn];
    e.page = &page;
    e.ptes.push_back(pte);
    size_t n = e.ptes.size();
    if (n >= 2 || !direct_in_page_)
      st.chain_entries += (n == 2 && direct_in_page_) ? 2 : 1;
    SetDirect(e);
  }

  // page_remove_rmap(): returns false if the PTE was not on the chain.
  bool Remove(Pfn pfn, PteAddr pte, RmapStats& st) {
    auto [e, p] = Locate(pfn, pte, st);
    if (!p) return false;
    e->ptes.erase(e->ptes.begin() + (p - e->ptes.data()));
    st.exit_work++;
    if (!e->ptes.empty()) {
      SetDirect(*e);
      return true;
    }
    e->page->Clear(PG_rmap0);
    chains_.erase(pfn);
    return true;
  }

  // mremap moved one PTE of the page.
  bool Move(Pfn pfn, PteAddr from, PteAddr to, RmapStats& st) {
    PteAddr* p = Locate(pfn, from, st).second;
    if (p) *p = to;
    return p != nullptr;
  }

  // Yields every entry whose mm still has a vma there; an entry without
  // one is a wasted step.
  void Walk(Pfn pfn, RmapOne rmap_one, WalkCost& cost) const {
    auto it = chains_.find(pfn);
    if (it == chains_.end()) return;
    cost.lock_acquisitions++;
    for (const PteAddr& pte : it->second.ptes) {
      Vma* vma = pte.mm->VmaLookup(pte.addr);
      if (!vma)
        cost.wasted_steps++;
      else if (!rmap_one(*vma, pte.addr))
        return;
    }
  }

  // Bytes of chain blocks (and of single back pointers when they do not
  // sit in struct page).
  uint64_t Bytes(Layout layout) const {
    bool x64 = layout == Layout::kX86_64;
    uint64_t block = x64 ? 64 : 32, slot = x64 ? 8 : 4, bytes = 0;
    for (const auto& [pfn, e] : chains_) {
      uint64_t n = e.ptes.size();
      if (n == 1)
        bytes += direct_in_page_ ? 0 : slot;
      else
        bytes += (n + kNrPte - 1) / kNrPte * block;
    }
    return bytes;
  }

  uint64_t pages() const { return chains_.size(); }

  // Every page on the chains carries `flag` (the owner's "chained" bit).
  bool AllFlagged(uint32_t flag) const {
    for (const auto& [pfn, e] : chains_)
      if (!e.page->Test(flag)) return false;
    return true;
  }

  Status Check(std::string_view who) const {
    for (const auto& [pfn, e] : chains_) {
      if (e.ptes.empty())
        return Status::Error(std::string(who) + ": empty chain for frame " +
                             std::to_string(pfn));
      for (size_t i = 0; i < e.ptes.size(); ++i)
        for (size_t j = i + 1; j < e.ptes.size(); ++j)
          if (e.ptes[i] == e.ptes[j])
            return Status::Error(std::string(who) + ": PTE twice on frame " +
                                 std::to_string(pfn) + "'s chain");
      bool direct = direct_in_page_ && e.ptes.size() == 1;
      if (e.page->Test(PG_rmap0) != direct)
        return Status::Error(std::string(who) + ": PG_direct wrong on frame " +
                             std::to_string(pfn));
    }
    return Status::Ok();
  }

  // --- structure pictures (rmaplab/graph.h) ---
  // For each shown page on the chains: a page mapped once, an edge to the
  // vma of its PTE (PG_direct, or a back pointer); else its chain blocks
  // (kNrPte slots each, linked by `next`) with an edge per entry to the vma its
  // PTE lies in (its mm if none).  `what` names the chains in labels
  // ("pte_chain").
  void Describe(GraphSink& g, const std::string& what) const {
    for (const GraphPage& p : g.pages()) {
      auto it = chains_.find(p.pfn);
      if (it == chains_.end()) continue;
      const std::vector<PteAddr>& ptes = it->second.ptes;
      GraphId from = GraphId::OfPage(p.pfn);
      if (ptes.size() == 1) {
        DescribePte(g, from, ptes[0],
                    direct_in_page_ ? "PG_direct "
                                    : GraphLabel({what, " back pointer "}));
        continue;
      }
      for (size_t i = 0; i < ptes.size(); ++i) {
        if (i % kNrPte == 0) {
          GraphId block = GraphId::Object(&it->second, i / kNrPte);
          size_t used = std::min<size_t>(kNrPte, ptes.size() - i);
          g.Node(block, "pte_chain",
                 GraphLabel({what, " block\n", std::to_string(used), " of ",
                             std::to_string(kNrPte), " slots used"}));
          g.Edge(from, block, i == 0 ? what : "next");
          from = block;
        }
        DescribePte(g, from, ptes[i], "");
      }
    }
  }

 private:
  static void DescribePte(GraphSink& g, GraphId from, const PteAddr& pte,
                          const std::string& prefix) {
    Vma* vma = pte.mm->VmaLookup(pte.addr);
    g.Edge(from, vma ? GraphId::Of(*vma) : GraphId::Of(*pte.mm),
           GraphLabel({prefix, "pte ", GraphHex(pte.addr)}));
  }

  struct Entry {
    Page* page = nullptr;
    std::vector<PteAddr> ptes;
  };

  // pte_chain_lock(page), then the chain entry naming `pte`, if any.
  std::pair<Entry*, PteAddr*> Locate(Pfn pfn, PteAddr pte, RmapStats& st) {
    auto it = chains_.find(pfn);
    if (it == chains_.end()) return {nullptr, nullptr};
    st.lock_acquisitions++;
    auto& v = it->second.ptes;
    auto p = std::find(v.begin(), v.end(), pte);
    return {&it->second, p == v.end() ? nullptr : &*p};
  }

  void SetDirect(Entry& e) const {
    if (direct_in_page_ && e.ptes.size() == 1)
      e.page->Set(PG_rmap0);
    else
      e.page->Clear(PG_rmap0);
  }

  bool direct_in_page_;
  std::unordered_map<Pfn, Entry> chains_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_RMAP_PTE_CHAINS_H_
