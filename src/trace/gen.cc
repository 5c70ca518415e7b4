// gen.cc: the random trace generator (see rmaplab/gen.h).
//
// The generator's picture of the machine is page by page: for every live
// process, every mapped page's protection, sharing, fork flags, content, and
// a `seg` tag.  Invariants:
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
#include "rmaplab/gen.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <utility>

#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

// splitmix64: the same stream on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 0x1234567) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Chance(int percent) { return Below(100) < static_cast<uint64_t>(percent); }

 private:
  uint64_t s_;
};

struct GPage {
  int prot = 0;
  bool shared = false;
  uint64_t obj = 0, off = 0;  // shared: shmem object and page index in it
  bool dontfork = false, wipeonfork = false;
  uint64_t value = 0;  // private content
  uint64_t seg = 0;    // invariant (1)
  bool pinned = false; // inside one of the process's pins
};

struct GPin {
  uint64_t addr = 0, len = 0;        // [addr, addr+len)
  std::set<uint64_t> detached;       // pages whose frame left the page table
};

struct GProc {
  std::map<uint64_t, GPage> pages;  // by page address
  std::vector<GPin> pins;
};

enum Kind {
  kMmapOp, kMunmapOp, kMprotectOp, kMoveOp, kResizeOp, kDontneedOp,
  kForkFlagsOp, kForkOp, kExitOp, kReadOp, kWriteOp, kExpectOp, kPinOp,
  kDmaOp, kUnpinOp, kDumpOp, kStatsOp, kSysOp, kNumKinds
};

struct Profile {
  const char* name;
  int window_pages;
  int max_map_pages;
  int shared_percent;
  int weights[kNumKinds];
  // System ops of kSysOp, by bit: 0 ksm PAGES, 1 ksm full, 2 reclaim,
  // 3 swapoff, 4 pageout, 5 cold, 6 mergeable/unmergeable, 7 migrate.
  unsigned sys_ops = 0;
  // Explicit write values: 0 random; N one of 1..N, so that pages repeat
  // each other's content and KSM finds something to merge.
  int few_values = 0;
};

// mmap munmap mprotect move resize dontneed forkflags fork exit read write
// expect pin dma unpin dump stats sys
constexpr Profile kProfiles[] = {
    {"default", 128, 16, 15, {10, 4, 8, 6, 4, 4, 3, 6, 2, 8, 14, 6, 3, 3, 2, 3, 1, 0}},
    {"fork", 128, 16, 20, {8, 2, 3, 3, 2, 3, 4, 14, 5, 8, 18, 6, 2, 2, 1, 3, 2, 0}},
    {"vma", 64, 8, 10, {14, 8, 16, 12, 8, 3, 4, 3, 1, 5, 8, 3, 1, 1, 1, 4, 2, 0}},
    {"pins", 64, 8, 10, {8, 3, 3, 3, 2, 6, 3, 8, 2, 5, 12, 8, 10, 10, 5, 3, 1, 0}},
    {"swap", 128, 16, 15, {10, 4, 8, 6, 4, 4, 3, 6, 2, 8, 14, 6, 3, 3, 2, 3, 1, 8}, 0xb8},
    {"all", 128, 16, 15, {10, 4, 8, 6, 4, 4, 3, 6, 2, 8, 14, 6, 3, 3, 2, 3, 1, 8}, 0xff},
    {"ksm", 64, 16, 10, {8, 2, 4, 6, 3, 3, 2, 6, 2, 6, 20, 4, 2, 2, 1, 2, 1, 30}, 0x5f, 3},
};

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

struct ProtChoice {
  const char* text;
  int prot;
};
constexpr ProtChoice kProts[] = {
    {"rw-", 3}, {"rw", 3}, {"rw-", 3}, {"rw", 3}, {"r--", 1}, {"r", 1},
    {"---", 0}, {"none", 0}, {"rwx", 7}, {"r-x", 5}, {"rx", 5},
    {"-w-", 2}, {"--x", 4},
};

class Generator {
 public:
  Generator(const GenOptions& opts, const Profile& profile)
      : opts_(opts), p_(profile), rng_(opts.seed) {
    base_ = 0x100000000ULL + (opts.seed % 64) * 0x10000000ULL;
    end_ = base_ + static_cast<uint64_t>(p_.window_pages) * kPageSize;
    procs_[1];
  }

