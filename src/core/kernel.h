// kernel.h: the model kernel: physical memory, processes, shmem objects and
// the operations of the trace format, with one reverse-map design plugged in.
//
// The code is split like mm/: vma.cc (mm/vma.c, mm/mmap.c, mm/mprotect.c,
// mm/madvise.c), memory.cc (mm/memory.c: faults, zap, fork copy),
// mremap.cc (mm/mremap.c), fork.cc (kernel/fork.c, kernel/exit.c and the
// mm/gup.c pins), report.cc (maps, pagemap, stats), ksm.cc (mm/ksm.c).
//
// Invariants (checked by CheckInvariants() in check/invariants.cc):
//  (1) the page, Mm and shmem invariants of page.h and mm.h;
//  (2) every PTE mapping an anonymous page is found by walking the reverse
//      map from that page, and the walk yields no PTE that does not map it;
//  (3) after every op, every allocated frame is referenced by a PTE, a
//      shmem object, a pin or the swap cache (no leak).
#ifndef RMAPLAB_CORE_KERNEL_H_
#define RMAPLAB_CORE_KERNEL_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ksm.h"
#include "core/mm.h"
#include "core/page.h"
#include "core/swap.h"
#include "core/thp.h"
#include "rmap/rmap.h"
#include "rmaplab/output.h"
#include "rmaplab/sim.h"
#include "rmaplab/stats.h"
#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab {

// Counters of the `stats` op that the core keeps (the design keeps its own
// in RmapStats).
struct KernelStats {
  uint64_t page_faults = 0;
  uint64_t cow_copies = 0;      // pages copied by a COW write fault
  uint64_t cow_reuses = 0;      // COW faults that reused the page in place
  uint64_t zero_page_maps = 0;  // read faults answered with the zero page
  uint64_t fork_copies = 0;     // pinned pages copied eagerly at fork
  uint64_t fork_ptes = 0;       // PTEs copied at fork
  uint64_t forks = 0;
  uint64_t exits = 0;
  uint64_t rmap_walks = 0;
  uint64_t rmap_walk_steps = 0;
  uint64_t wasted_pages = 0;  // pages copied only to keep the rmap tractable
  uint64_t vma_merges = 0;
  uint64_t vma_splits = 0;
  uint64_t pswpin = 0;         // pages read from swap
  uint64_t pswpout = 0;        // pages written to swap
  uint64_t pgscan = 0;         // pages reclaim looked at
  uint64_t pgsteal = 0;        // pages reclaim freed
  uint64_t pgactivate = 0;     // pages reclaim moved to the active list
  uint64_t reclaim_walks = 0;  // rmap walks done by reclaim
  uint64_t reclaim_steps = 0;  // their steps
  uint64_t swapoff_ptes = 0;  // swap PTEs swapoff found by scanning page tables
  uint64_t swapoff_pte_slots = 0;      // PTE slots that scan read to find them
  int64_t swapoff_object_visits = -1;  // the anon-inode alternative (-1: n/a)
  uint64_t swapoff_pages = 0;          // pages swapoff brought back
  uint64_t oom_kills = 0;
  uint64_t pgmigrate_success = 0;
  uint64_t pgmigrate_fail = 0;  // pinned or otherwise held pages
  uint64_t migrate_walks = 0;   // rmap walks done by migration
  uint64_t migrate_steps = 0;
  // /proc/vmstat's THP events and hugepages-<SIZE>/stats, by folio order.
  uint64_t thp_fault_alloc = 0;
  uint64_t thp_fault_fallback = 0;
  uint64_t thp_split_pmd = 0;
  uint64_t thp_split_page = 0;
  uint64_t thp_deferred_split_page = 0;
  uint64_t thp_collapse_alloc = 0;
  uint64_t thp_swpout = 0;
  uint64_t thp_swpout_fallback = 0;
  uint64_t anon_fault_alloc[kPmdOrder + 1] = {};
  uint64_t anon_fault_fallback[kPmdOrder + 1] = {};
};

