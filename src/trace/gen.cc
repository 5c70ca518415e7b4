// gen.cc: the random trace generator (see rmaplab/gen.h): which op comes
// next and where.  What the generator knows about the processes is the
// shadow model (gen_model.h, with its invariants); the text is written by
// the emitter (gen_emit.h); the command line is tools/gen.cc.
#include "rmaplab/gen.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rmaplab/trace.h"
#include "trace/gen_emit.h"
#include "trace/gen_model.h"
#include "trace/splitmix.h"

namespace rmaplab {
namespace {

using gen::Emitter;
using gen::GPage;
using gen::GPin;
using gen::GProc;
using gen::Hex;
using gen::ShadowModel;

// The generator's stream: splitmix64 (trace/splitmix.h) from a scrambled
// seed, so that every existing seed keeps its trace.
class Rng : public SplitMix {
 public:
  explicit Rng(uint64_t seed)
      : SplitMix(seed * 0x9E3779B97F4A7C15ULL + 0x1234567) {}
};

enum Kind {
  kMmapOp,
  kMunmapOp,
  kMprotectOp,
  kMoveOp,
  kResizeOp,
  kDontneedOp,
  kForkFlagsOp,
  kForkOp,
  kExitOp,
  kReadOp,
  kWriteOp,
  kExpectOp,
  kPinOp,
  kDmaOp,
  kUnpinOp,
  kDumpOp,
  kStatsOp,
  kSysOp,
  kNumKinds
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
  // Percent of kExitOp draws that become `exec` (profile `fork` only, so
  // the other profiles' traces stay what they were).
  int exec_percent = 0;
  // Explicit write values: 0 random; N one of 1..N, so that pages repeat
  // each other's content and KSM finds something to merge.
  int few_values = 0;
  // Profile `thp`: 2 MiB-aligned arenas of whole 2 MiB blocks, THP policies
  // at the start and now and then, and sys ops 8 (`* thp`), 9 (hugepage /
  // nohugepage) and 10 (collapse).
  bool thp = false;
};

constexpr uint64_t kBlock = 2ULL << 20;  // a PMD-sized block
constexpr int kBlockPages = static_cast<int>(kBlock / kPageSize);

// mmap munmap mprotect move resize dontneed forkflags fork exit read write
// expect pin dma unpin dump stats sys
constexpr Profile kProfiles[] = {
    {"default",
     128,
     16,
     15,
     {10, 4, 8, 6, 4, 4, 3, 6, 2, 8, 14, 6, 3, 3, 2, 3, 1, 0}},
    {"fork",
     128,
     16,
     20,
     {8, 2, 3, 3, 2, 3, 4, 14, 5, 8, 18, 6, 2, 2, 1, 3, 2, 0},
     0,
     40},
    {"vma",
     64,
     8,
     10,
     {14, 8, 16, 12, 8, 3, 4, 3, 1, 5, 8, 3, 1, 1, 1, 4, 2, 0}},
    {"pins",
     64,
     8,
     10,
     {8, 3, 3, 3, 2, 6, 3, 8, 2, 5, 12, 8, 10, 10, 5, 3, 1, 0}},
    {"swap",
     128,
     16,
     15,
     {10, 4, 8, 6, 4, 4, 3, 6, 2, 8, 14, 6, 3, 3, 2, 3, 1, 8},
     0xb8},
    {"all",
     128,
     16,
     15,
     {10, 4, 8, 6, 4, 4, 3, 6, 2, 8, 14, 6, 3, 3, 2, 3, 1, 8},
     0xff},
    {"ksm",
     64,
     16,
     10,
     {8, 2, 4, 6, 3, 3, 2, 6, 2, 6, 20, 4, 2, 2, 1, 2, 1, 30},
     0x5f,
     0,
     3},
    {.name = "thp",
     .window_pages = 8 * kBlockPages,
     .max_map_pages = 3 * kBlockPages,
     .shared_percent = 3,
     .weights = {6, 4, 5, 4, 3, 4, 2, 6, 3, 12, 16, 6, 2, 2, 2, 2, 2, 24},
     .sys_ops = 0x7d5,
     .thp = true},
};

struct ProtChoice {
  const char* text;
  int prot;
};
constexpr ProtChoice kProts[] = {
    {"rw-", 3}, {"rw", 3},  {"rw-", 3},  {"rw", 3},  {"r--", 1},
    {"r", 1},   {"---", 0}, {"none", 0}, {"rwx", 7}, {"r-x", 5},
    {"rx", 5},  {"-w-", 2}, {"--x", 4},
};

class Generator {
 public:
  Generator(const GenOptions& opts, const Profile& profile)
      : opts_(opts), p_(profile), rng_(opts.seed) {
    base_ = 0x100000000ULL + (opts.seed % 64) * 0x10000000ULL;
    end_ = base_ + static_cast<uint64_t>(p_.window_pages) * kPageSize;
    model_.procs()[1];
  }