  std::string Run() {
    Emit("# rmaplab gen --seed " + std::to_string(opts_.seed) + " --ops " +
         std::to_string(opts_.ops) + " --procs " + std::to_string(opts_.procs) +
         " --profile " + p_.name);
    int total = 0;
    for (int w : p_.weights) total += w;
    int emitted = 0;
    for (int attempts = 0; emitted < opts_.ops && attempts < opts_.ops * 50;
         ++attempts) {
      int r = static_cast<int>(rng_.Below(total));
      int kind = 0;
      while (r >= p_.weights[kind]) r -= p_.weights[kind++];
      if (Step(static_cast<Kind>(kind))) ++emitted;
    }
    for (auto& [pid, proc] : procs_) {
      Emit(std::to_string(pid) + " maps");
      if (proc.pages.empty()) continue;
      uint64_t lo = proc.pages.begin()->first;
      uint64_t hi = proc.pages.rbegin()->first + kPageSize;
      Emit(std::to_string(pid) + " pagemap " + Hex(lo) + " " + Len(hi - lo));
    }
    return text_;
  }

 private:
  // ---- output ----
  void Emit(const std::string& s) {
    text_ += s;
    text_ += '\n';
    ++line_;
  }
  int NextLine() const { return line_ + 1; }
  void EmitOp(uint32_t pid, const std::string& s) {
    Emit(std::to_string(pid) + " " + s);
  }
  // A length, sometimes with a K suffix to exercise the parser.
  std::string Len(uint64_t bytes) {
    if (bytes % 1024 == 0 && rng_.Chance(30)) return std::to_string(bytes / 1024) + "K";
    return Hex(bytes);
  }

  // ---- picking ----
  uint32_t AnyPid() {
    auto it = procs_.begin();
    std::advance(it, rng_.Below(procs_.size()));
    return it->first;
  }
  // A mapped page of `proc`, or 0 if it has none.
  uint64_t AnyPage(const GProc& proc) {
    if (proc.pages.empty()) return 0;
    auto it = proc.pages.begin();
    std::advance(it, rng_.Below(proc.pages.size()));
    return it->first;
  }
  uint64_t AnyWindowPage(uint64_t pages) {
    return base_ + rng_.Below(p_.window_pages - pages + 1) * kPageSize;
  }
  // [start, end) of the seg run around `addr` (one VMA by invariant (1)).
  std::pair<uint64_t, uint64_t> SegRun(const GProc& proc, uint64_t addr) {
    uint64_t seg = proc.pages.at(addr).seg;
    uint64_t lo = addr, hi = addr + kPageSize;
    for (auto it = proc.pages.find(lo); it != proc.pages.begin();) {
      --it;
      if (it->first != lo - kPageSize || it->second.seg != seg) break;
      lo = it->first;
    }
    for (auto it = proc.pages.find(hi); it != proc.pages.end() &&
                                        it->first == hi && it->second.seg == seg;
         ++it)
      hi += kPageSize;
    return {lo, hi};
  }
  // [start, end) of the run of mapped pages around `addr`.
  std::pair<uint64_t, uint64_t> MappedRun(const GProc& proc, uint64_t addr) {
    uint64_t lo = addr, hi = addr + kPageSize;
    while (proc.pages.count(lo - kPageSize)) lo -= kPageSize;
    while (proc.pages.count(hi)) hi += kPageSize;
    return {lo, hi};
  }
  bool AnyMapped(const GProc& proc, uint64_t a, uint64_t len) {
    auto it = proc.pages.lower_bound(a);
    return it != proc.pages.end() && it->first < a + len;
  }
  bool AllMapped(const GProc& proc, uint64_t a, uint64_t len) {
    for (uint64_t p = a; p < a + len; p += kPageSize)
      if (!proc.pages.count(p)) return false;
    return true;
  }
  bool AnyPinned(const GProc& proc, uint64_t a, uint64_t len) {
    for (const GPin& pin : proc.pins)
      if (pin.addr < a + len && a < pin.addr + pin.len) return true;
    return false;
  }
  bool InWindow(uint64_t a, uint64_t len) const {
    return a >= base_ && a + len <= end_ && len > 0;
  }
  uint64_t& Content(GPage& page) {
    return page.shared ? shm_[{page.obj, page.off}] : page.value;
  }
  // Gives every old seg among [a, a+len)'s pages a fresh seg.
  void Reseg(GProc& proc, uint64_t a, uint64_t len) {
    std::map<uint64_t, uint64_t> fresh;
    for (auto it = proc.pages.lower_bound(a);
         it != proc.pages.end() && it->first < a + len; ++it) {
      auto [f, inserted] = fresh.try_emplace(it->second.seg, next_seg_);
      if (inserted) ++next_seg_;
      it->second.seg = f->second;
    }
  }
  void Unmap(GProc& proc, uint64_t a, uint64_t len) {
    proc.pages.erase(proc.pages.lower_bound(a), proc.pages.lower_bound(a + len));
  }

