// trace.h: the trace language of docs/trace-format.md, version 2 (version 1
// plus `exec`, the `thp` op and the hugepage/nohugepage/collapse advice).
//
// A Trace is a list of Ops, one per non-blank, non-comment line.  Parsing
// checks everything the language itself forbids (unknown op, bad number,
// misaligned address, zero length, address outside the user range); what
// Linux would refuse at run time (overlap, ENOMEM, an exited pid) is left to
// the replay, which reports it as an errno.
#ifndef RMAPLAB_TRACE_H_
#define RMAPLAB_TRACE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rmaplab/mm_types.h"  // kPageSize, kPageShift
#include "rmaplab/status.h"

namespace rmaplab {

// User addresses lie in [kUserMin, kUserMax).
inline constexpr uint64_t kUserMin = 0x10000;
inline constexpr uint64_t kUserMax = 0x7ffffffff000;

enum class OpKind {
  kMmap,
  kMunmap,
  kMprotect,
  kMremap,
  kMadvise,
  kRead,
  kWrite,
  kExpect,
  kFork,
  kExit,
  kExec,  // version 2: a new, empty address space for the same pid
  kPin,
  kDmaWrite,
  kUnpin,
  kMigrate,
  kMaps,
  kPagemap,
  // System ops (actor `*`).
  kKsm,
  kReclaim,
  kSwapoff,
  kThp,  // `* thp SIZE MODE`: the THP policy of one folio size
  kStats,
};

enum class Advice {
  kDontneed,
  kMergeable,
  kUnmergeable,
  kPageout,
  kCold,
  kDontfork,
  kDofork,
  kWipeonfork,
  kKeeponfork,
  kHugepage,    // MADV_HUGEPAGE
  kNohugepage,  // MADV_NOHUGEPAGE
  kCollapse,    // MADV_COLLAPSE
};

// A folio size's THP policy (hugepages-<SIZE>kB/enabled).
enum class ThpMode { kNever, kMadvise, kAlways, kInherit };

// Folio orders the `thp` op names: 16K (order 2) to 2M (the PMD order).
inline constexpr int kThpMinOrder = 2;
inline constexpr int kPmdOrder = 9;
inline constexpr uint64_t kPmdSize = kPageSize << kPmdOrder;  // 2 MiB

// PROT_* bits as in <sys/mman.h>.
inline constexpr int kProtRead = 1;
inline constexpr int kProtWrite = 2;
inline constexpr int kProtExec = 4;

std::string_view OpName(OpKind kind);
std::string_view AdviceName(Advice advice);
std::string_view ThpModeName(ThpMode mode);

// One trace line.  Fields not used by an op keep their defaults.
struct Op {
  OpKind kind = OpKind::kStats;
  int line = 0;      // 1-based line in the trace file
  uint32_t pid = 0;  // 0 for a system op (`*`)
  uint64_t addr = 0;
  uint64_t len = 0;       // mremap: OLDLEN
  uint64_t new_len = 0;   // mremap: NEWLEN
  uint64_t new_addr = 0;  // mremap: NEWADDR when `has_new_addr`
  bool has_new_addr = false;
  int prot = 0;         // mmap, mprotect
  bool shared = false;  // mmap
  Advice advice = Advice::kDontneed;
  bool has_value =
      false;  // write: `=VALUE` given (always for expect, dmawrite)
  uint64_t value = 0;
  uint32_t child = 0;     // fork
  int node = 0;           // migrate
  uint64_t pages = 0;     // ksm, reclaim
  bool ksm_full = false;  // `* ksm full`
  int thp_order = 0;      // thp: log2(SIZE / 4 KiB), kThpMinOrder..kPmdOrder
  ThpMode thp_mode = ThpMode::kNever;  // thp
};

struct Trace {
  std::string path;  // for messages
  std::vector<Op> ops;
};

// Parses a whole trace.  On error the Status message is
// "FILE:LINE:COLUMN: what is wrong".
Result<Trace> ParseTrace(std::string_view text, std::string_view path);
Result<Trace> ParseTraceFile(const std::string& path);

// A length as the trace language writes it ("64K", "0x1000", "4096"):
// non-zero and page aligned.  Command-line sizes use it too.
Result<uint64_t> ParseLength(std::string_view text);

// The value a `write` without `=VALUE` stores: the spec's splitmix formula.
uint64_t DefaultWriteValue(uint64_t line, uint64_t pid, uint64_t addr);

// The value a write op stores at `addr`.
inline uint64_t WriteValue(const Op& op, uint64_t addr) {
  return op.has_value ? op.value : DefaultWriteValue(op.line, op.pid, addr);
}

}  // namespace rmaplab

#endif  // RMAPLAB_TRACE_H_
