// ksm.cc: Kernel Samepage Merging (mm/ksm.c, Linux 6.18): MADV_MERGEABLE /
// MADV_UNMERGEABLE, the ksmd scanner (scan_get_next_rmap_item,
// cmp_and_merge_page), merging (try_to_merge_one_page, write_protect_page,
// replace_page), breaking (break_ksm), the reverse map of KSM pages
// (rmap_walk_ksm), swap-in of a page that was a KSM page
// (ksm_might_need_to_copy), max_page_sharing's chains of dups (the data
// side in Ksm, see ksm.h) and use_zero_pages (try_to_merge_with_zero_page,
// is_ksm_zero_pte).  Migration of a KSM page is migrate.cc's.
//
// Seed 003 (Andrea, Nov 2008): replace_page() swaps one anonymous page for
// a shared one, and write_protect_page() refuses a page whose refcount is
// more than its mappings and the swap cache: someone (O_DIRECT, a long-term
// pin) may write into it behind the page table.
//
// Invariants kept here (see also ksm.h):
//  (1) a page is merged only after two visits that found the same checksum,
//      the second one finding its twin in the unstable tree or a KSM page
//      in the stable tree;
//  (2) a page is merged only after write_protect_page() saw refcount ==
//      mapcount + swap cache with its PTE read-only: no pin, no writer;
//  (3) a KSM page has PG_ksm and PG_anon, is never exclusive, and leaves
//      the design's reverse map: its mappings are known to its stable node
//      only, and every rmap hook on it comes here (the Folio*RmapPte
//      functions below);
//  (4) a KSM page's content never changes: writes and unsharing copy it;
//  (5) with use_zero_pages, a page merged with the zero page leaves no
//      rmap_item in either tree, and its PTE is the zero page's, dirty
//      (the only dirty zero-page PTE: read faults map it clean).
#include "core/ksm.h"

#include <algorithm>
#include <tuple>

#include "core/kernel.h"