// What Linux keeps in a large folio beyond its pages (struct folio's
// _entire_mapcount, _large_mapcount, _mm_id[2] with _mm_id_mapcount[2] and
// the maybe-mapped-shared bit, the deferred-split queue), for large folios
// only, keyed by head pfn.  Counts are real counts (Linux stores them
// minus one); an mm_id is the mm's pid, 0 a free slot (MM_ID_DUMMY).
struct FolioInfo {
  int32_t entire_mapcount = 0;  // PMD mappings
  int32_t large_mapcount = 0;   // PTE mappings + PMD mappings
  uint32_t mm_id[2] = {0, 0};
  int32_t mm_id_mapcount[2] = {0, 0};
  bool maybe_mapped_shared = false;  // FOLIO_MM_IDS_SHARED_BIT
  bool partially_mapped = false;     // on the deferred split queue as such
  int32_t pincount = 0;  // _pincount: FOLL_PIN pins on its pages (fork.cc)
};

inline constexpr int kMaxMapCount = 65530;  // vm.max_map_count

class Kernel {
 public:
  Kernel(std::unique_ptr<ReverseMap> rmap, const SimOptions& opts);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // --- processes ---
  Mm* FindMm(uint32_t pid);
  const std::map<uint32_t, std::unique_ptr<Mm>>& processes() const {
    return procs_;
  }
  Errno Fork(Mm& parent, uint32_t child_pid);
  void Exit(Mm& mm);
  // execve(2)'s exec_mmap(): the old mm is torn down as at exit and the pid
  // gets a new, empty mm with no fork relation to any other (the design
  // sees MmExit, then MmInit).
  void Exec(Mm& mm);

  // --- address space ops (Linux syscall semantics) ---
  Errno Mmap(Mm& mm, uint64_t addr, uint64_t len, int prot, bool shared);
  Errno Munmap(Mm& mm, uint64_t addr, uint64_t len);
  Errno Mprotect(Mm& mm, uint64_t addr, uint64_t len, int prot);
  Errno Mremap(Mm& mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
               bool fixed, uint64_t new_addr);
  Errno Madvise(Mm& mm, uint64_t addr, uint64_t len, Advice advice);

  // --- accesses: one page each ---
  Errno ReadPage(Mm& mm, uint64_t addr);
  Errno WritePage(Mm& mm, uint64_t addr, uint64_t value);
  Errno PinPages(Mm& mm, uint64_t addr, uint64_t len);
  Errno UnpinPages(Mm& mm, uint64_t addr, uint64_t len);
  Errno DmaWrite(Mm& mm, uint64_t addr, uint64_t len, uint64_t value);

  // --- memory pressure (vmscan.cc, swapfile.c) ---
  // Tries to free `nr` pages from the inactive list; returns how many.
  uint64_t Reclaim(uint64_t nr);
  // try_to_unuse(): every swapped page back in; the device stays on.
  Errno Swapoff();  // ENOMEM if memory ran out before every page was back
  // The OOM killer: kills the process with the largest resident + swap
  // footprint; returns its pid, 0 if there is none.
  uint32_t OomKill();

  // move_pages(2) for [addr, addr+len) of mm: every page mapped there moves
  // to NUMA node `node` with all its mappings (migrate.cc).  ENODEV if the
  // node does not exist, EBUSY if a page could not move (after the others
  // moved), ENOMEM if memory ran out; untouched and zero pages are skipped.
  Errno MigratePages(Mm& mm, uint64_t addr, uint64_t len, int node);

  // --- KSM (ksm.cc) ---
  // `* ksm PAGES`: ksmd visits up to PAGES pages (one batch).
  Errno KsmScan(uint64_t pages);
  // `* ksm full`: full passes until one changes nothing, at least two.
  Errno KsmFull();
  const Ksm& ksm() const { return ksm_; }

  // --- transparent huge pages (huge_memory.cc) ---
  // `* thp SIZE MODE`: the policy of folio order `order`; later faults use it.
  void SetThp(int order, ThpMode mode) { thp_.Set(order, mode); }
  const ThpPolicy& thp() const { return thp_; }
  // The side table of every large folio (FolioInfo), by head pfn.
  const std::unordered_map<Pfn, FolioInfo>& folios() const { return folios_; }
  // folio_maybe_mapped_shared() of the large folio headed by `head`.
  bool FolioMaybeMappedShared(Pfn head) const {
    return folios_.at(head).maybe_mapped_shared;
  }
  // folio_maybe_dma_pinned() of the folio holding `pfn`: _pincount > 0 for
  // a large folio, refcount >= GUP_PIN_COUNTING_BIAS for a small one.  The
  // one question fork, reclaim, KSM, migration and split ask about pins.
  bool FolioMaybeDmaPinned(Pfn pfn) const {
    const Page& page = Frame(pfn);
    if (!page.large()) return page.MaybeDmaPinned();
    return folios_.at(FolioHead(pfn)).pincount > 0;
  }
  // folio_ref_count() as Linux counts it (mm_types.h, "Folios").
  int64_t FolioRefCount(Pfn head) const;
  // rmap_walk() of the folio headed by `head`: fn(vma, addr, pte) for each
  // PTE mapping one of its pages, each once; returns the walk's candidate
  // ranges, its cost in *cost (the caller decides whether it counts).
  template <typename Fn>
  uint64_t RmapWalkFolio(Pfn head, Fn&& fn, WalkCost* cost = nullptr) const;