  std::string Run() {
    out_.Line("# rmaplab gen --seed " + std::to_string(opts_.seed) + " --ops " +
              std::to_string(opts_.ops) + " --procs " +
              std::to_string(opts_.procs) + " --profile " + p_.name);
    if (p_.thp) {
      // PMD THPs where whole blocks fit, 64 KiB mTHPs where they do not.
      int pmd = static_cast<int>(rng_.Below(20));
      out_.Line(std::string("* thp 2M ") + (pmd < 12   ? "always"
                                            : pmd < 18 ? "madvise"
                                                       : "never"));
      out_.Line(std::string("* thp 64K ") +
                (rng_.Chance(70) ? "always" : "madvise"));
      ThpPolicy();
    }
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
    for (auto& [pid, proc] : model_.procs()) {
      out_.Line(std::to_string(pid) + " maps");
      if (proc.pages.empty()) continue;
      uint64_t lo = proc.pages.begin()->first;
      uint64_t hi = proc.pages.rbegin()->first + kPageSize;
      out_.Line(std::to_string(pid) + " pagemap " + Hex(lo) + " " +
                Len(hi - lo));
    }
    return out_.text();
  }

 private:
  // A length, sometimes with a K suffix to exercise the parser.
  std::string Len(uint64_t bytes) {
    if (bytes % 1024 == 0 && rng_.Chance(30))
      return std::to_string(bytes / 1024) + "K";
    return Hex(bytes);
  }

