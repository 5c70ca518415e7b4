// vma.cc: the scenarios that reshape address spaces: mprotect/munmap/mremap
// storms across a fork group, mremap of inherited regions (the case anonmm
// failed in 2004; issue 9 4b), and launching applications with many
// written, mostly never forked vmas (ANON_VMA_LAZY's claim; issue 9 4c).
//
// Invariants:
//  (1) mprotect and munmap only cover pages that are mapped (a munmapped
//      range is mapped again at once), and mremap moves one whole vma that
//      has no neighbour, so no op is refused (scenario.h (2)).
//  (2) A process writes only pages its own picture says are writable.
#include <vector>

#include "scenario/writer.h"

namespace rmaplab::scenario {

namespace {

constexpr uint64_t kMoverPages = 16;
constexpr uint64_t kMoverSlot[2] = {0x180000000, 0x1c0000000};
constexpr uint64_t kSlotStride = 0x1000000;  // 16 MiB between mremap slots

}  // namespace

// `procs` processes of one fork group (pid 1 and its children) each run
// storm steps on their copy of a `pages`-page region: mprotect a random
// range read-only or back to read-write (splits and merges), munmap a range
// and map and write it again, or move a separate 16-page vma between two
// addresses with mremap.  The reverse map must follow every split, merge
// and move.
ScenarioTrace VmaChurn(const ScenarioArgs& a) {
  uint64_t procs = a.Get("procs"), pages = a.Get("pages");
  SplitMix rng(a.Get("seed"));
  TraceWriter w;
  w.Mmap(1, kScenarioBase, pages);
  w.Write(1, kScenarioBase, pages);
  w.Mmap(1, kMoverSlot[0], kMoverPages);
  w.Write(1, kMoverSlot[0], kMoverPages);
  for (uint64_t p = 2; p <= procs; ++p) {
    w.Fork(1, p);
    w.Write(p, kScenarioBase + (p % pages) * kPageSize, 1);
  }
  std::vector<int> mover_at(procs + 1, 0);
  uint64_t steps = a.Get("steps");
  for (uint64_t s = 0; s < steps; ++s) {
    uint64_t pid = 1 + rng.Below(procs);
    uint64_t len = 1 + rng.Below(pages < 16 ? pages : 16);
    uint64_t start = kScenarioBase + rng.Below(pages - len + 1) * kPageSize;
    switch (rng.Below(4)) {
      case 0:
        w.Op(pid, "mprotect", TraceWriter::Range(start, len) + " r");
        break;
      case 1:
        w.Op(pid, "mprotect", TraceWriter::Range(start, len) + " rw");
        w.Write(pid, start, 1);
        break;
      case 2:
        w.Op(pid, "munmap", TraceWriter::Range(start, len));
        w.Mmap(pid, start, len);
        w.Write(pid, start, len);
        break;
      default: {
        int& at = mover_at[pid];
        w.Op(pid, "mremap",
             TraceWriter::Range(kMoverSlot[at], kMoverPages) + " " +
                 TraceWriter::Size(kMoverPages) + " " +
                 TraceWriter::Hex(kMoverSlot[1 - at]));
        at = 1 - at;
        w.Write(pid, kMoverSlot[at] + (s % kMoverPages) * kPageSize, 1);
      }
    }
  }
  return {w.Take(), 0};
}

// Issue 9 4b.  pid 1 writes a `pages`-page region and forks `children`;
// then `moves` times a process (round robin) moves its copy of the region
// to a fresh address and copies one page on write; then every process
// reads its region and reclaim takes everything.
ScenarioTrace MremapAfterFork(const ScenarioArgs& a) {
  uint64_t children = a.Get("children"), pages = a.Get("pages");
  uint64_t procs = children + 1;
  TraceWriter w;
  w.Mmap(1, kScenarioBase, pages);
  w.Write(1, kScenarioBase, pages);
  for (uint64_t c = 0; c < children; ++c) w.Fork(1, 2 + c);
  std::vector<uint64_t> at(procs + 1, kScenarioBase);
  uint64_t moves = a.Get("moves");
  for (uint64_t m = 0; m < moves; ++m) {
    uint64_t pid = 1 + m % procs;
    uint64_t to = kScenarioBase + (m + 1) * kSlotStride;
    w.Op(pid, "mremap",
         TraceWriter::Range(at[pid], pages) + " " + TraceWriter::Size(pages) +
             " " + TraceWriter::Hex(to));
    at[pid] = to;
    w.Write(pid, to + (m % pages) * kPageSize, 1);
  }
  for (uint64_t pid = 1; pid <= procs; ++pid) w.Read(pid, at[pid], pages);
  w.Sys("reclaim", std::to_string(pages * procs + moves));
  return {w.Take(), 0};
}

// Issue 9 4c.  A launcher (pid 1, no anonymous memory of its own) starts
// `apps` applications; each maps `vmas` separate regions of `pages` pages
// (a one-page gap between them, so none merge) and writes them all; every
// fork_every-th application forks one helper that writes one page.
ScenarioTrace AppLaunch(const ScenarioArgs& a) {
  uint64_t apps = a.Get("apps"), vmas = a.Get("vmas"), pages = a.Get("pages");
  uint64_t fork_every = a.Get("fork_every");
  TraceWriter w;
  uint64_t next_pid = 2;
  for (uint64_t app = 0; app < apps; ++app) {
    uint64_t pid = next_pid++;
    w.Fork(1, pid);
    for (uint64_t v = 0; v < vmas; ++v) {
      uint64_t addr = kScenarioBase + v * (pages + 1) * kPageSize;
      w.Mmap(pid, addr, pages);
      w.Write(pid, addr, pages);
    }
    if (fork_every > 0 && app % fork_every == 0) {
      uint64_t helper = next_pid++;
      w.Fork(pid, helper);
      w.Write(helper, kScenarioBase, 1);
    }
  }
  return {w.Take(), 0};
}

}  // namespace rmaplab::scenario