  // --- looking without touching ---
  // What the process would read at addr; EFAULT if it is not mapped.
  Errno Peek(const Mm& mm, uint64_t addr, uint64_t* value) const;
  PagemapEntry PagemapOf(const Mm& mm, uint64_t addr) const;
  std::vector<MapsEntry> Maps(const Mm& mm) const;
  rmaplab::Stats Stats() const;

  // --- the reverse map, for its clients and the checker ---
  // rmap_walk(): fn(vma, addr, pte) for each mapping of anonymous page
  // `pfn` (a KSM page's through its stable node); stops when fn returns
  // false.  `count` false: KSM's own bookkeeping, not a walk Linux does.
  template <typename Fn>
  void RmapWalk(Pfn pfn, bool count, Fn&& fn);
  // The same walk for the checker: changes nothing and counts nothing.
  template <typename Fn>
  void RmapWalk(Pfn pfn, Fn&& fn) const;

  // --- state, for the checker and reports ---
  Pfn frame_count() const { return frames_; }  // pfns in [0, frame_count())
  const Page& page(Pfn pfn) const { return Frame(pfn); }
  uint64_t free_frames() const { return free_.size() + free_block_frames_; }
  const std::unordered_map<uint32_t, std::unique_ptr<ShmemObject>>& shmem()
      const {
    return shmem_;
  }
  ReverseMap& rmap() { return *rmap_; }
  const ReverseMap& rmap() const { return *rmap_; }
  const KernelStats& stats() const { return stats_; }
  uint64_t resident_pages() const { return resident_; }
  const SwapArea& swap() const { return swap_; }
  const Lru& lru() const { return lru_; }
  const std::string& last_message() const { return message_; }

 private:
  friend class KernelTestPeer;

  // fork.cc: exit_mmap(), shared by Exit and Exec; one pin taken and
  // dropped (try_grab_folio(FOLL_PIN), gup_put_folio()).
  void ExitMmap(Mm& mm);
  void PinPage(Pfn pfn);
  void UnpinPage(Pfn pfn);

  // physmem.cc
  // A free frame, or kNoFrame; under memory pressure after direct reclaim.
  static constexpr Pfn kNoFrame = kZeroPfn;  // never handed out
  Pfn AllocPage();
  void GrowFrames(Pfn last);
  // A naturally aligned block of 2^order frames (order > 0), or kNoFrame
  // when memory is short (no reclaim for it: the fault falls back).
  Pfn AllocFolioFrames(int order);
  void FreeFolio(Pfn head);
  // A new anonymous page at (vma, addr): exclusive, on the LRU, in the rmap,
  // mapcount 1.  The caller installs the PTE.
  Errno NewAnonPage(Mm& mm, Vma& vma, uint64_t addr, uint64_t content,
                    Pfn* out);
  // anon_vma_prepare(): the vma gets its anonymous object before its first
  // anonymous page.
  void AnonVmaPrepare(Mm& mm, Vma& vma) {
    if (!vma.anon_vma) rmap_->AnonVmaPrepare(vma, mm.Prev(vma), mm.Next(vma));
  }
  void GetPage(Pfn pfn) { Frame(pfn).refcount++; }
  void PutPage(Pfn pfn);
  void FreePage(Pfn pfn);