  // ---- picking ----
  uint32_t AnyPid() {
    auto it = model_.procs().begin();
    std::advance(it, rng_.Below(model_.procs().size()));
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
  bool InWindow(uint64_t a, uint64_t len) const {
    return a >= base_ && a + len <= end_ && len > 0;
  }
  // ---- ops; each returns false if it emitted nothing ----
  bool Step(Kind kind) {
    uint32_t pid = AnyPid();
    GProc& proc = model_.procs().at(pid);
    if (proc.pages.empty() && kind != kForkOp && kind != kExitOp &&
        kind != kStatsOp)
      kind = kMmapOp;
    switch (kind) {
      case kMmapOp:
        return Mmap(pid, proc);
      case kMunmapOp:
        return Munmap(pid, proc);
      case kMprotectOp:
        return Mprotect(pid, proc);
      case kMoveOp:
        return Move(pid, proc);
      case kResizeOp:
        return Resize(pid, proc);
      case kDontneedOp:
        return Dontneed(pid, proc);
      case kForkFlagsOp:
        return ForkFlags(pid, proc);
      case kForkOp:
        return Fork(pid, proc);
      case kExitOp:
        return Exit(pid);
      case kReadOp:
        return Access(pid, proc, false);
      case kWriteOp:
        return Access(pid, proc, true);
      case kExpectOp:
        return Expect(pid, proc);
      case kPinOp:
        return Pin(pid, proc);
      case kDmaOp:
        return DmaWrite(pid, proc);
      case kUnpinOp:
        return Unpin(pid, proc);
      case kDumpOp:
        return Dump(pid, proc);
      case kStatsOp:
        out_.Line("* stats");
        return true;
      case kSysOp:
        return System(pid, proc);
      case kNumKinds:
        break;
    }
    return false;
  }

  // A THP policy line: 2M never/madvise/always, a smaller size any mode.
  void ThpPolicy() {
    static constexpr const char* kSizes[] = {"16K",  "32K",  "64K", "128K",
                                             "256K", "512K", "1M",  "2M"};
    static constexpr const char* kModes[] = {"always", "madvise", "never",
                                             "inherit"};
    int size = static_cast<int>(rng_.Below(std::size(kSizes)));
    int modes = size == 7 ? 3 : 4;  // no `inherit` for 2M
    out_.Line(std::string("* thp ") + kSizes[size] + " " +
              kModes[rng_.Below(modes)]);
  }

  // Profile thp: whole 2 MiB blocks at a 2 MiB-aligned address, or rarely
  // an odd length and place, so faults meet both.
  bool ThpArena(uint64_t* a, uint64_t* len) {
    if (rng_.Chance(15)) return false;
    uint64_t blocks = rng_.Range(1, p_.max_map_pages / kBlockPages);
    *len = blocks * kBlock;
    *a =
        base_ + rng_.Below(p_.window_pages / kBlockPages - blocks + 1) * kBlock;
    return true;
  }

  bool Mmap(uint32_t pid, GProc& proc) {
    uint64_t len = rng_.Range(1, p_.max_map_pages) * kPageSize;
    uint64_t a = 0;
    if (p_.thp && ThpArena(&a, &len)) {
      if (model_.AnyMapped(proc, a, len) && !rng_.Chance(8)) return false;
    }
    for (int tries = 0; tries < 6 && a == 0; ++tries) {
      if (!proc.pages.empty() && rng_.Chance(50)) {  // next to a neighbour
        auto [lo, hi] = model_.MappedRun(proc, AnyPage(proc));
        a = rng_.Chance(50) ? hi : lo - len;
      } else {
        a = AnyWindowPage(len / kPageSize);
      }
      if (InWindow(a, len) &&
          (!model_.AnyMapped(proc, a, len) || rng_.Chance(8)))
        break;
      a = 0;
    }
    if (a == 0) return false;
    const ProtChoice& pc = kProts[rng_.Below(std::size(kProts))];
    bool shared = rng_.Chance(p_.shared_percent);
    out_.Op(pid, "mmap " + Hex(a) + " " + Len(len) + " " + pc.text +
                     (shared ? " shared" : ""));
    if (model_.AnyMapped(proc, a, len)) return true;  // EEXIST
    model_.Map(proc, a, len, pc.prot, shared);
    return true;
  }

  bool Munmap(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc) - rng_.Range(0, 2) * kPageSize;
    uint64_t len = rng_.Range(1, 8) * kPageSize;
    if (!InWindow(a, len) || model_.AnyPinned(proc, a, len)) return false;
    out_.Op(pid, "munmap " + Hex(a) + " " + Len(len));
    model_.Unmap(proc, a, len);
    return true;
  }

  bool Mprotect(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc);
    auto [lo, hi] =
        rng_.Chance(60) ? model_.SegRun(proc, a) : model_.MappedRun(proc, a);
    // Usually inside the run (a split), sometimes all of it (a merge), and
    // sometimes past its end into a hole (ENOMEM after changing the part
    // before the hole).
    uint64_t start = rng_.Chance(30) ? lo : a;
    uint64_t end = hi;
    if (rng_.Chance(50))
      end = start + rng_.Range(1, (hi - start) / kPageSize) * kPageSize;
    if (rng_.Chance(10)) end = hi + rng_.Range(1, 3) * kPageSize;
    if (!InWindow(start, end - start)) return false;
    const ProtChoice& pc = kProts[rng_.Below(std::size(kProts))];
    out_.Op(pid,
            "mprotect " + Hex(start) + " " + Len(end - start) + " " + pc.text);
    uint64_t stop = start;
    while (stop < end && proc.pages.count(stop)) stop += kPageSize;
    model_.Reseg(proc, start, stop - start);
    for (uint64_t p = start; p < stop; p += kPageSize)
      proc.pages[p].prot = pc.prot;
    return true;
  }

