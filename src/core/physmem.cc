// physmem.cc: frame allocation (the buddy allocator, reduced to a free list)
// and the page reference counting of mm/swap.c (put_page).
//
// Large folios take naturally aligned blocks of 2^order frames; a freed
// one goes back whole to free_blocks_ (the buddy allocator's free areas,
// without merging buddies), which single pages break when free_ is empty.
//
// Invariants:
//  (1) a pfn is on free_ or in a block of free_blocks_ iff its Page is all
//      zero (refcount 0, flags 0) and it belongs to no large folio;
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

// Makes sure the chunk holding frame `last` exists.
void Kernel::GrowFrames(Pfn last) {
  while ((last >> kChunkShift) >= chunks_.size()) {
    chunks_.push_back(std::make_unique<Page[]>(1u << kChunkShift));
    lru_.Grow(static_cast<Pfn>(chunks_.size() << kChunkShift));
  }
}

Pfn Kernel::AllocPage() {
  if (free_.empty() && resident_ >= opts_.mem_pages) Reclaim(kSwapClusterMax);
  if (free_.empty()) {  // break the smallest free block into pages
    for (auto& blocks : free_blocks_) {
      if (blocks.empty()) continue;
      Pfn b = blocks.back();
      blocks.pop_back();
      Pfn nr = Pfn{1} << (&blocks - free_blocks_);
      for (Pfn q = b + nr; q-- > b;) free_.push_back(q);
      free_block_frames_ -= nr;
      break;
    }
  }
  Pfn pfn;
  if (!free_.empty()) {
    pfn = free_.back();
    free_.pop_back();
  } else {
    if (resident_ >= opts_.mem_pages || frames_ == UINT32_MAX) return kNoFrame;
    GrowFrames(frames_);
    pfn = frames_++;
  }
  resident_++;
  return pfn;
}

// A block of 2^order frames: a free block of that order or a larger one
// (split, the rest kept as smaller blocks), else fresh aligned frames.
Pfn Kernel::AllocFolioFrames(int order) {
  Pfn nr = Pfn{1} << order;
  if (resident_ + nr > opts_.mem_pages) return kNoFrame;
  for (int k = order; k <= kPmdOrder; ++k) {
    if (free_blocks_[k].empty()) continue;
    Pfn b = free_blocks_[k].back();
    free_blocks_[k].pop_back();
    for (int j = k - 1; j >= order; --j)
      free_blocks_[j].push_back(b + (Pfn{1} << j));
    free_block_frames_ -= nr;
    resident_ += nr;
    return b;
  }
  uint64_t start = (uint64_t{frames_} + nr - 1) & ~uint64_t{nr - 1};
  if (start + nr > UINT32_MAX) return kNoFrame;
  GrowFrames(static_cast<Pfn>(start + nr - 1));
  for (Pfn q = frames_; q < start; ++q) free_.push_back(q);
  frames_ = static_cast<Pfn>(start + nr);
  resident_ += nr;
  return static_cast<Pfn>(start);
}

// put_page(): a large folio goes when the last of its pages' references
// does (looked for from the page after this one: zaps run in order).
void Kernel::PutPage(Pfn pfn) {
  Page& page = Frame(pfn);
  if (--page.refcount != 0) return;
  if (!page.large()) {
    FreePage(pfn);
    return;
  }
  Pfn head = FolioHead(pfn);
  Pfn nr = Pfn{1} << page.order();
  for (Pfn k = 1; k < nr; ++k)
    if (Frame(head + ((pfn - head + k) & (nr - 1))).refcount) return;
  FreeFolio(head);
}

void Kernel::FreeFolio(Pfn head) {
  int order = Frame(head).order();
  Pfn nr = Pfn{1} << order;
  for (Pfn q = head; q < head + nr; ++q) {
    Page& page = Frame(q);
    if (page.Test(PG_lru)) lru_.Del(page, q);
    std::memset(&page, 0, sizeof(Page));
  }
  folios_.erase(head);
  free_blocks_[order].push_back(head);
  free_block_frames_ += nr;
  resident_ -= nr;
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