  // vma.cc: VMA tree and merge rules (mm/vma.c)
  Vma* InsertVma(Mm& mm, std::unique_ptr<Vma> vma);
  std::unique_ptr<Vma> DetachVma(Mm& mm, Vma& vma);
  void RemoveVma(Mm& mm, Vma& vma);
  void SetRange(Mm& mm, Vma& vma, uint64_t start, uint64_t end, uint64_t pgoff);
  Errno SplitVma(Mm& mm, Vma& vma, uint64_t addr, bool check_map_count);
  // struct vma_merge_struct.
  struct MergeArgs {
    Vma* prev = nullptr;
    Vma* middle = nullptr;  // the vma being modified (existing range)
    Vma* next = nullptr;
    Vma* copied_from = nullptr;  // mremap's source vma
    uint64_t start = 0, end = 0, pgoff = 0;
    uint32_t flags = 0;
    ShmemObject* file = nullptr;
    void* anon_vma = nullptr;
    bool just_expand = false;
  };
  bool IsMergeableAnonVma(const MergeArgs& m, const Vma& tgt) const;
  bool CanMergeAfter(const MergeArgs& m) const;
  bool CanMergeBefore(const MergeArgs& m) const;
  bool CanMergeRight(const MergeArgs& m, bool can_merge_left) const;
  Vma* MergeNewRange(Mm& mm, MergeArgs& m);
  Vma* MergeExistingRange(Mm& mm, MergeArgs& m);
  void DupAnonVma(Vma& dst, Vma& src);
  Result<Vma*> VmaModifyFlags(Mm& mm, Vma* prev, Vma& vma, uint64_t start,
                              uint64_t end, uint32_t flags);
  Errno DoMunmap(Mm& mm, uint64_t start, uint64_t end);
  void UnmapVma(Mm& mm, Vma& vma);
  Errno MprotectFixup(Mm& mm, Vma& vma, Vma** pprev, uint64_t start,
                      uint64_t end, uint32_t newflags);
  template <typename Visit>
  Errno MadviseWalk(Mm& mm, uint64_t start, uint64_t end, Visit&& visit);
  Errno MadviseFlags(Mm& mm, Vma& vma, Vma** pprev, uint64_t start,
                     uint64_t end, Advice advice);

  // ksm.cc: KSM (mm/ksm.c)
  Errno KsmMadvise(Mm& mm, Vma& vma, uint64_t start, uint64_t end,
                   Advice advice, uint32_t* flags);
  Errno UnmergeKsmPages(Mm& mm, Vma& vma, uint64_t start, uint64_t end);
  Errno BreakKsm(Mm& mm, Vma& vma, uint64_t addr);
  Vma* FindMergeableVma(Mm* mm, uint64_t addr) const;
  Pfn GetMergeablePage(const RmapItem& item) const;
  bool WriteProtectPage(Vma& vma, uint64_t addr, Pfn pfn);
  StableNode& PromoteToKsmPage(Pfn pfn);
  void ReplacePage(Vma& vma, uint64_t addr, Pfn kpfn);
  bool TryToMergeOnePage(Vma& vma, uint64_t addr, Pfn pfn, Pfn kpfn);
  bool TryToMergeWithKsmPage(RmapItem& item, Pfn pfn, Pfn kpfn);
  StableNode* TryToMergeTwoPages(RmapItem& item, Pfn pfn, RmapItem& tree_item,
                                 Pfn tree_pfn);
  RmapItem* UnstableTreeSearchInsert(RmapItem& item, Pfn pfn, Pfn* tree_pfn);
  bool TryToMergeWithZeroPage(RmapItem& item, Pfn pfn);
  void CmpAndMergePage(Pfn pfn, RmapItem& item);
  RmapItem* ScanMm(MmSlot& slot, Pfn* out);
  RmapItem* ScanGetNextRmapItem(Pfn* out);
  bool KsmDoScan(uint64_t pages);  // false: the pass ended
  // The rmap hooks for a page that may be a KSM page (folio_*_rmap_pte).
  void FolioAddAnonRmapPte(Pfn pfn, Page& page, Vma& vma, uint64_t addr);
  void FolioDupAnonRmapPte(Pfn pfn, Page& page, Vma& vma, uint64_t addr);
  void FolioRemoveRmapPte(Pfn pfn, Page& page, Vma& vma, uint64_t addr);
  void KsmMovePte(Page& page, Vma& from, uint64_t old_addr, Vma& to,
                  uint64_t new_addr);
  // ksm_might_need_to_copy() for swap-in of `slot` through page `pfn`.
  bool KsmNeedsCopy(uint64_t slot, Pfn pfn) const;
  Result<Pfn> KsmCopySwapPage(Mm& mm, Vma& vma, uint64_t addr, Pfn cached);

