// ksm.h: Kernel Samepage Merging's bookkeeping (mm/ksm.c, Linux 6.18): the
// mm_slots registered by MADV_MERGEABLE, one rmap_item per scanned (mm,
// address), the unstable tree of pages seen unchanged for a whole pass, and
// the stable tree of KSM pages keyed by content.  The scanner and the page
// operations (try_to_merge_one_page, write_protect_page, replace_page,
// break_ksm) are Kernel members in ksm.cc; this class holds the data and
// the operations that touch no page.
//
// max_page_sharing (Linux 4.13+): no KSM page gets more than
// max_page_sharing rmap_items.  When the stable tree already holds a full
// KSM page of some content, a new KSM page of that content becomes one more
// stable_node_dup of a stable_node_chain, the tree's entry for the content
// (stable_tree_insert); a search picks the dup with the most sharers that
// still has room (stable_node_dup / chain_prune), prunes stale dups on the
// way, and collapses a chain left with one dup back into a plain node.
// Linux prunes at most every stable_node_chains_prune_millisecs; the model,
// which has no clock, prunes on every search of the content.  A fork may
// take a dup over the limit (max_page_sharing_bypass), as in Linux.
//
// The reverse map of a KSM page (rmap_walk_ksm) is its stable node: the
// rmap_items on its hlist, plus `forked`, the mappings Linux reaches through
// an rmap_item's anon_vma (search_new_forks): PTEs fork copied, and PTEs a
// swap-in, swapoff or mremap put where no rmap_item of the node points.
// The scanner moves a forked mapping onto the hlist when it gives the place
// an rmap_item (stable_tree_append), as ksmd does for a forked child.
//
// Invariants (CheckInvariants(), and invariants.cc for the pages):
//  (1) an rmap_item is on its node's hlist iff where == kStable, and in the
//      unstable tree only if where == kUnstable; pages_unshared counts the
//      kUnstable ones;
//  (2) a node's forked entries are distinct, name live mms, and repeat no
//      hlist item of the node whose mm is alive;
//  (3) a stale node (its page freed, kpfn == 0) has no forked entries; it
//      stays, with its rmap_items, until the scanner touches it, as Linux's
//      stale stable nodes do;
//  (4) an allocated PG_ksm page names (page->mapping) a live node whose
//      kpfn is that page, and is never PG_anon_exclusive;
//  (5) every PTE of a KSM page is an hlist item or a forked entry of its
//      node (the checker's rmap walk, invariants.cc (4));
//  (6) a content's stable tree entry is a plain node or a chain (a node
//      is outside the tree only between StableTreeInsert and
//      StableTreeLink, or when its twin refused, until its page goes); a chain
//      holds only dups of its content, each dup names that chain, a dup is
//      never in the tree itself, and stable_node_chains / stable_node_dups
//      count the chains and their dups;
//  (7) no rmap_item joins a node holding max_page_sharing items but
//      through a fork (the bypass).
#ifndef RMAPLAB_CORE_KSM_H_
#define RMAPLAB_CORE_KSM_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mm.h"
#include "core/page.h"
#include "rmap/rmap.h"
#include "rmaplab/status.h"

namespace rmaplab {

struct MmSlot;
struct StableNode;

// struct ksm_rmap_item: one scanned page address of one mm.
struct RmapItem {
  enum class Where : uint8_t { kNone, kUnstable, kStable };
  MmSlot* slot = nullptr;
  uint64_t address = 0;
  std::optional<uint64_t> oldchecksum;  // calc_checksum() of the last visit
  Where where = Where::kNone;
  uint64_t seqnr = 0;     // the pass that put it in the unstable tree
  uint64_t tree_key = 0;  // its content when it went into the unstable tree
  StableNode* head = nullptr;  // its stable node, when kStable
};

// struct ksm_mm_slot: an mm registered with KSM (MMF_VM_MERGEABLE).
struct MmSlot {
  Mm* mm = nullptr;  // nullptr once the mm exited (ksm_test_exit)
  std::map<uint64_t, std::unique_ptr<RmapItem>> rmap_list;  // by address
};

// struct ksm_stable_node: one KSM page (a plain node, or a dup of a
// chain), or a stable_node_chain (is_chain: no page; `dups` its hlist).
struct StableNode {
  uint32_t id = 0;       // what the KSM page's page->mapping holds
  Pfn kpfn = 0;          // the KSM page; 0 once it was freed (stale)
  uint64_t content = 0;  // the stable tree's key
  std::vector<RmapItem*> hlist;
  std::vector<std::pair<Mm*, uint64_t>>
      forked;                     // mappings without an rmap_item
  StableNode* chain = nullptr;    // a dup's chain (STABLE_NODE_DUP_HEAD)
  bool is_chain = false;          // rmap_hlist_len == STABLE_NODE_CHAIN
  std::vector<StableNode*> dups;  // a chain's dups, head first
};

class Ksm {
 public:
  using SlotList = std::list<std::unique_ptr<MmSlot>>;
  // ksm_scan: the scanner's cursor.  cursor == slots.end() is ksm_mm_head.
  struct Scan {
    SlotList::iterator cursor;
    uint64_t address = 0;   // next address to look at in the cursor's mm
    uint64_t rmap_pos = 0;  // rmap_items below this address were visited
    uint64_t seqnr = 0;     // completed passes (full_scans)
  };

  // max_page_sharing: /sys/kernel/mm/ksm/max_page_sharing (>= 2).
  explicit Ksm(uint32_t max_page_sharing = 256)
      : max_page_sharing_(max_page_sharing) {
    scan_.cursor = slots_.end();
  }