  // A source range inside one seg run, with no pins: [a, a+len).
  bool PickSource(GProc& proc, uint64_t* a, uint64_t* len, uint64_t* run_end) {
    auto [lo, hi] = model_.SegRun(proc, AnyPage(proc));
    uint64_t pages = (hi - lo) / kPageSize;
    uint64_t first = rng_.Chance(50) ? 0 : rng_.Below(pages);
    uint64_t n = rng_.Chance(40) ? pages - first : rng_.Range(1, pages - first);
    *a = lo + first * kPageSize;
    *len = n * kPageSize;
    *run_end = hi;
    return !model_.AnyPinned(proc, *a, *len);
  }

  // An mremap move: [a, a+len) of `pid` to [target, target+new_len).
  struct MoveChoice {
    uint32_t pid = 0;
    uint64_t a = 0, len = 0, new_len = 0, target = 0;
    bool back = false;   // a moved range back to where it came from
    bool multi = false;  // several vmas and the holes between them
  };

  bool Move(uint32_t pid, GProc&) {
    MoveChoice m;
    m.pid = pid;
    if (!moves_.empty() && rng_.Chance(35)) PickMoveBack(&m);
    GProc& src = model_.procs().at(m.pid);
    if (!m.back && !PickMoveSource(src, &m)) return false;
    if (!m.back && !PickMoveTarget(src, &m)) return false;
    out_.Op(m.pid, "mremap " + Hex(m.a) + " " + Len(m.len) + " " +
                       Len(m.new_len) + " " + Hex(m.target));
    if (m.multi) {
      ApplyMultiMove(src, m);
      return true;
    }
    ApplyMove(src, m);
    if (!m.back) moves_.push_back({m.pid, m.a, m.target, m.new_len});
    return true;
  }

  // A past move, back, if it is still one seg run and free of pins.
  void PickMoveBack(MoveChoice* m) {
    auto [mpid, from, to, mlen] = moves_[rng_.Below(moves_.size())];
    GProc* mp = model_.procs().count(mpid) ? &model_.procs().at(mpid) : nullptr;
    if (mp && mp->pages.count(to) && model_.SegRun(*mp, to).first <= to &&
        model_.SegRun(*mp, to).second >= to + mlen &&
        !model_.AnyPinned(*mp, to, mlen) &&
        !model_.AnyPinned(*mp, from, mlen) &&
        (from + mlen <= to || to + mlen <= from)) {
      *m = MoveChoice{mpid, to, mlen, mlen, from, true, false};
    }
  }

  // Either several vmas and the holes between them, same size: since
  // Linux 6.17 every vma in the range moves, keeping the gaps (and what the
  // target has in them); it starts in a vma, so this needs no knowledge of
  // where vmas end.  Or a part of one seg run, maybe resized.
  bool PickMoveSource(GProc& src, MoveChoice* m) {
    if (rng_.Chance(20)) {
      m->multi = true;
      m->a = AnyPage(src);
      m->len = m->new_len = rng_.Range(2, 8) * kPageSize;
      return InWindow(m->a, m->len) && !model_.AnyPinned(src, m->a, m->len);
    }
    uint64_t run_end;
    if (!PickSource(src, &m->a, &m->len, &run_end)) return false;
    const GPage& first = src.pages.at(m->a);
    m->new_len = m->len;
    if (rng_.Chance(25)) {
      m->new_len = rng_.Range(1, m->len / kPageSize + (first.shared ? 0 : 4)) *
                   kPageSize;
    }
    return true;
  }