  // huge_memory.cc: large folios.
  // The fault at addr (PTE none) as a large folio or the huge zero page if
  // the policy and the page table allow one; *done false: map 4 KiB.
  Errno LargeAnonFault(Mm& mm, Vma& vma, uint64_t addr, bool write, bool* done);
  Errno NewAnonFolio(Mm& mm, Vma& vma, uint64_t haddr, int order, bool pmd);
  void MapNewAnonFolio(Mm& mm, Vma& vma, uint64_t haddr, int order, bool pmd,
                       Pfn head);
  // do_huge_pmd_wp_page(): *done false: the PMD was split, COW the PTE.
  Errno HugePmdWpFault(Mm& mm, Vma& vma, uint64_t addr, bool* done);
  bool WpCanReuseLargeFolio(Pfn head) const;
  void ZapHugePmd(Vma& vma, uint64_t haddr);
  // copy_huge_pmd(): false (-EAGAIN) when the folio may be pinned: the
  // source PMD was split, copy its range by PTEs.
  bool CopyHugePmd(Vma& dst, Vma& src, uint64_t haddr);
  // __split_huge_pmd() of the PMD mapping at haddr; `count`: thp_split_pmd.
  void SplitHugePmd(Mm& mm, uint64_t haddr, bool count = true);
  // Splits the PMD mapping around addr unless addr is 2 MiB aligned.
  void SplitHugePmdAt(Mm& mm, uint64_t addr);
  // Makes the 512 PTEs at haddr, if they map one 2 MiB folio in order, a
  // PMD mapping again (mremap's PMD move, done PTE by PTE).
  void RefoldHugePmd(Mm& mm, uint64_t haddr);
  // split_folio(): the folio holding pfn becomes 4 KiB folios (its PMD
  // mappings split first); pages nothing maps are freed; remap_zero: the
  // mappings of zero-filled pages become the shared zero page, as Linux's
  // split does (a caller holding on to pfn passes false).  False, and
  // nothing changed, for a folio that may be pinned (can_split_folio).
  bool SplitFolio(Pfn pfn, bool remap_zero);
  // folio_activate() of every page of the folio holding pfn (reclaim's
  // activate_locked for a folio it may not split).
  // A counted rmap walk of a folio (RmapWalkFolio's steps and cost).
  bool UnmapLeavesPartlyMapped(Pfn head) const;
  void AccountFolioWalk(uint64_t steps, const WalkCost& cost);
  Pfn FolioHead(Pfn pfn) const {
    return pfn & ~((Pfn{1} << Frame(pfn).order()) - 1);
  }
  // The large-mapcount and mm_id bookkeeping of __folio_add_rmap and
  // __folio_remove_rmap (folio_add/sub_return_large_mapcount).
  void FolioAddMapcount(Pfn head, const Mm& mm, int diff);
  void FolioSubMapcount(Pfn head, const Mm& mm, int diff);
  // A PTE mapping of `pfn` (page of a large folio) went away.
  void FolioPteUnmapped(Pfn pfn, const Mm& mm);
  void DeferredSplitScan();
  Errno MadviseCollapse(Mm& mm, Vma& vma, uint64_t start, uint64_t end);
  bool CollapseAllowed(const Vma& vma) const;
  Errno CollapseHugePage(Mm& mm, Vma& vma, uint64_t haddr);

