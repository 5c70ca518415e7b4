// gen_model.h: the trace generator's shadow model (see rmaplab/gen.h and
// gen.cc): its own page-by-page picture of every live process, kept apart
// from the emitter (gen_emit.h) and from the choice of ops (gen.cc).
//
// For every live process, every mapped page's protection, sharing, fork
// flags, content, and a `seg` tag.  Invariants:
//  (1) Two mapped, adjacent pages with the same seg in one process lie in
//      one VMA.  A new mapping gets a fresh seg; an op that may split VMAs
//      (mprotect, madvise flags, mremap move) gives each old seg of the pages
//      it touches a fresh seg; munmap and moves only remove pages; fork
//      copies the tags (dup_mmap copies VMAs one for one).  The converse does
//      not hold (Linux may merge VMAs of different segs), which is why
//      mremap sources are always one seg run.
//  (2) A private page's content is GPage::value; a shared page's lives in
//      the shmem object (obj, off), so every mapper sees writes at once and
//      MADV_DONTNEED keeps it.
//  (3) Pins never overlap, only cover private writable pages, and the pages
//      under a pin are never munmapped or mremapped (the pin would follow
//      the frame, not the address).  MADV_DONTNEED detaches a pinned page:
//      DMA writes to it are lost from then on (the cow.c case).
//  (4) Shared mappings never grow (touching a shmem object past its size
//      raises SIGBUS, which the trace format cannot express).
// Ranges are half-open, [a, a + len), page aligned.
#ifndef RMAPLAB_TRACE_GEN_MODEL_H_
#define RMAPLAB_TRACE_GEN_MODEL_H_

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "rmaplab/trace.h"

namespace rmaplab::gen {

struct GPage {
  int prot = 0;
  bool shared = false;
  uint64_t obj = 0, off = 0;  // shared: shmem object and page index in it
  bool dontfork = false, wipeonfork = false;
  uint64_t value = 0;   // private content (invariant 2)
  uint64_t seg = 0;     // invariant (1)
  bool pinned = false;  // inside one of the process's pins
};

struct GPin {
  uint64_t addr = 0, len = 0;   // [addr, addr+len)
  std::set<uint64_t> detached;  // pages whose frame left the page table
};

struct GProc {
  std::map<uint64_t, GPage> pages;  // by page address
  std::vector<GPin> pins;
};

class ShadowModel {
 public:
  std::map<uint32_t, GProc>& procs() { return procs_; }
  const std::map<uint32_t, GProc>& procs() const { return procs_; }

  // ---- looking ----
  // [start, end) of the seg run around mapped `addr` (one VMA, inv. 1).
  static std::pair<uint64_t, uint64_t> SegRun(const GProc& proc,
                                              uint64_t addr) {
    uint64_t seg = proc.pages.at(addr).seg;
    uint64_t lo = addr, hi = addr + kPageSize;
    for (auto it = proc.pages.find(lo); it != proc.pages.begin();) {
      --it;
      if (it->first != lo - kPageSize || it->second.seg != seg) break;
      lo = it->first;
    }
    for (auto it = proc.pages.find(hi);
         it != proc.pages.end() && it->first == hi && it->second.seg == seg;
         ++it)
      hi += kPageSize;
    return {lo, hi};
  }
  // [start, end) of the run of mapped pages around mapped `addr`.
  static std::pair<uint64_t, uint64_t> MappedRun(const GProc& proc,
                                                 uint64_t addr) {
    uint64_t lo = addr, hi = addr + kPageSize;
    while (proc.pages.count(lo - kPageSize)) lo -= kPageSize;
    while (proc.pages.count(hi)) hi += kPageSize;
    return {lo, hi};
  }
  static bool AnyMapped(const GProc& proc, uint64_t a, uint64_t len) {
    auto it = proc.pages.lower_bound(a);
    return it != proc.pages.end() && it->first < a + len;
  }
  static bool AnyPinned(const GProc& proc, uint64_t a, uint64_t len) {
    for (const GPin& pin : proc.pins)
      if (pin.addr < a + len && a < pin.addr + pin.len) return true;
    return false;
  }
  static bool AnyShared(const GProc& proc, uint64_t a, uint64_t len) {
    for (auto it = proc.pages.lower_bound(a);
         it != proc.pages.end() && it->first < a + len; ++it)
      if (it->second.shared) return true;
    return false;
  }
  // What a process reads at `page` (invariant 2).
  uint64_t& Content(GPage& page) {
    return page.shared ? shm_[{page.obj, page.off}] : page.value;
  }

  // ---- changing ----
  // A new mapping [a, a+len) with a fresh seg (and object, if shared).
  void Map(GProc& proc, uint64_t a, uint64_t len, int prot, bool shared) {
    uint64_t seg = next_seg_++, obj = shared ? next_obj_++ : 0;
    for (uint64_t i = 0; i < len / kPageSize; ++i) {
      GPage& page = proc.pages[a + i * kPageSize];
      page = GPage{};
      page.prot = prot;
      page.shared = shared;
      page.obj = obj;
      page.off = i;
      page.seg = seg;
    }
  }
  static void Unmap(GProc& proc, uint64_t a, uint64_t len) {
    proc.pages.erase(proc.pages.lower_bound(a),
                     proc.pages.lower_bound(a + len));
  }
  // Gives every old seg among [a, a+len)'s pages a fresh seg.
  void Reseg(GProc& proc, uint64_t a, uint64_t len) {
    Reseg(proc.pages.lower_bound(a), proc.pages.lower_bound(a + len));
  }
  template <typename It>
  void Reseg(It first, It last) {
    std::map<uint64_t, uint64_t> fresh;
    for (auto it = first; it != last; ++it) {
      auto [f, inserted] = fresh.try_emplace(it->second.seg, next_seg_);
      if (inserted) ++next_seg_;
      it->second.seg = f->second;
    }
  }
  uint64_t NewSeg() { return next_seg_++; }
  // dup_mmap: the child gets every page but dontfork ones, no pins, and
  // zeroes for wipeonfork ones.
  void Fork(const GProc& parent, uint32_t child) {
    GProc copy;
    for (const auto& [addr, page] : parent.pages) {
      if (page.dontfork) continue;
      GPage c = page;
      c.pinned = false;
      if (c.wipeonfork) c.value = 0;
      copy.pages[addr] = c;
    }
    procs_[child] = std::move(copy);
  }

 private:
  std::map<uint32_t, GProc> procs_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> shm_;  // (obj, off)
  uint64_t next_seg_ = 1, next_obj_ = 1;
};

}  // namespace rmaplab::gen

#endif  // RMAPLAB_TRACE_GEN_MODEL_H_