  // A target next to a faulted or unfaulted neighbour, or anywhere in the
  // window, not overlapping the source or a pin.
  bool PickMoveTarget(GProc& src, MoveChoice* m) {
    for (int tries = 0; tries < 6 && m->target == 0; ++tries) {
      if (rng_.Chance(60)) {
        auto [lo, hi] = model_.MappedRun(src, AnyPage(src));
        m->target = rng_.Chance(50) ? hi : lo - m->new_len;
      } else {
        m->target = AnyWindowPage(m->new_len / kPageSize);
      }
      bool overlaps =
          m->target < m->a + m->len && m->a < m->target + m->new_len;
      if (!InWindow(m->target, m->new_len) || overlaps ||
          model_.AnyPinned(src, m->target, m->new_len))
        m->target = 0;
    }
    return m->target != 0;
  }

  // Each vma moves and unmaps only its own target piece: the gaps stay as
  // they were.
  void ApplyMultiMove(GProc& src, const MoveChoice& m) {
    std::map<uint64_t, GPage> moved(src.pages.lower_bound(m.a),
                                    src.pages.lower_bound(m.a + m.len));
    model_.Unmap(src, m.a, m.len);
    for (const auto& [p, page] : moved)
      model_.Unmap(src, m.target + (p - m.a), kPageSize);
    model_.Reseg(moved.begin(), moved.end());  // fresh segs
    for (auto& [p, page] : moved) src.pages[m.target + (p - m.a)] = page;
  }

  // One vma: its pages move, the target is replaced, a grown tail is new.
  void ApplyMove(GProc& src, const MoveChoice& m) {
    std::vector<GPage> moved;
    for (uint64_t p = m.a; p < m.a + std::min(m.len, m.new_len); p += kPageSize)
      moved.push_back(src.pages.at(p));
    GPage grown = src.pages.at(m.a + m.len - kPageSize);
    grown.value = 0;
    grown.off += 1;
    model_.Unmap(src, m.a, m.len);
    model_.Unmap(src, m.target, m.new_len);
    uint64_t seg = model_.NewSeg();
    for (uint64_t i = 0; i < m.new_len / kPageSize; ++i) {
      GPage page = i < moved.size() ? moved[i] : grown;
      page.seg = seg;
      src.pages[m.target + i * kPageSize] = page;
    }
  }