  // memory.cc: faults and PTE teardown (mm/memory.c)
  Errno HandleFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte** out);
  Errno AnonFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte);
  Errno WpFault(Mm& mm, Vma& vma, uint64_t addr, Pte& pte);
  Errno ShmemFault(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte);
  void ShmemFaultAround(Mm& mm, Vma& vma, uint64_t addr);
  Errno CheckAccess(const Vma* vma, uint64_t addr, bool write) const;
  void ZapPte(Vma& vma, uint64_t addr, Pte& pte);
  void ZapRange(Mm& mm, Vma& vma, uint64_t start, uint64_t end);
  Errno CopyPageRange(Vma& dst, Vma& src);
  void ChangeProtection(Mm& mm, Vma& vma, uint64_t start, uint64_t end);
  int SwapInOrder(Mm& mm, const Vma& vma, uint64_t addr, const Pte& pte);
  bool SwapInFolio(Mm& mm, Vma& vma, uint64_t addr, bool write, int order);
  Errno SwapIn(Mm& mm, Vma& vma, uint64_t addr, bool write, Pte& pte);

  // swapfile.cc: swap slots and the swap cache
  void SwapFree(uint64_t slot);          // one reference gone
  void FreeSwapAndCache(uint64_t slot);  // a zapped swap PTE
  bool AddToSwapCache(Pfn pfn);          // folio_alloc_swap(): whole folio
  void DeleteFromSwapCache(Pfn pfn);     // drops the cache reference
  bool FolioFreeSwap(Pfn pfn);           // folio_free_swap()
  Result<Pfn> ReadSwapPage(uint64_t slot, bool* fresh);
  void UnuseShmem(ShmemObject& obj);

  // The walk both RmapWalks share: returns the candidates visited.
  template <typename Fn>
  uint64_t WalkMappings(Pfn pfn, WalkCost& cost, Fn&& fn) const;

  // migrate.cc
  struct Migration;
  // Moves the folio headed by `head` whole; MigrateSplitFolio splits it
  // first (its target could not be allocated).
  Errno MigrateFolio(Pfn head, int node);
  Errno MigrateSplitFolio(Pfn head, int node);
  bool MigrationBusy(Pfn head, int nr) const;
  void MigrationMappings(Migration& m);
  void MigrationNewFolio(Migration& m, int node);
  void MigrationAddRmap(Migration& m, size_t map, std::vector<bool>& has);
  void TryToMigrate(Migration& m);
  void FolioMigrateMapping(Migration& m);
  void RemoveMigrationPtes(Migration& m);
  std::vector<std::pair<Vma*, uint64_t>> Mappings(Pfn pfn, uint64_t* walks,
                                                  uint64_t* steps);

  // vmscan.cc: reclaim by folio (`head` a folio's head, 4 KiB or large);
  // pages a split leaves go to *split, isolated, for the caller.
  enum class ShrinkResult { kReclaimed, kActivate, kKeep };
  ShrinkResult ShrinkFolio(Pfn head, bool ignore_references,
                           std::vector<Pfn>* split);
  int PageReferenced(Pfn head);
  bool TryToUnmap(Pfn pfn, uint64_t slot);
  void TryToUnmapFolio(Pfn head, uint64_t first_slot);
  std::vector<std::pair<Vma*, uint64_t>> FolioMappings(
      Pfn head, uint64_t* walks = nullptr, uint64_t* steps = nullptr);
  bool FolioMapped(Pfn head) const;
  bool FolioAnyPage(Pfn head, bool (*test)(const Page&)) const;
  void SplitIsolated(Pfn head, bool remap_zero, std::vector<Pfn>* split);
  bool FolioToSwapCache(Pfn head, std::vector<Pfn>* split);
  ShrinkResult PageoutFolio(Pfn head, std::vector<Pfn>* split);
  Pfn IsolateFolio(Pfn pfn);
  void PutbackFolio(Pfn head, Lru::List list);
  uint64_t ShrinkIsolated(Pfn head, bool ignore_references);
  void ShrinkActiveList(uint64_t nr);
  void ColdPageoutBlock(Mm& mm, uint64_t start, uint64_t end,
                        std::vector<Pfn>* victims);
  Errno MadvisePageout(Mm& mm, Vma& vma, uint64_t start, uint64_t end,
                       bool pageout);
  // mremap.cc
  Errno MremapMoveOnly(Mm& mm, uint64_t addr, uint64_t len, uint64_t new_addr);
  Errno MremapTo(Mm& mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
                 uint64_t new_addr);
  Errno MremapExpandInPlace(Mm& mm, Vma& vma, uint64_t addr, uint64_t old_len,
                            uint64_t new_len);
  Errno MoveVma(Mm& mm, Vma& vma, uint64_t old_addr, uint64_t old_len,
                uint64_t new_len, uint64_t new_addr);
  Result<Vma*> CopyVma(Mm& mm, Vma& vma, uint64_t addr, uint64_t len,
                       uint64_t pgoff);
  void MovePageTables(Mm& mm, Vma& from, uint64_t old_addr, Vma& to,
                      uint64_t new_addr, uint64_t len);
  bool MoveNeedsCopy(Vma& from, uint64_t a, Vma& to, uint64_t na, Pte pte);
  // The data behind a swap slot (its swap-cache page's, if any).
  uint64_t SwapContent(uint64_t slot) const;

  // shmem
  ShmemObject* NewShmem(uint64_t pages);
  void ShmemLink(Vma& vma);
  void ShmemUnlink(Vma& vma);

  std::unique_ptr<ReverseMap> rmap_;
  SimOptions opts_;
  // Frames in chunks, so that a Page& stays valid when memory grows.
  static constexpr int kChunkShift = 16;
  Page& Frame(Pfn pfn) const {
    return chunks_[pfn >> kChunkShift][pfn & ((1u << kChunkShift) - 1)];
  }
  std::vector<std::unique_ptr<Page[]>> chunks_;  // frame 0 is the zero page
  Pfn frames_ = 0;
  std::vector<Pfn> free_;
  std::vector<Pfn> free_blocks_[kPmdOrder + 1];  // free aligned blocks by order
  uint64_t free_block_frames_ = 0;
  std::unordered_map<Pfn, FolioInfo> folios_;  // large folios only
  uint64_t resident_ = 0;                      // allocated frames
  SwapArea swap_;
  bool swapoff_running_ =
      false;  // no new slots while swapoff empties the device
  Lru lru_;
  std::map<uint32_t, std::unique_ptr<Mm>> procs_;
  std::unordered_map<uint32_t, std::unique_ptr<ShmemObject>> shmem_;
  uint32_t next_shmem_id_ = 1;
  KernelStats stats_;
  Ksm ksm_{opts_.ksm_max_page_sharing};
  ThpPolicy thp_;
  std::string message_;
};