  // ---- ops; each returns false if it emitted nothing ----
  bool Step(Kind kind) {
    uint32_t pid = AnyPid();
    GProc& proc = procs_.at(pid);
    if (proc.pages.empty() && kind != kForkOp && kind != kExitOp &&
        kind != kStatsOp)
      kind = kMmapOp;
    switch (kind) {
      case kMmapOp: return Mmap(pid, proc);
      case kMunmapOp: return Munmap(pid, proc);
      case kMprotectOp: return Mprotect(pid, proc);
      case kMoveOp: return Move(pid, proc);
      case kResizeOp: return Resize(pid, proc);
      case kDontneedOp: return Dontneed(pid, proc);
      case kForkFlagsOp: return ForkFlags(pid, proc);
      case kForkOp: return Fork(pid, proc);
      case kExitOp: return Exit(pid);
      case kReadOp: return Access(pid, proc, false);
      case kWriteOp: return Access(pid, proc, true);
      case kExpectOp: return Expect(pid, proc);
      case kPinOp: return Pin(pid, proc);
      case kDmaOp: return DmaWrite(pid, proc);
      case kUnpinOp: return Unpin(pid, proc);
      case kDumpOp: return Dump(pid, proc);
      case kStatsOp: Emit("* stats"); return true;
      case kSysOp: return System(pid, proc);
      case kNumKinds: break;
    }
    return false;
  }

  bool Mmap(uint32_t pid, GProc& proc) {
    uint64_t len = rng_.Range(1, p_.max_map_pages) * kPageSize;
    uint64_t a = 0;
    for (int tries = 0; tries < 6; ++tries) {
      if (!proc.pages.empty() && rng_.Chance(50)) {  // next to a neighbour
        auto [lo, hi] = MappedRun(proc, AnyPage(proc));
        a = rng_.Chance(50) ? hi : lo - len;
      } else {
        a = AnyWindowPage(len / kPageSize);
      }
      if (InWindow(a, len) && (!AnyMapped(proc, a, len) || rng_.Chance(8))) break;
      a = 0;
    }
    if (a == 0) return false;
    const ProtChoice& pc = kProts[rng_.Below(std::size(kProts))];
    bool shared = rng_.Chance(p_.shared_percent);
    EmitOp(pid, "mmap " + Hex(a) + " " + Len(len) + " " + pc.text +
                    (shared ? " shared" : ""));
    if (AnyMapped(proc, a, len)) return true;  // EEXIST
    uint64_t seg = next_seg_++, obj = shared ? next_obj_++ : 0;
    for (uint64_t i = 0; i < len / kPageSize; ++i) {
      GPage& page = proc.pages[a + i * kPageSize];
      page = GPage{};
      page.prot = pc.prot;
      page.shared = shared;
      page.obj = obj;
      page.off = i;
      page.seg = seg;
    }
    return true;
  }