  // --- mm_slots (__ksm_enter, __ksm_exit) ---
  MmSlot* SlotOf(const Mm& mm) const;
  // Registers mm just behind the scanning cursor; no-op if registered.
  void Enter(Mm& mm);
  void Exit(Mm& mm);
  SlotList& slots() { return slots_; }
  // Drops the cursor's slot and advances the cursor past it.
  void DropCursorSlot();

  // --- rmap_items ---
  // get_next_rmap_item(): frees the items in [rmap_pos, addr), returns the
  // item at addr (new if needed) and moves rmap_pos past it.
  RmapItem& GetNextRmapItem(MmSlot& slot, uint64_t addr);
  // remove_trailing_rmap_items(): frees the items at or above rmap_pos.
  void RemoveTrailingRmapItems(MmSlot& slot);
  void RemoveRmapItemFromTree(RmapItem& item);

  // --- trees ---
  void StartPass();  // the unstable tree is rebuilt every pass
  // stable_tree_search(): the live node (a dup, if the content is chained)
  // holding `content` that can take one more sharer, or nullptr (none, or
  // all full: the page waits for a twin in the unstable tree); prunes
  // stale nodes on the way.
  StableNode* StableTreeSearch(uint64_t content);
  // stable_tree_insert() in two steps, as Linux orders it: the page that
  // becomes a KSM page gets its node now (outside the tree: it has no
  // stable node yet in Linux), and StableTreeLink() puts the node in the
  // tree once its twin merged too (a failed twin leaves no trace): a plain
  // node, or a new dup when the tree holds the content already (making the
  // entry a chain).
  StableNode& StableTreeInsert(Pfn kpfn, uint64_t content);
  void StableTreeLink(StableNode& node);
  void StableTreeAppend(RmapItem& item, StableNode& node);
  // is_page_sharing_candidate(): some mapper left, and room for one more.
  bool IsSharingCandidate(const StableNode& node) const {
    return !node.hlist.empty() && node.hlist.size() < max_page_sharing_;
  }
  // folio_migrate_ksm(): the KSM page moved to `kpfn`.
  void SetKpfn(StableNode& node, Pfn kpfn) { node.kpfn = kpfn; }
  RmapItem* UnstableTreeFind(uint64_t content) const;
  void UnstableTreeInsert(RmapItem& item, uint64_t content);

  // --- the reverse map of KSM pages ---
  StableNode& NodeOf(const Page& page) const {
    return *nodes_.at(page.mapping);
  }
  const StableNode* FindNode(uint32_t id) const {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : it->second.get();
  }
  // folio_add_anon_rmap_pte() & co. on a KSM page: (mm, addr) maps it now.
  void AddMapping(StableNode& node, Mm& mm, uint64_t addr);
  // folio_remove_rmap_pte(): (mm, addr) no longer maps it.  An rmap_item
  // there stays until the scanner next visits (Linux does the same).
  void RemoveMapping(StableNode& node, const Mm& mm, uint64_t addr);
  // The KSM page was freed: its node goes stale.
  void PageFreed(const Page& page);
  // rmap_walk_ksm(): rmap_one(vma, addr) for every rmap_item and forked
  // mapping whose mm has a vma there; *wasted counts the others.
  void Walk(const Page& page, RmapOne rmap_one, uint64_t* wasted) const;

  // --- /sys/kernel/mm/ksm ---
  uint64_t pages_shared() const;   // stable nodes with rmap_items
  uint64_t pages_sharing() const;  // their further rmap_items
  uint64_t pages_unshared() const { return unshared_; }
  uint64_t full_scans() const { return scan_.seqnr; }
  uint64_t stable_node_chains() const { return chains_; }
  uint64_t stable_node_dups() const { return dups_; }
  uint32_t max_page_sharing() const { return max_page_sharing_; }
  Scan& scan() { return scan_; }

  Status CheckInvariants() const;

 private:
  void FreeRmapItem(MmSlot& slot, uint64_t addr);
  // remove_node_from_stable_tree(): a stale node goes with its items.
  void RemoveNode(StableNode& node);
  StableNode& NewNode(uint64_t content);
  void EraseFromTree(const StableNode& node);  // if it is the tree's entry
  // chain_prune(): drops the stale dups of the chain at `it`, frees an
  // empty chain, collapses a chain of one dup; returns the tree entry left
  // for the content (nullptr if none) and in *dup the best dup: the
  // sharing candidate with the most sharers, else any live one.
  StableNode* ChainPrune(uint64_t content, StableNode** dup);
  void ChainAddDup(StableNode& chain, StableNode& dup);
  void ChainDelDup(StableNode& dup);
  void FreeChain(StableNode& chain);
  Status CheckChains() const;

  SlotList slots_;  // ksm_mm_head's list, in scanning order
  std::unordered_map<const Mm*, MmSlot*> by_mm_;
  Scan scan_;
  std::unordered_map<uint32_t, std::unique_ptr<StableNode>> nodes_;
  uint32_t next_node_id_ = 1;
  std::map<uint64_t, StableNode*> stable_tree_;  // by content
  std::map<uint64_t, RmapItem*> unstable_tree_;  // by content at insertion
  uint64_t unshared_ = 0;
  uint32_t max_page_sharing_;
  uint64_t chains_ = 0;  // ksm_stable_node_chains
  uint64_t dups_ = 0;    // ksm_stable_node_dups
};

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_KSM_H_