  bool Resize(uint32_t pid, GProc& proc) {
    uint64_t a, len, run_end;
    if (!PickSource(proc, &a, &len, &run_end)) return false;
    const GPage last = proc.pages.at(a + len - kPageSize);
    bool can_grow =
        !last.shared && a + len == run_end && !proc.pages.count(a + len);
    uint64_t new_len;
    if (can_grow && (len == kPageSize || rng_.Chance(50))) {
      new_len = len + rng_.Range(1, 4) * kPageSize;
      if (!InWindow(a, new_len) ||
          model_.AnyMapped(proc, a + len, new_len - len))
        return false;
    } else if (len > kPageSize) {
      new_len = rng_.Range(1, len / kPageSize - 1) * kPageSize;
    } else {
      return false;
    }
    out_.Op(pid, "mremap " + Hex(a) + " " + Len(len) + " " + Len(new_len));
    if (new_len < len) {
      model_.Unmap(proc, a + new_len, len - new_len);
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
    auto [lo, hi] = model_.MappedRun(proc, p);
    *a = rng_.Chance(30) ? lo : p;
    uint64_t max = std::min<uint64_t>((hi - *a) / kPageSize, 8);
    *len = rng_.Range(1, max) * kPageSize;
    return true;
  }

  bool Dontneed(uint32_t pid, GProc& proc) {
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) + " dontneed");
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
    static constexpr const char* kAdvice[] = {"dontfork", "dofork",
                                              "wipeonfork", "keeponfork"};
    int which = static_cast<int>(rng_.Below(any_shared ? 2 : 4));
    out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) + " " + kAdvice[which]);
    model_.Reseg(proc, a, len);
    for (uint64_t p = a; p < a + len; p += kPageSize) {
      GPage& page = proc.pages.at(p);
      if (which < 2)
        page.dontfork = which == 0;
      else
        page.wipeonfork = which == 2;
    }
    return true;
  }

  bool Fork(uint32_t pid, GProc& proc) {
    if (static_cast<int>(model_.procs().size()) >= opts_.procs) return false;
    uint32_t child = next_pid_++;
    out_.Op(pid, "fork " + std::to_string(child));
    model_.Fork(proc, child);
    return true;
  }

  bool Exit(uint32_t pid) {
    if (p_.exec_percent && rng_.Chance(p_.exec_percent)) {
      out_.Op(pid, "exec");  // a new, empty address space; pins go with the old
      model_.procs()[pid] = GProc{};
      return true;
    }
    if (model_.procs().size() <= 1) return false;
    out_.Op(pid, "exit");
    model_.procs().erase(pid);
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
    int line = out_.NextLine();
    out_.Op(pid, s);
    // x86: a writable page is readable; an exec-only one is not (PKU).
    int need = write ? kProtWrite : kProtRead | kProtWrite;
    for (uint64_t p = a; p < a + len; p += kPageSize) {
      auto it = proc.pages.find(p);
      if (it == proc.pages.end() || !(it->second.prot & need)) break;  // EFAULT
      if (write)
        model_.Content(it->second) =
            explicit_value ? value : DefaultWriteValue(line, pid, p);
    }
    return true;
  }

  bool Expect(uint32_t pid, GProc& proc) {
    uint64_t a = AnyPage(proc);
    // The native replayer cannot read a swapped-out shmem page without
    // swapping it in, so with swap ops around, expect only private pages.
    if (p_.sys_ops && proc.pages.at(a).shared) return false;
    uint64_t v = model_.Content(proc.pages.at(a));
    uint64_t len = kPageSize;
    while (len < 4 * kPageSize && proc.pages.count(a + len) &&
           !(p_.sys_ops && proc.pages.at(a + len).shared) &&
           model_.Content(proc.pages.at(a + len)) == v && rng_.Chance(70))
      len += kPageSize;
    std::string s = "expect " + Hex(a);
    if (len > kPageSize) s += " " + Len(len);
    out_.Op(pid, s + " =" + Hex(v));
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
    if (len == 0 || model_.AnyPinned(proc, a, len)) return false;
    len = rng_.Range(1, len / kPageSize) * kPageSize;
    out_.Op(pid, "pin " + Hex(a) + " " + Len(len));
    for (uint64_t p = a; p < a + len; p += kPageSize)
      proc.pages.at(p).pinned = true;
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
    out_.Op(pid, s + " =" + Hex(value));
    for (uint64_t p = a; p < a + len; p += kPageSize)
      if (!pin.detached.count(p)) proc.pages.at(p).value = value;
    return true;
  }

  bool Unpin(uint32_t pid, GProc& proc) {
    if (proc.pins.empty()) return false;
    size_t i = rng_.Below(proc.pins.size());
    GPin pin = proc.pins[i];
    proc.pins.erase(proc.pins.begin() + i);
    out_.Op(pid, "unpin " + Hex(pin.addr) + " " + Len(pin.len));
    for (uint64_t p = pin.addr; p < pin.addr + pin.len; p += kPageSize)
      if (proc.pages.count(p)) proc.pages.at(p).pinned = false;
    return true;
  }

  bool Dump(uint32_t pid, GProc& proc) {
    if (rng_.Chance(50)) {
      out_.Op(pid, "maps");
      return true;
    }
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    out_.Op(pid, "pagemap " + Hex(a) + " " + Len(len));
    return true;
  }

  // KSM, reclaim, swap and migration (profiles `swap`, `all`); none changes
  // what a page holds.
  bool System(uint32_t pid, GProc& proc) {
    uint64_t a, len;
    PickMapped(proc, &a, &len);
    if (p_.thp && rng_.Chance(50)) PickBlocks(proc, &a, &len);  // whole folios
    unsigned op;
    do op = static_cast<unsigned>(rng_.Below(p_.thp ? 11 : 8));
    while (!(p_.sys_ops >> op & 1));
    if (op >= 8) return ThpOp(op, pid, proc);
    switch (op) {
      case 0:
        out_.Line("* ksm " + std::to_string(rng_.Range(1, 200)));
        break;
      case 1:
        out_.Line("* ksm full");
        break;
      case 2:
        out_.Line("* reclaim " + std::to_string(rng_.Range(1, 64)));
        break;
      case 3:
        out_.Line("* swapoff");
        break;
      case 4:
        out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) + " pageout");
        break;
      case 5:
        out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) + " cold");
        break;
      case 6:
        out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) +
                         (rng_.Chance(70) ? " mergeable" : " unmergeable"));
        break;
      default:
        out_.Op(pid, "migrate " + Hex(a) + " " + Len(len) + " 0");
        break;
    }
    return true;
  }

  // [a, a+len): the 2 MiB blocks (one or two) around a random mapped page.
  void PickBlocks(GProc& proc, uint64_t* a, uint64_t* len) {
    *a = AnyPage(proc) / kBlock * kBlock;
    *len = rng_.Range(1, 2) * kBlock;
    if (!InWindow(*a, *len)) *len = kBlock;
  }

  // Profile thp's sys ops: 8 a policy, 9 hugepage/nohugepage (a vma flag,
  // so vmas may split: fresh segs), 10 collapse (contents stay; never over
  // a pin, whose frame would stay behind, nor over a shared mapping, whose
  // collapse (collapse_file) the model does not have).
  bool ThpOp(unsigned op, uint32_t pid, GProc& proc) {
    if (op == 8) {
      ThpPolicy();
      return true;
    }
    uint64_t a, len;
    if (rng_.Chance(50))
      PickBlocks(proc, &a, &len);
    else
      PickMapped(proc, &a, &len);
    if (op == 10) {
      if (model_.AnyPinned(proc, a, len) || model_.AnyShared(proc, a, len))
        return false;
      out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) + " collapse");
      return true;
    }
    out_.Op(pid, "madvise " + Hex(a) + " " + Len(len) +
                     (rng_.Chance(75) ? " hugepage" : " nohugepage"));
    model_.Reseg(proc, a, len);
    return true;
  }

  GenOptions opts_;
  const Profile& p_;
  Rng rng_;
  uint64_t base_ = 0, end_ = 0;  // the window [base_, end_)
  ShadowModel model_;
  Emitter out_;
  struct MoveRecord {
    uint32_t pid;
    uint64_t from, to, len;
  };
  std::vector<MoveRecord> moves_;
  uint32_t next_pid_ = 2;
};

}  // namespace

std::vector<std::string> GenProfiles() {
  std::vector<std::string> names;
  for (const Profile& p : kProfiles) names.push_back(p.name);
  return names;
}

Result<std::string> GenerateTrace(const GenOptions& opts) {
  if (opts.ops < 0 || opts.ops > 1000000)
    return Status::Error("--ops must be in 0..1000000");
  if (opts.procs < 1 || opts.procs > 10000)
    return Status::Error("--procs must be in 1..10000");
  for (const Profile& p : kProfiles) {
    if (opts.profile == p.name) return Generator(opts, p).Run();
  }
  return Status::Error("unknown profile '" + opts.profile +
                       "' (known: default, fork, vma, pins, swap, all)");
}

}  // namespace rmaplab