namespace rmaplab {

// ---------------------------------------------------------------------------
// Ksm: the data structures.

MmSlot* Ksm::SlotOf(const Mm& mm) const {
  auto it = by_mm_.find(&mm);
  return it == by_mm_.end() ? nullptr : it->second;
}

void Ksm::Enter(Mm& mm) {
  if (SlotOf(mm)) return;
  auto slot = std::make_unique<MmSlot>();
  slot->mm = &mm;
  by_mm_[&mm] = slot.get();
  // "insert just behind the scanning cursor, to let the area settle down".
  slots_.insert(scan_.cursor, std::move(slot));
}

void Ksm::Exit(Mm& mm) {
  MmSlot* slot = SlotOf(mm);
  if (!slot) return;
  by_mm_.erase(&mm);
  slot->mm = nullptr;  // ksm_test_exit(): ksmd frees its rmap_items later
  bool at_cursor = scan_.cursor != slots_.end() && scan_.cursor->get() == slot;
  if (!slot->rmap_list.empty() || at_cursor) return;
  slots_.remove_if(
      [&](const std::unique_ptr<MmSlot>& s) { return s.get() == slot; });
}

void Ksm::DropCursorSlot() {
  MmSlot& slot = **scan_.cursor;
  if (slot.mm) by_mm_.erase(slot.mm);  // clears MMF_VM_MERGEABLE
  scan_.cursor = slots_.erase(scan_.cursor);
}

void Ksm::FreeRmapItem(MmSlot& slot, uint64_t addr) {
  auto it = slot.rmap_list.find(addr);
  RemoveRmapItemFromTree(*it->second);
  slot.rmap_list.erase(it);
}

RmapItem& Ksm::GetNextRmapItem(MmSlot& slot, uint64_t addr) {
  auto& list = slot.rmap_list;
  for (auto it = list.lower_bound(scan_.rmap_pos);
       it != list.end() && it->first < addr;)
    FreeRmapItem(slot, (it++)->first);
  std::unique_ptr<RmapItem>& item = list[addr];
  if (!item) {
    item = std::make_unique<RmapItem>();
    item->slot = &slot;
    item->address = addr;
  }
  scan_.rmap_pos = addr + kPageSize;
  return *item;
}

void Ksm::RemoveTrailingRmapItems(MmSlot& slot) {
  auto& list = slot.rmap_list;
  for (auto it = list.lower_bound(scan_.rmap_pos); it != list.end();)
    FreeRmapItem(slot, (it++)->first);
}

void Ksm::RemoveRmapItemFromTree(RmapItem& item) {
  if (item.where == RmapItem::Where::kStable) {
    StableNode& node = *item.head;
    if (!node.kpfn) {  // ksm_get_folio() finds it stale
      RemoveNode(node);
      return;
    }
    auto& h = node.hlist;
    h.erase(std::find(h.begin(), h.end(), &item));
    // Still mapped there (a vma that stopped being mergeable): the walk
    // must keep finding it, as Linux does through the anon_vma.
    Mm* mm = item.slot->mm;
    if (mm) {
      Pte pte = mm->pt.Get(item.address);
      if (pte.present() && pte.pfn() == node.kpfn)
        node.forked.emplace_back(mm, item.address);
    }
  } else if (item.where == RmapItem::Where::kUnstable) {
    auto it = unstable_tree_.find(item.tree_key);
    if (it != unstable_tree_.end() && it->second == &item)
      unstable_tree_.erase(it);
    unshared_--;
  }
  item.where = RmapItem::Where::kNone;
  item.head = nullptr;
}

void Ksm::RemoveNode(StableNode& node) {
  for (RmapItem* item : node.hlist) {
    item->where = RmapItem::Where::kNone;
    item->head = nullptr;
  }
  if (node.chain) {
    ChainDelDup(node);  // stable_node_dup_del(); the chain may go empty
  } else {
    EraseFromTree(node);
  }
  nodes_.erase(node.id);  // destroys node
}

void Ksm::EraseFromTree(const StableNode& node) {
  auto it = stable_tree_.find(node.content);
  if (it != stable_tree_.end() && it->second == &node) stable_tree_.erase(it);
}

StableNode& Ksm::NewNode(uint64_t content) {
  auto node = std::make_unique<StableNode>();
  node->id = next_node_id_++;
  node->content = content;
  StableNode& ref = *node;
  nodes_.emplace(ref.id, std::move(node));
  return ref;
}

// stable_node_chain_add_dup(): at the head of the chain's hlist.
void Ksm::ChainAddDup(StableNode& chain, StableNode& dup) {
  dup.chain = &chain;
  chain.dups.insert(chain.dups.begin(), &dup);
  dups_++;
}

void Ksm::ChainDelDup(StableNode& dup) {
  auto& d = dup.chain->dups;
  d.erase(std::find(d.begin(), d.end(), &dup));
  dup.chain = nullptr;
  dups_--;
}

// free_stable_node_chain(): the chain has no dup left.
void Ksm::FreeChain(StableNode& chain) {
  EraseFromTree(chain);
  chains_--;
  nodes_.erase(chain.id);
}

StableNode* Ksm::ChainPrune(uint64_t content, StableNode** dup) {
  *dup = nullptr;
  auto it = stable_tree_.find(content);
  if (it == stable_tree_.end()) return nullptr;
  StableNode* entry = it->second;
  if (!entry->is_chain) {
    if (!entry->kpfn) {  // ksm_get_folio() finds it stale
      RemoveNode(*entry);
      return nullptr;
    }
    *dup = entry;
    return entry;
  }
  StableNode* found = nullptr;
  for (StableNode* d : std::vector<StableNode*>(entry->dups)) {
    if (!d->kpfn) {
      RemoveNode(*d);
      continue;
    }
    if (!found ||
        (IsSharingCandidate(*d) && (!IsSharingCandidate(*found) ||
                                    d->hlist.size() > found->hlist.size())))
      found = d;
  }
  if (!found) {
    FreeChain(*entry);
    return nullptr;
  }
  *dup = found;
  if (entry->dups.size() > 1) return entry;
  // One dup left: it takes the chain's place in the tree.
  ChainDelDup(*found);
  FreeChain(*entry);
  stable_tree_[content] = found;
  return found;
}

void Ksm::StartPass() {
  unstable_tree_.clear();  // root_unstable_tree = RB_ROOT
  scan_.cursor = slots_.begin();
  scan_.address = 0;
  scan_.rmap_pos = 0;
}

StableNode* Ksm::StableTreeSearch(uint64_t content) {
  StableNode* dup = nullptr;
  ChainPrune(content, &dup);
  return dup && IsSharingCandidate(*dup) ? dup : nullptr;
}

StableNode& Ksm::StableTreeInsert(Pfn kpfn, uint64_t content) {
  StableNode& node = NewNode(content);
  node.kpfn = kpfn;
  return node;
}

void Ksm::StableTreeLink(StableNode& node) {
  StableNode* dup = nullptr;
  StableNode* entry = ChainPrune(node.content, &dup);
  if (!entry) {
    stable_tree_[node.content] = &node;
    return;
  }
  if (!entry->is_chain) {  // alloc_stable_node_chain()
    StableNode& chain = NewNode(node.content);
    chain.is_chain = true;
    chains_++;
    stable_tree_[node.content] = &chain;
    ChainAddDup(chain, *entry);
    entry = &chain;
  }
  ChainAddDup(*entry, node);
}

void Ksm::StableTreeAppend(RmapItem& item, StableNode& node) {
  Mm* mm = item.slot->mm;
  auto& f = node.forked;
  f.erase(std::remove(f.begin(), f.end(), std::make_pair(mm, item.address)),
          f.end());
  node.hlist.push_back(&item);
  item.where = RmapItem::Where::kStable;
  item.head = &node;
}

RmapItem* Ksm::UnstableTreeFind(uint64_t content) const {
  auto it = unstable_tree_.find(content);
  return it == unstable_tree_.end() ? nullptr : it->second;
}

void Ksm::UnstableTreeInsert(RmapItem& item, uint64_t content) {
  unstable_tree_[content] = &item;  // a stale twin there loses its place
  item.where = RmapItem::Where::kUnstable;
  item.seqnr = scan_.seqnr;
  item.tree_key = content;
  unshared_++;
}

void Ksm::AddMapping(StableNode& node, Mm& mm, uint64_t addr) {
  for (const RmapItem* item : node.hlist)
    if (item->slot->mm == &mm && item->address == addr) return;
  auto& f = node.forked;
  if (std::find(f.begin(), f.end(), std::make_pair(&mm, addr)) == f.end())
    f.emplace_back(&mm, addr);
}

void Ksm::RemoveMapping(StableNode& node, const Mm& mm, uint64_t addr) {
  auto& f = node.forked;
  f.erase(std::remove(f.begin(), f.end(),
                      std::make_pair(const_cast<Mm*>(&mm), addr)),
          f.end());
}

void Ksm::PageFreed(const Page& page) {
  StableNode& node = NodeOf(page);
  node.kpfn = 0;
  if (node.hlist.empty()) RemoveNode(node);  // nothing left to count
}

void Ksm::Walk(const Page& page, RmapOne rmap_one, uint64_t* wasted) const {
  const StableNode& node = NodeOf(page);
  auto visit = [&](Mm* mm, uint64_t addr) {
    Vma* vma = mm ? mm->VmaLookup(addr) : nullptr;
    if (!vma) {
      ++*wasted;
      return true;
    }
    return rmap_one(*vma, addr);
  };
  for (const RmapItem* item : node.hlist)
    if (!visit(item->slot->mm, item->address)) return;
  for (auto [mm, addr] : node.forked)
    if (!visit(mm, addr)) return;
}

uint64_t Ksm::pages_shared() const {
  uint64_t n = 0;
  for (const auto& [id, node] : nodes_) n += !node->hlist.empty();
  return n;
}

uint64_t Ksm::pages_sharing() const {
  uint64_t n = 0;
  for (const auto& [id, node] : nodes_)
    n += node->hlist.empty() ? 0 : node->hlist.size() - 1;
  return n;
}

Status Ksm::CheckInvariants() const {
  uint64_t unstable = 0;
  for (const auto& slot : slots_) {
    if (slot->mm && SlotOf(*slot->mm) != slot.get())
      return Status::Error("ksm: an mm_slot is not registered under its mm");
    for (const auto& [addr, item] : slot->rmap_list) {
      unstable += item->where == RmapItem::Where::kUnstable;
      bool stable = item->where == RmapItem::Where::kStable;
      if (stable != (item->head != nullptr))
        return Status::Error("ksm: rmap_item head");
      if (stable) {
        const auto& h = item->head->hlist;
        if (std::find(h.begin(), h.end(), item.get()) == h.end())
          return Status::Error(
              "ksm: stable rmap_item missing from its node's hlist");
      }
    }
  }
  if (unstable != unshared_) return Status::Error("ksm: pages_unshared is off");
  for (const auto& [id, node] : nodes_) {
    if (!node->kpfn && !node->forked.empty())
      return Status::Error("ksm: a stale stable node still has mappings");
    auto f = node->forked;
    std::sort(f.begin(), f.end());
    if (std::adjacent_find(f.begin(), f.end()) != f.end())
      return Status::Error("ksm: a forked mapping is listed twice");
    for (const RmapItem* item : node->hlist)
      if (item->head != node.get())
        return Status::Error("ksm: hlist holds a stranger");
  }
  return CheckChains();
}

Status Ksm::CheckChains() const {
  uint64_t chains = 0, dups = 0;
  for (const auto& [content, entry] : stable_tree_) {
    if (entry->content != content || entry->chain)
      return Status::Error("ksm: a stable tree entry is out of place");
    if (!entry->is_chain) continue;
    chains++;
    dups += entry->dups.size();
    for (const StableNode* d : entry->dups)
      if (d->chain != entry || d->is_chain || d->content != content)
        return Status::Error("ksm: a chain holds a stranger dup");
  }
  for (const auto& [id, node] : nodes_) {
    if (node->is_chain && !node->hlist.empty())
      return Status::Error("ksm: a stable_node_chain has rmap_items");
    if (!node->chain) continue;
    const auto& d = node->chain->dups;
    if (std::find(d.begin(), d.end(), node.get()) == d.end())
      return Status::Error("ksm: a dup is missing from its chain");
  }
  if (chains != chains_ || dups != dups_)
    return Status::Error("ksm: stable_node_chains/dups are off");
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The rmap hooks on a page that may be a KSM page: folio_*_rmap_pte()
// leave a KSM folio's mapping alone; here they go to its stable node.

void Kernel::FolioAddAnonRmapPte(Pfn pfn, Page& page, Vma& vma, uint64_t addr) {
  if (page.Test(PG_ksm))
    ksm_.AddMapping(ksm_.NodeOf(page), *vma.mm, addr);
  else
    rmap_->AddAnonRmap(pfn, page, vma, addr);
}

void Kernel::FolioDupAnonRmapPte(Pfn pfn, Page& page, Vma& vma, uint64_t addr) {
  if (page.Test(PG_ksm))
    ksm_.AddMapping(ksm_.NodeOf(page), *vma.mm, addr);
  else
    rmap_->DupAnonRmap(pfn, page, vma, addr);
}

void Kernel::FolioRemoveRmapPte(Pfn pfn, Page& page, Vma& vma, uint64_t addr) {
  if (page.Test(PG_ksm))
    ksm_.RemoveMapping(ksm_.NodeOf(page), *vma.mm, addr);
  else
    rmap_->RemoveRmap(pfn, page, vma, addr);
}

void Kernel::KsmMovePte(Page& page, Vma& from, uint64_t old_addr, Vma& to,
                        uint64_t new_addr) {
  StableNode& node = ksm_.NodeOf(page);
  ksm_.RemoveMapping(node, *from.mm, old_addr);
  ksm_.AddMapping(node, *to.mm, new_addr);
}

// ksm_might_need_to_copy(): a swap slot written from a KSM page whose page
// is now another mapping's ordinary anon page is copied for this one.
// Linux shares it instead when this vma has the same anon_vma root and
// index; the model, which cannot ask the design that, always copies.
bool Kernel::KsmNeedsCopy(uint64_t slot, Pfn pfn) const {
  const Page& page = Frame(pfn);
  return swap_.slot(slot).ksm && page.Test(PG_anon) && !page.Test(PG_ksm);
}

Result<Pfn> Kernel::KsmCopySwapPage(Mm& mm, Vma& vma, uint64_t addr,
                                    Pfn cached) {
  Page& page = Frame(cached);
  page.Set(PG_locked);
  Pfn copy;
  Errno e = NewAnonPage(mm, vma, addr, page.content, &copy);
  page.Clear(PG_locked);
  if (e != Errno::kOk) return Status::Error("out of memory");
  return copy;
}

// ---------------------------------------------------------------------------
// madvise and break_ksm.

namespace {
// vma_ksm_compatible(): shared mappings are ignored, not refused.
bool KsmCompatible(const Vma& vma) {
  return !(vma.flags & (VM_SHARED | VM_MAYSHARE));
}

// is_ksm_zero_pte(): a zero page KSM put in place of a zero-filled page
// (use_zero_pages); replace_page() marks it dirty, which no read fault's
// zero-page PTE is.
bool IsKsmZeroPte(Pte pte) {
  return pte.present() && pte.pfn() == kZeroPfn && pte.dirty();
}
}  // namespace

Errno Kernel::KsmMadvise(Mm& mm, Vma& vma, uint64_t start, uint64_t end,
                         Advice advice, uint32_t* flags) {
  if (advice == Advice::kMergeable) {
    if ((*flags & VM_MERGEABLE) || !KsmCompatible(vma)) return Errno::kOk;
    ksm_.Enter(mm);
    *flags |= VM_MERGEABLE;
    return Errno::kOk;
  }
  if (!(*flags & VM_MERGEABLE)) return Errno::kOk;
  if (vma.anon_vma) {
    if (Errno e = UnmergeKsmPages(mm, vma, start, end); e != Errno::kOk)
      return e;
  }
  *flags &= ~VM_MERGEABLE;
  return Errno::kOk;
}

Errno Kernel::UnmergeKsmPages(Mm& mm, Vma& vma, uint64_t start, uint64_t end) {
  for (uint64_t addr = start; addr < end; addr += kPageSize)
    if (Errno e = BreakKsm(mm, vma, addr); e != Errno::kOk) return e;
  return Errno::kOk;
}

// break_ksm(): a FAULT_FLAG_UNSHARE fault on a KSM page, or on a zero page
// KSM placed: the process gets a private copy, mapped read-only and clean
// (wp_page_copy with unshare).
Errno Kernel::BreakKsm(Mm& mm, Vma& vma, uint64_t addr) {
  Pte* pte = mm.pt.Find(addr);
  if (!pte || !pte->present()) return Errno::kOk;
  bool ksm_zero = IsKsmZeroPte(*pte);
  if (!ksm_zero && (pte->pfn() == kZeroPfn || !Frame(pte->pfn()).Test(PG_ksm)))
    return Errno::kOk;
  Errno e = WpFault(mm, vma, addr, *pte);
  if (e == Errno::kOk) pte->v &= ~(Pte::kWrite | Pte::kDirty);
  return e;
}

// ---------------------------------------------------------------------------
// Merging.

// find_mergeable_vma().
Vma* Kernel::FindMergeableVma(Mm* mm, uint64_t addr) const {
  Vma* vma = mm ? mm->VmaLookup(addr) : nullptr;
  if (!vma || !(vma->flags & VM_MERGEABLE) || !vma->anon_vma) return nullptr;
  return vma;
}

// get_mergeable_page(): the anonymous page an rmap_item's address maps.
Pfn Kernel::GetMergeablePage(const RmapItem& item) const {
  Mm* mm = item.slot->mm;
  if (!FindMergeableVma(mm, item.address)) return 0;
  Pte pte = mm->pt.Get(item.address);
  if (!pte.present() || pte.pfn() == kZeroPfn ||
      !Frame(pte.pfn()).Test(PG_anon))
    return 0;
  return pte.pfn();
}

// write_protect_page(): make the PTE read-only and clean, unless the page
// has references beyond its mappings and the swap cache (seed 003).
bool Kernel::WriteProtectPage(Vma& vma, uint64_t addr, Pfn pfn) {
  Pte* pte = vma.mm->pt.Find(addr);
  if (!pte || !pte->present() || pte->pfn() != pfn) return false;
  Page& page = Frame(pfn);
  if (!pte->write() && !pte->dirty() && !page.Test(PG_anon_exclusive))
    return true;
  int swapped = page.Test(PG_swapcache) ? 1 : 0;
  // O_DIRECT, pins; --unsafe-pin-check skips this (the 2008 race).
  if (page.mapcount + swapped != page.refcount && !opts_.unsafe_pin_check)
    return false;
  page.Clear(PG_anon_exclusive);  // folio_try_share_anon_rmap_pte()
  if (pte->dirty()) page.Set(PG_dirty);
  pte->v &= ~(Pte::kWrite | Pte::kDirty);
  return true;
}

// folio_set_stable_node(): the page becomes a KSM page.  Its mappings
// leave the design's reverse map for the new stable node's.
StableNode& Kernel::PromoteToKsmPage(Pfn pfn) {
  Page& page = Frame(pfn);
  std::vector<std::pair<Vma*, uint64_t>> maps;
  RmapWalk(pfn, false, [&](Vma& vma, uint64_t addr, Pte&) {
    maps.emplace_back(&vma, addr);
    return true;
  });
  for (auto [vma, addr] : maps) rmap_->RemoveRmap(pfn, page, *vma, addr);
  rmap_->SetStableNode(pfn, page);  // the design forgets the page
  page.Clear(PG_anon_exclusive);
  page.Set(PG_ksm | PG_dirty);
  StableNode& node = ksm_.StableTreeInsert(pfn, page.content);
  page.mapping = node.id;  // KSM's from now on
  for (auto [vma, addr] : maps) ksm_.AddMapping(node, *vma->mm, addr);
  if (page.Test(PG_swapcache))
    swap_.slot(swap_.cache_index().at(pfn)).ksm = true;
  return node;
}

// replace_page(): the PTE at (vma, addr) maps the KSM page instead; the
// old page loses that mapping (and goes, if it was the last).
void Kernel::ReplacePage(Vma& vma, uint64_t addr, Pfn kpfn) {
  Page& kpage = Frame(kpfn);
  Pte& pte = *vma.mm->pt.Find(addr);
  ksm_.AddMapping(ksm_.NodeOf(kpage), *vma.mm, addr);
  kpage.mapcount++;
  kpage.refcount++;
  ZapPte(vma, addr, pte);
  pte = Pte::Present(kpfn, false, false, true);
}

// try_to_merge_one_page(): kpfn 0 makes the page itself a KSM page.
bool Kernel::TryToMergeOnePage(Vma& vma, uint64_t addr, Pfn pfn, Pfn kpfn) {
  if (pfn == kpfn) return true;  // a KSM page forked
  Page& page = Frame(pfn);
  if (!page.Test(PG_anon) || page.Test(PG_ksm) || page.Test(PG_locked))
    return false;
  // try_to_merge_one_page(): split_huge_page(), which a pinned folio refuses.
  if (!SplitFolio(pfn, true) || !WriteProtectPage(vma, addr, pfn)) return false;
  if (!kpfn) {
    PromoteToKsmPage(pfn);
    return true;
  }
  if (Frame(kpfn).content != page.content) return false;  // pages_identical()
  ReplacePage(vma, addr, kpfn);
  return true;
}

// try_to_merge_with_ksm_page().
bool Kernel::TryToMergeWithKsmPage(RmapItem& item, Pfn pfn, Pfn kpfn) {
  Vma* vma = FindMergeableVma(item.slot->mm, item.address);
  return vma && TryToMergeOnePage(*vma, item.address, pfn, kpfn);
}

// try_to_merge_two_pages(): the page of `item` becomes the KSM page and
// replaces the tree item's page.
StableNode* Kernel::TryToMergeTwoPages(RmapItem& item, Pfn pfn,
                                       RmapItem& tree_item, Pfn tree_pfn) {
  if (!TryToMergeWithKsmPage(item, pfn, 0)) return nullptr;
  if (TryToMergeWithKsmPage(tree_item, tree_pfn, pfn)) {
    StableNode& node = ksm_.NodeOf(Frame(pfn));
    ksm_.StableTreeLink(node);  // stable_tree_insert()
    return &node;
  }
  // break_cow(): the twin refused (pinned); undo our side.
  Mm* mm = item.slot->mm;
  if (Vma* vma = FindMergeableVma(mm, item.address))
    (void)BreakKsm(*mm, *vma, item.address);
  return nullptr;
}

// unstable_tree_search_insert(): the item whose page has this page's
// content, or nullptr after inserting this item.
RmapItem* Kernel::UnstableTreeSearchInsert(RmapItem& item, Pfn pfn,
                                           Pfn* tree_pfn) {
  uint64_t content = Frame(pfn).content;
  if (RmapItem* twin = ksm_.UnstableTreeFind(content)) {
    Pfn tp = GetMergeablePage(*twin);
    if (tp == pfn) return nullptr;  // the same page, found again
    if (tp && Frame(tp).content == content && !Frame(tp).Test(PG_ksm)) {
      *tree_pfn = tp;
      return twin;
    }
  }
  ksm_.UnstableTreeInsert(item, content);
  return nullptr;
}

// try_to_merge_with_zero_page(): with use_zero_pages, a page whose
// checksum is the empty page's is replaced by the zero page itself, its
// PTE marked dirty (a KSM zero page); true if done (or the vma is gone).
bool Kernel::TryToMergeWithZeroPage(RmapItem& item, Pfn pfn) {
  if (!opts_.ksm_use_zero_pages || item.oldchecksum != 0) return false;
  Vma* vma = FindMergeableVma(item.slot->mm, item.address);
  if (!vma) return true;
  Page& page = Frame(pfn);
  if (!page.Test(PG_anon) || page.Test(PG_locked)) return false;
  if (!SplitFolio(pfn, true) ||  // try_to_merge_one_page(): split_huge_page()
      !WriteProtectPage(*vma, item.address, pfn) || page.content != 0)
    return false;
  Pte& pte = *vma->mm->pt.Find(item.address);
  ZapPte(*vma, item.address, pte);
  pte = Pte::Present(kZeroPfn, false, true, true);  // pte_mkdirty(special)
  return true;
}

// cmp_and_merge_page().
void Kernel::CmpAndMergePage(Pfn pfn, RmapItem& item) {
  Page& page = Frame(pfn);
  StableNode* node = page.Test(PG_ksm) ? &ksm_.NodeOf(page) : nullptr;
  StableNode* knode = node;  // a KSM page forked: it joins its own node,
                             // over max_page_sharing if need be
  if (node) {
    if (item.head == node) return;
  } else {
    ksm_.RemoveRmapItemFromTree(item);
    uint64_t checksum = page.content;  // calc_checksum()
    if (item.oldchecksum != checksum) {
      item.oldchecksum = checksum;  // changing, or new: wait a pass
      return;
    }
    if (TryToMergeWithZeroPage(item, pfn)) return;
    knode = ksm_.StableTreeSearch(page.content);
  }
  ksm_.RemoveRmapItemFromTree(item);
  if (knode) {
    if (TryToMergeWithKsmPage(item, pfn, knode->kpfn))
      ksm_.StableTreeAppend(item, *knode);
    return;
  }
  Pfn tree_pfn = 0;
  RmapItem* tree_item = UnstableTreeSearchInsert(item, pfn, &tree_pfn);
  if (!tree_item) return;
  if (StableNode* n = TryToMergeTwoPages(item, pfn, *tree_item, tree_pfn)) {
    ksm_.RemoveRmapItemFromTree(*tree_item);
    ksm_.StableTreeAppend(*tree_item, *n);
    ksm_.StableTreeAppend(item, *n);
  }
}

// ---------------------------------------------------------------------------
// The scanner (ksm_do_scan, scan_get_next_rmap_item).

// The next anonymous page of the cursor's mm from scan.address on, in a
// VM_MERGEABLE vma; nullptr at the end of the mm.
RmapItem* Kernel::ScanMm(MmSlot& slot, Pfn* out) {
  Ksm::Scan& scan = ksm_.scan();
  Mm& mm = *slot.mm;
  for (Vma* vma = mm.FindVma(scan.address); vma; vma = mm.Next(*vma)) {
    if (!(vma->flags & VM_MERGEABLE)) continue;
    if (scan.address < vma->start) scan.address = vma->start;
    if (!vma->anon_vma) scan.address = vma->end;
    while (scan.address < vma->end) {
      uint64_t addr = scan.address;
      scan.address += kPageSize;
      Pte pte = mm.pt.Get(addr);
      if (!pte.present() || pte.pfn() == kZeroPfn ||
          !Frame(pte.pfn()).Test(PG_anon))
        continue;
      *out = pte.pfn();
      return &ksm_.GetNextRmapItem(slot, addr);
    }
  }
  return nullptr;
}

RmapItem* Kernel::ScanGetNextRmapItem(Pfn* out) {
  Ksm::Scan& scan = ksm_.scan();
  if (ksm_.slots().empty()) return nullptr;
  if (scan.cursor == ksm_.slots().end()) ksm_.StartPass();
  for (;;) {
    MmSlot& slot = **scan.cursor;
    if (slot.mm) {
      if (RmapItem* item = ScanMm(slot, out)) return item;
    } else {
      scan.address = 0;  // exited: every rmap_item goes
      scan.rmap_pos = 0;
    }
    ksm_.RemoveTrailingRmapItems(slot);
    if (scan.address == 0) {
      ksm_.DropCursorSlot();  // no VM_MERGEABLE vma left
    } else {
      ++scan.cursor;
    }
    scan.address = 0;
    scan.rmap_pos = 0;
    if (scan.cursor == ksm_.slots().end()) {
      scan.seqnr++;  // full_scans
      return nullptr;
    }
  }
}

// ksm_do_scan(): up to `pages` pages; a batch ends early at the end of a
// pass, as ksmd's does.
bool Kernel::KsmDoScan(uint64_t pages) {
  for (uint64_t i = 0; i < pages; ++i) {
    Pfn pfn = 0;
    RmapItem* item = ScanGetNextRmapItem(&pfn);
    if (!item) return false;
    CmpAndMergePage(pfn, *item);
  }
  return true;
}

Errno Kernel::KsmScan(uint64_t pages) {
  KsmDoScan(pages);
  return Errno::kOk;
}

// `* ksm full`: passes until one changes nothing, at least two (what
// rmaplab native waits for: full_scans advanced twice and pages_shared,
// pages_sharing, pages_unshared as after the pass before).
Errno Kernel::KsmFull() {
  using Sample = std::tuple<uint64_t, uint64_t, uint64_t>;
  auto sample = [&] {
    return Sample{ksm_.pages_shared(), ksm_.pages_sharing(),
                  ksm_.pages_unshared()};
  };
  Sample last = sample();
  // ksmd's own bound is time (rmaplab native gives up after 60 s).
  constexpr int kMaxPasses = 1000;
  for (int passes = 1; !ksm_.slots().empty() && passes <= kMaxPasses;
       ++passes) {
    KsmDoScan(UINT64_MAX);  // to the end of this pass
    Sample now = sample();
    if (passes >= 2 && now == last) break;
    last = now;
  }
  return Errno::kOk;
}

}  // namespace rmaplab