  bool Munmap(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc) - rng_.Range(0, 2) * kPageSize;
    uint64_t len = rng_.Range(1, 8) * kPageSize;
    if (!InWindow(a, len) || AnyPinned(proc, a, len)) return false;
    EmitOp(pid, "munmap " + Hex(a) + " " + Len(len));
    Unmap(proc, a, len);
    return true;
  }

  bool Mprotect(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc);
    auto [lo, hi] = rng_.Chance(60) ? SegRun(proc, a) : MappedRun(proc, a);
    // Usually inside the run (a split), sometimes all of it (a merge), and
    // sometimes past its end into a hole (ENOMEM after changing the part
    // before the hole).
    uint64_t start = rng_.Chance(30) ? lo : a;
    uint64_t end = hi;
    if (rng_.Chance(50)) end = start + rng_.Range(1, (hi - start) / kPageSize) * kPageSize;
    if (rng_.Chance(10)) end = hi + rng_.Range(1, 3) * kPageSize;
    if (!InWindow(start, end - start)) return false;
    const ProtChoice& pc = kProts[rng_.Below(std::size(kProts))];
    EmitOp(pid, "mprotect " + Hex(start) + " " + Len(end - start) + " " + pc.text);
    uint64_t stop = start;
    while (stop < end && proc.pages.count(stop)) stop += kPageSize;
    Reseg(proc, start, stop - start);
    for (uint64_t p = start; p < stop; p += kPageSize) proc.pages[p].prot = pc.prot;
    return true;
  }

  // A source range inside one seg run, with no pins: [a, a+len).
  bool PickSource(GProc& proc, uint64_t* a, uint64_t* len, uint64_t* run_end) {
    auto [lo, hi] = SegRun(proc, AnyPage(proc));
    uint64_t pages = (hi - lo) / kPageSize;
    uint64_t first = rng_.Chance(50) ? 0 : rng_.Below(pages);
    uint64_t n = rng_.Chance(40) ? pages - first : rng_.Range(1, pages - first);
    *a = lo + first * kPageSize;
    *len = n * kPageSize;
    *run_end = hi;
    return !AnyPinned(proc, *a, *len);
  }

  bool Move(uint32_t pid, GProc& proc) {
    uint64_t a, len, run_end, target = 0, new_len;
    bool back = false;
    if (!moves_.empty() && rng_.Chance(35)) {  // move a moved range back
      auto [mpid, from, to, mlen] = moves_[rng_.Below(moves_.size())];
      GProc* mp = procs_.count(mpid) ? &procs_.at(mpid) : nullptr;
      if (mp && mp->pages.count(to) &&
          SegRun(*mp, to).first <= to && SegRun(*mp, to).second >= to + mlen &&
          !AnyPinned(*mp, to, mlen) && !AnyPinned(*mp, from, mlen) &&
          (from + mlen <= to || to + mlen <= from)) {
        pid = mpid;
        a = to;
        len = mlen;
        target = from;
        new_len = mlen;
        back = true;
      }
    }
    GProc& src = procs_.at(pid);
    bool multi = false;
    if (!back && rng_.Chance(20)) {
      // Several vmas and the holes between them, same size: since Linux
      // 6.17 every vma in the range moves, keeping the gaps (and what the
      // target has in them).  Starts in a
      // vma, so this needs no knowledge of where vmas end.
      multi = true;
      a = AnyPage(src);
      len = new_len = rng_.Range(2, 8) * kPageSize;
      if (!InWindow(a, len) || AnyPinned(src, a, len)) return false;
    } else if (!back) {
      if (!PickSource(src, &a, &len, &run_end)) return false;
      const GPage& first = src.pages.at(a);
      new_len = len;
      if (rng_.Chance(25)) {
        new_len = rng_.Range(1, len / kPageSize + (first.shared ? 0 : 4)) * kPageSize;
      }
    }
    if (!back) {
      for (int tries = 0; tries < 6 && target == 0; ++tries) {
        if (rng_.Chance(60)) {  // next to a faulted or unfaulted neighbour
          auto [lo, hi] = MappedRun(src, AnyPage(src));
          target = rng_.Chance(50) ? hi : lo - new_len;
        } else {
          target = AnyWindowPage(new_len / kPageSize);
        }
        bool overlaps = target < a + len && a < target + new_len;
        if (!InWindow(target, new_len) || overlaps ||
            AnyPinned(src, target, new_len))
          target = 0;
      }
      if (target == 0) return false;
    }
    (void)proc;
    EmitOp(pid, "mremap " + Hex(a) + " " + Len(len) + " " + Len(new_len) + " " +
                    Hex(target));
    if (multi) {
      std::map<uint64_t, GPage> moved(src.pages.lower_bound(a),
                                      src.pages.lower_bound(a + len));
      Unmap(src, a, len);
      // Each vma unmaps only its own target piece: the gaps stay as they were.
      for (const auto& [p, page] : moved) Unmap(src, target + (p - a), kPageSize);
      std::map<uint64_t, uint64_t> fresh;  // one fresh seg per old seg
      for (auto& [p, page] : moved) {
        auto [f, inserted] = fresh.try_emplace(page.seg, next_seg_);
        if (inserted) ++next_seg_;
        page.seg = f->second;
        src.pages[target + (p - a)] = page;
      }
      return true;
    }
    std::vector<GPage> moved;
    for (uint64_t p = a; p < a + std::min(len, new_len); p += kPageSize)
      moved.push_back(src.pages.at(p));
    GPage grown = src.pages.at(a + len - kPageSize);
    grown.value = 0;
    grown.off += 1;
    Unmap(src, a, len);
    Unmap(src, target, new_len);
    uint64_t seg = next_seg_++;
    for (uint64_t i = 0; i < new_len / kPageSize; ++i) {
      GPage page = i < moved.size() ? moved[i] : grown;
      page.seg = seg;
      src.pages[target + i * kPageSize] = page;
    }
    if (!back) moves_.push_back({pid, a, target, new_len});
    return true;
  }

  bool Resize(uint32_t pid, GProc& proc) {
    uint64_t a, len, run_end;
    if (!PickSource(proc, &a, &len, &run_end)) return false;
    const GPage last = proc.pages.at(a + len - kPageSize);
    bool can_grow = !last.shared && a + len == run_end &&
                    !proc.pages.count(a + len);
    uint64_t new_len;
    if (can_grow && (len == kPageSize || rng_.Chance(50))) {
      new_len = len + rng_.Range(1, 4) * kPageSize;
      if (!InWindow(a, new_len) || AnyMapped(proc, a + len, new_len - len)) return false;
    } else if (len > kPageSize) {
      new_len = rng_.Range(1, len / kPageSize - 1) * kPageSize;
    } else {
      return false;
    }
    EmitOp(pid, "mremap " + Hex(a) + " " + Len(len) + " " + Len(new_len));
    if (new_len < len) {
      Unmap(proc, a + new_len, len - new_len);
      return true;
    }
    for (uint64_t p = a + len; p < a + new_len; p += kPageSize) {
      GPage page = last;
      page.value = 0;
      proc.pages[p] = page;
    }
    return true;
  }

  // A fully mapped range around a random page, 1..8 pages.
  bool PickMapped(GProc& proc, uint64_t* a, uint64_t* len) {
    uint64_t p = AnyPage(proc);
    auto [lo, hi] = MappedRun(proc, p);
    *a = rng_.Chance(30) ? lo : p;
    uint64_t max = std::min<uint64_t>((hi - *a) / kPageSize, 8);
    *len = rng_.Range(1, max) * kPageSize;
    return true;
  }

  bool Dontneed(uint32_t pid, GProc& proc) {
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    EmitOp(pid, "madvise " + Hex(a) + " " + Len(len) + " dontneed");
    for (uint64_t p = a; p < a + len; p += kPageSize) {
      GPage& page = proc.pages.at(p);
      if (page.shared) continue;  // shmem keeps its pages
      page.value = 0;
      for (GPin& pin : proc.pins)
        if (p >= pin.addr && p < pin.addr + pin.len) pin.detached.insert(p);
    }
    return true;
  }

  bool ForkFlags(uint32_t pid, GProc& proc) {
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    bool any_shared = false;
    for (uint64_t p = a; p < a + len; p += kPageSize)
      any_shared |= proc.pages.at(p).shared;
    static constexpr const char* kAdvice[] = {"dontfork", "dofork", "wipeonfork",
                                              "keeponfork"};
    int which = static_cast<int>(rng_.Below(any_shared ? 2 : 4));
    EmitOp(pid, "madvise " + Hex(a) + " " + Len(len) + " " + kAdvice[which]);
    Reseg(proc, a, len);
    for (uint64_t p = a; p < a + len; p += kPageSize) {
      GPage& page = proc.pages.at(p);
      if (which < 2) page.dontfork = which == 0;
      else page.wipeonfork = which == 2;
    }
    return true;
  }

  bool Fork(uint32_t pid, GProc& proc) {
    if (static_cast<int>(procs_.size()) >= opts_.procs) return false;
    uint32_t child = next_pid_++;
    EmitOp(pid, "fork " + std::to_string(child));
    GProc copy;
    for (const auto& [addr, page] : proc.pages) {
      if (page.dontfork) continue;
      GPage c = page;
      c.pinned = false;
      if (c.wipeonfork) c.value = 0;
      copy.pages[addr] = c;
    }
    procs_[child] = std::move(copy);
    return true;
  }

  bool Exit(uint32_t pid) {
    if (procs_.size() <= 1) return false;
    EmitOp(pid, "exit");
    procs_.erase(pid);
    return true;
  }

  bool Access(uint32_t pid, GProc& proc, bool write) {
    uint64_t a = rng_.Chance(90) ? AnyPage(proc) : AnyWindowPage(1);
    uint64_t len = rng_.Range(1, 4) * kPageSize;
    if (!InWindow(a, len)) len = kPageSize;
    bool explicit_value = write && (p_.few_values || rng_.Chance(30));
    uint64_t value = p_.few_values ? rng_.Range(1, p_.few_values) : rng_.Next();
    std::string s = (write ? "write " : "read ") + Hex(a);
    if (len > kPageSize || rng_.Chance(20)) s += " " + Len(len);
    if (explicit_value) s += " =" + Hex(value);
    int line = NextLine();
    EmitOp(pid, s);
    // x86: a writable page is readable; an exec-only one is not (PKU).
    int need = write ? kProtWrite : kProtRead | kProtWrite;
    for (uint64_t p = a; p < a + len; p += kPageSize) {
      auto it = proc.pages.find(p);
      if (it == proc.pages.end() || !(it->second.prot & need)) break;  // EFAULT
      if (write)
        Content(it->second) = explicit_value ? value : DefaultWriteValue(line, pid, p);
    }
    return true;
  }

  bool Expect(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc);
    // The native replayer cannot read a swapped-out shmem page without
    // swapping it in, so with swap ops around, expect only private pages.
    if (p_.sys_ops && proc.pages.at(a).shared) return false;
    uint64_t v = Content(proc.pages.at(a));
    uint64_t len = kPageSize;
    while (len < 4 * kPageSize && proc.pages.count(a + len) &&
           !(p_.sys_ops && proc.pages.at(a + len).shared) &&
           Content(proc.pages.at(a + len)) == v && rng_.Chance(70))
      len += kPageSize;
    std::string s = "expect " + Hex(a);
    if (len > kPageSize) s += " " + Len(len);
    EmitOp(pid, s + " =" + Hex(v));
    return true;
  }

  bool Pin(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc);
    uint64_t len = 0;
    while (len < 4 * kPageSize && proc.pages.count(a + len)) {
      const GPage& page = proc.pages.at(a + len);
      if (page.shared || !(page.prot & kProtWrite) || page.pinned) break;
      len += kPageSize;
    }
    if (len == 0 || AnyPinned(proc, a, len)) return false;
    len = rng_.Range(1, len / kPageSize) * kPageSize;
    EmitOp(pid, "pin " + Hex(a) + " " + Len(len));
    for (uint64_t p = a; p < a + len; p += kPageSize) proc.pages.at(p).pinned = true;
    proc.pins.push_back({a, len, {}});
    return true;
  }

  bool DmaWrite(uint32_t pid, GProc& proc) {
    if (proc.pins.empty()) return false;
    const GPin& pin = proc.pins[rng_.Below(proc.pins.size())];
    uint64_t first = rng_.Below(pin.len / kPageSize);
    uint64_t n = rng_.Range(1, pin.len / kPageSize - first);
    uint64_t a = pin.addr + first * kPageSize, len = n * kPageSize;
    uint64_t value = rng_.Next();
    std::string s = "dmawrite " + Hex(a);
    if (len > kPageSize || rng_.Chance(30)) s += " " + Len(len);
    EmitOp(pid, s + " =" + Hex(value));
    for (uint64_t p = a; p < a + len; p += kPageSize)
      if (!pin.detached.count(p)) proc.pages.at(p).value = value;
    return true;
  }

  bool Unpin(uint32_t pid, GProc& proc) {
    if (proc.pins.empty()) return false;
    size_t i = rng_.Below(proc.pins.size());
    GPin pin = proc.pins[i];
    proc.pins.erase(proc.pins.begin() + i);
    EmitOp(pid, "unpin " + Hex(pin.addr) + " " + Len(pin.len));
    for (uint64_t p = pin.addr; p < pin.addr + pin.len; p += kPageSize)
      if (proc.pages.count(p)) proc.pages.at(p).pinned = false;
    return true;
  }

  bool Dump(uint32_t pid, GProc& proc) {
    if (rng_.Chance(50)) {
      EmitOp(pid, "maps");
      return true;
    }
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    EmitOp(pid, "pagemap " + Hex(a) + " " + Len(len));
    return true;
  }

  // KSM, reclaim, swap and migration (profiles `swap`, `all`); none changes
  // what a page holds.
  bool System(uint32_t pid, GProc& proc) {
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    unsigned op;
    do op = static_cast<unsigned>(rng_.Below(8));
    while (!(p_.sys_ops >> op & 1));
    switch (op) {
      case 0: Emit("* ksm " + std::to_string(rng_.Range(1, 200))); break;
      case 1: Emit("* ksm full"); break;
      case 2: Emit("* reclaim " + std::to_string(rng_.Range(1, 64))); break;
      case 3: Emit("* swapoff"); break;
      case 4: EmitOp(pid, "madvise " + Hex(a) + " " + Len(len) + " pageout"); break;
      case 5: EmitOp(pid, "madvise " + Hex(a) + " " + Len(len) + " cold"); break;
      case 6:
        EmitOp(pid, "madvise " + Hex(a) + " " + Len(len) +
                        (rng_.Chance(70) ? " mergeable" : " unmergeable"));
        break;
      default: EmitOp(pid, "migrate " + Hex(a) + " " + Len(len) + " 0"); break;
    }
    return true;
  }

  GenOptions opts_;
  const Profile& p_;
  Rng rng_;
  uint64_t base_ = 0, end_ = 0;  // the window [base_, end_)
  std::map<uint32_t, GProc> procs_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> shm_;  // (obj, off) -> value
  struct MoveRecord {
    uint32_t pid;
    uint64_t from, to, len;
  };
  std::vector<MoveRecord> moves_;
  uint64_t next_seg_ = 1, next_obj_ = 1;
  uint32_t next_pid_ = 2;
  int line_ = 0;
  std::string text_;
};

