// output.h: the printed forms of docs/trace-format.md ("Output", "Errors").
//
// Shared by the simulator and the native replayer so that both print
// byte-identical lines for identical state.
#ifndef RMAPLAB_OUTPUT_H_
#define RMAPLAB_OUTPUT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "rmaplab/stats.h"
#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab {

// One line of `maps`: [start, end), perms, offset.
struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  int prot = 0;      // kProt* bits
  bool shared = false;
  uint64_t offset = 0;  // bytes; 0 for private anonymous memory
};

enum class PageState { kNone, kPresent, kSwapped };

// One line of `pagemap`.
struct PagemapEntry {
  uint64_t addr = 0;
  PageState state = PageState::kNone;
  bool exclusive = false;  // present only: mapped by exactly one PTE
  bool zero = false;       // present only: the shared zero page
  bool ksm = false;        // present only: a KSM page
  bool thp = false;        // present only: part of a large folio (KPF_THP)
  uint64_t value = 0;      // present only
};

// PROT as the trace language spells it in full: "rw-", "r-x", "---".
std::string ProtText(int prot);
std::string FormatMapsLine(const MapsEntry& e);
std::string FormatPagemapLine(const PagemapEntry& e);

void PrintMaps(std::ostream& out, uint32_t pid, int line,
               const std::vector<MapsEntry>& vmas);
void PrintPagemap(std::ostream& out, uint32_t pid, int line,
                  const std::vector<PagemapEntry>& pages);
// "# stats line=N", then "NAME VALUE" for each counter (kStatFields order).
void PrintStats(std::ostream& out, int line, const Stats& stats);
// The same for a subset of the counters (the native replayer's), in order.
void PrintStats(std::ostream& out, int line,
                const std::vector<std::pair<std::string, uint64_t>>& kv);
// "error line=N op=OP errno=ENAME"
void PrintOpError(std::ostream& out, const Op& op, Errno e);

}  // namespace rmaplab

#endif  // RMAPLAB_OUTPUT_H_
