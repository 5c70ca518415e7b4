// gen.h: a deterministic generator of random, valid traces that stress the
// rules where a model of Linux anonymous memory goes wrong: fork trees and
// COW, mprotect split/merge storms, mremap moves next to faulted and
// unfaulted neighbours (and back), in-place grow and shrink, munmap holes,
// exits, exec (profile fork), MADV_DONTNEED, dontfork/wipeonfork, shared
// mappings, long-term pins and DMA writes through them.
//
// The generator keeps its own page-by-page picture of every process (what
// is mapped, with which protection, and what each page holds), so:
//  (1) the same GenOptions always give the same text, byte for byte;
//  (2) every `expect` states the value the page must hold under Linux
//      semantics, and the ops it emits that must fail (overlapping mmap,
//      access to unmapped or protected pages, mprotect over a hole) are
//      chosen knowingly; mremap is only emitted on a range that is surely
//      inside one VMA (the generator does not need to know Linux's merge
//      rules for that);
//  (3) addresses stay inside one small window in [0x100000000,
//      0x200000000000), so ops collide and the trace also runs natively;
//  (4) the trace ends with `maps` and `pagemap` of every live process.
// Thread-safety: pure functions of their arguments.
#ifndef RMAPLAB_GEN_H_
#define RMAPLAB_GEN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rmaplab/status.h"

namespace rmaplab {

struct GenOptions {
  uint64_t seed = 1;
  int ops = 60;   // ops before the final dumps
  int procs = 4;  // at most this many live processes at once
  // One of GenProfiles(): default, fork, vma, pins, swap, all, ksm, thp.
  // `thp` maps 2 MiB-aligned arenas of whole 2 MiB blocks and adds `* thp`
  // policies, hugepage/nohugepage/collapse advice, KSM, reclaim, pageout
  // and migrate.  Only
  // `swap` (pageout, cold, swapoff, migrate), `all` (also reclaim, ksm,
  // mergeable) and `ksm` (ksm, reclaim, swapoff, pageout, mergeable, with
  // write values from a set of three so that KSM merges) emit these ops.
  std::string profile = "default";
};

std::vector<std::string> GenProfiles();

// The trace text, or an error for bad options.
Result<std::string> GenerateTrace(const GenOptions& opts);

}  // namespace rmaplab

#endif  // RMAPLAB_GEN_H_