constexpr char kUsage[] =
    R"(usage: rmaplab gen --seed S --ops N --procs P [--profile PROFILE]

Prints a random, valid trace: N ops on at most P live processes, then maps
and pagemap of every live process.  The same arguments always print the same
trace.  Profiles: default, fork (fork/COW heavy), vma (split/merge/mremap
heavy), pins (pin/dmawrite/dontneed heavy), swap (default plus pageout,
cold, swapoff, migrate to node 0), all (swap plus reclaim, ksm and
mergeable; native reclaim picks among the workers' own pages too, so it
rarely agrees).
)";

bool ParseUint(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  *v = std::stoull(s);
  return true;
}

}  // namespace

std::vector<std::string> GenProfiles() {
  std::vector<std::string> names;
  for (const Profile& p : kProfiles) names.push_back(p.name);
  return names;
}

Result<std::string> GenerateTrace(const GenOptions& opts) {
  if (opts.ops < 0 || opts.ops > 1000000) return Status::Error("--ops must be in 0..1000000");
  if (opts.procs < 1 || opts.procs > 10000) return Status::Error("--procs must be in 1..10000");
  for (const Profile& p : kProfiles) {
    if (opts.profile == p.name) return Generator(opts, p).Run();
  }
  return Status::Error("unknown profile '" + opts.profile +
                       "' (known: default, fork, vma, pins, swap, all)");
}

int GenCommand(const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err) {
  GenOptions opts;
  bool have_seed = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
    if (i + 1 >= args.size() || (a != "--seed" && a != "--ops" &&
                                 a != "--procs" && a != "--profile")) {
      err << "rmaplab gen: unknown or incomplete option '" << a << "'\n" << kUsage;
      return 2;
    }
    const std::string& v = args[++i];
    uint64_t n = 0;
    if (a == "--profile") {
      opts.profile = v;
      continue;
    }
    if (!ParseUint(v, &n) || (a != "--seed" && n > 1000000)) {
      err << "rmaplab gen: " << a << " needs a decimal number, got '" << v << "'\n";
      return 2;
    }
    if (a == "--seed") {
      opts.seed = n;
      have_seed = true;
    } else if (a == "--ops") {
      opts.ops = static_cast<int>(n);
    } else {
      opts.procs = static_cast<int>(n);
    }
  }
  if (!have_seed) {
    err << "rmaplab gen: --seed is required\n" << kUsage;
    return 2;
  }
  Result<std::string> text = GenerateTrace(opts);
  if (!text.ok()) {
    err << "rmaplab gen: " << text.status().message() << '\n';
    return 2;
  }
  out << text.value();
  return 0;
}

}  // namespace rmaplab
