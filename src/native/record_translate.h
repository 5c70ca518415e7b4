// record_translate.h: a recording (kernel events and /proc snapshots, in
// time order) as a trace of ../shared/spec/trace-format.md, version 2.
//
// Each task maps to a trace pid (an "actor", one per mm): the command is 1,
// every fork (clone without CLONE_VM) a new one, numbered in order; threads
// and vfork children share their parent's actor until a vfork child execs,
// which is `fork` then `exec`.  A tracker keeps, per actor, the pieces of
// address space it has seen mapped and what each is: private or shared
// anonymous memory, a private file mapping, or something the trace does not
// show (shared file mappings, vdso).  Translation runs twice over the same
// events: the first pass finds the private file mappings that ever hold an
// anonymous page (a write fault, or an anonymous page at exec) and the
// address classes used; the second writes the trace, relocated.
//
// Invariants of the text written:
//  (1) every op succeeds when replayed: ops only touch pieces the trace
//      mapped, accesses only what the piece's protection allows, and an mmap
//      never overlaps (what a MAP_FIXED mmap replaced is unmapped first);
//  (2) relocation adds one fixed offset per 1 TiB class (addr >> 40), the
//      same for every process, classes keep their order and adjacent
//      classes stay adjacent (a gap of one class between runs), so
//      adjacency, 2 MiB alignment and identity across fork are preserved;
//  (3) every event not written says so: the header counts what was left
//      out and why (faults outside any mapping, MADV_FREE, THP advice, ...).
#ifndef RMAPLAB_NATIVE_RECORD_TRANSLATE_H_
#define RMAPLAB_NATIVE_RECORD_TRANSLATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "native/record_tracer.h"
#include "rmaplab/status.h"

namespace rmaplab::record {

struct TranslateOptions {
  // Before each exit, `pagemap` the actor's private pieces and say in a
  // `# truth` comment how many anonymous pages the kernel reported.
  bool truth = false;
};

struct Translation {
  std::string body;                // the op lines
  std::vector<std::string> notes;  // header comments: relocation, counts
  uint64_t ops = 0;
};

Result<Translation> Translate(const std::vector<RawEvent>& events,
                              const std::vector<Snapshot>& snapshots,
                              const TranslateOptions& opts);

}  // namespace rmaplab::record

#endif  // RMAPLAB_NATIVE_RECORD_TRANSLATE_H_