template <typename Fn>
uint64_t Kernel::WalkMappings(Pfn pfn, WalkCost& cost, Fn&& fn) const {
  const Page& page = Frame(pfn);
  uint64_t steps = 0;
  auto rmap_one = [&](Vma& vma, uint64_t addr) -> bool {
    steps++;
    Pte* pte = vma.mm->pt.Find(addr);
    if (!pte || !pte->present() || pte->pfn() != pfn) {
      cost.wasted_steps++;
      return true;
    }
    return fn(vma, addr, *pte);
  };
  // rmap_walk(): a KSM page's mappings are its stable node's (rmap_walk_ksm).
  if (page.Test(PG_ksm))
    ksm_.Walk(page, rmap_one, &cost.wasted_steps);
  else
    rmap_->Walk(pfn, page, rmap_one, cost);
  return steps;
}

template <typename Fn>
void Kernel::RmapWalk(Pfn pfn, bool count, Fn&& fn) {
  WalkCost cost;
  uint64_t steps = WalkMappings(pfn, cost, fn);
  if (!count) return;
  stats_.rmap_walks++;
  stats_.rmap_walk_steps += steps;
  rmap_->AccountWalk(cost);
}

template <typename Fn>
uint64_t Kernel::RmapWalkFolio(Pfn head, Fn&& fn, WalkCost* cost) const {
  int nr = 1 << Frame(head).order();
  std::set<std::pair<const Vma*, uint64_t>> seen;
  WalkCost local;
  uint64_t ranges = 0;
  rmap_->WalkFolio(
      head, &Frame(head), nr,
      [&](Vma& vma, uint64_t start, uint64_t end) {
        ranges++;
        bool go = true, hit = false;
        for (uint64_t a = start; a < end && go; a += kPageSize) {
          Pte* pte = vma.mm->pt.Find(a);
          if (!pte || !pte->present() || pte->pfn() < head ||
              pte->pfn() >= head + nr)
            continue;
          hit = true;
          if (!seen.insert({&vma, a}).second) continue;
          go = fn(static_cast<const Vma&>(vma), a,
                  static_cast<const Pte&>(*pte));
        }
        if (!hit) local.wasted_steps++;
        return go;
      },
      local);
  if (cost) *cost = local;
  return ranges;
}

template <typename Fn>
void Kernel::RmapWalk(Pfn pfn, Fn&& fn) const {
  WalkCost cost;
  WalkMappings(pfn, cost, [&](const Vma& vma, uint64_t addr, const Pte& pte) {
    return fn(vma, addr, pte);
  });
}

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_KERNEL_H_
