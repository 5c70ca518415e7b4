// physmem.cc: frame allocation (the buddy allocator, reduced to a free list)
// and the page reference counting of mm/swap.c (put_page).
//
// Invariants:
//  (1) a pfn is on free_ iff its Page is all zero (refcount 0, flags 0);
//  (2) resident_ == frames handed out and not yet freed; the zero page
//      (pfn 0) is never handed out.
#include <cstring>

#include "core/kernel.h"

namespace rmaplab {

Kernel::Kernel(std::unique_ptr<ReverseMap> rmap, const SimOptions& opts)
    : rmap_(std::move(rmap)), opts_(opts), swap_(opts.swap_pages) {
  chunks_.push_back(std::make_unique<Page[]>(1u << kChunkShift));
  lru_.Grow(1u << kChunkShift);
  frames_ = 1;  // the zero page
  auto init = std::make_unique<Mm>();
  init->pid = 1;
  rmap_->MmInit(*init);
  procs_.emplace(1, std::move(init));
}

Kernel::~Kernel() {
  // Tear processes down in pid order so designs see a clean exit.
  while (!procs_.empty()) Exit(*procs_.begin()->second);
}

// The batch direct reclaim tries to free (SWAP_CLUSTER_MAX).
static constexpr uint64_t kSwapClusterMax = 32;

Pfn Kernel::AllocPage() {
  if (free_.empty() && resident_ >= opts_.mem_pages) Reclaim(kSwapClusterMax);
  Pfn pfn;
  if (!free_.empty()) {
    pfn = free_.back();
    free_.pop_back();
  } else {
    if (resident_ >= opts_.mem_pages || frames_ == UINT32_MAX) return kNoFrame;
    if ((frames_ >> kChunkShift) >= chunks_.size()) {
      chunks_.push_back(std::make_unique<Page[]>(1u << kChunkShift));
      lru_.Grow(
          static_cast<Pfn>(chunks_.size() << kChunkShift));  // links per chunk
    }
    pfn = frames_++;
  }
  resident_++;
  return pfn;
}

void Kernel::PutPage(Pfn pfn) {
  Page& page = Frame(pfn);
  if (--page.refcount == 0) FreePage(pfn);
}

Errno Kernel::NewAnonPage(Mm& mm, Vma& vma, uint64_t addr, uint64_t content,
                          Pfn* out) {
  AnonVmaPrepare(mm, vma);
  Pfn pfn = AllocPage();
  if (pfn == kNoFrame) return Errno::kENOMEM;
  Page& page = Frame(pfn);
  page.flags = PG_anon | PG_anon_exclusive | PG_dirty;
  page.content = content;
  rmap_->AddNewAnonRmap(pfn, page, vma, addr, true);
  page.mapcount = 1;
  page.refcount = 1;
  lru_.AddHead(page, pfn, Lru::kInactive);
  *out = pfn;
  return Errno::kOk;
}

void Kernel::FreePage(Pfn pfn) {
  Page& page = Frame(pfn);
  if (page.Test(PG_lru)) lru_.Del(page, pfn);
  if (page.Test(PG_ksm)) ksm_.PageFreed(page);
  std::memset(&Frame(pfn), 0, sizeof(Page));
  free_.push_back(pfn);
  resident_--;
}

}  // namespace rmaplab
