// writer.h: what the scenario generators share: a trace writer that
// spells ops in the trace language, and the generators themselves.
//
// Invariants:
//  (1) Addresses a writer emits lie in [kScenarioBase, 0x200000000000), the
//      range a trace meant to run natively too keeps to.
//  (2) Sizes are written as `NK` (a page count times 4 KiB), never zero.
// Thread-safety: a TraceWriter is a value; use one per generator call.
#ifndef RMAPLAB_SCENARIO_WRITER_H_
#define RMAPLAB_SCENARIO_WRITER_H_

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "rmaplab/scenario.h"
#include "rmaplab/trace.h"
#include "trace/splitmix.h"

namespace rmaplab::scenario {

inline constexpr uint64_t kScenarioBase = 0x100000000;

using ::rmaplab::SplitMix;  // trace/splitmix.h

class TraceWriter {
 public:
  void Comment(std::string_view text) { out_ << "# " << text << '\n'; }
  // `PID OP ...` for a process op; `args` is the rest of the line.
  void Op(uint64_t pid, std::string_view op, std::string_view args = "") {
    out_ << pid << ' ' << op;
    if (!args.empty()) out_ << ' ' << args;
    out_ << '\n';
  }
  // `* OP ...` for a system op.
  void Sys(std::string_view op, std::string_view args = "") {
    out_ << "* " << op;
    if (!args.empty()) out_ << ' ' << args;
    out_ << '\n';
  }
  // The common shapes, [addr, addr + pages * 4K).
  void Mmap(uint64_t pid, uint64_t addr, uint64_t pages,
            std::string_view prot = "rw") {
    Op(pid, "mmap", Range(addr, pages) + " " + std::string(prot));
  }
  void Write(uint64_t pid, uint64_t addr, uint64_t pages) {
    Op(pid, "write", Range(addr, pages));
  }
  void WriteValue(uint64_t pid, uint64_t addr, uint64_t value) {
    Op(pid, "write", Hex(addr) + " =" + Hex(value));
  }
  void Read(uint64_t pid, uint64_t addr, uint64_t pages) {
    Op(pid, "read", Range(addr, pages));
  }
  void Fork(uint64_t pid, uint64_t child) {
    Op(pid, "fork", std::to_string(child));
  }
  std::string Take() { return out_.str(); }

  static std::string Hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
  }
  static std::string Size(uint64_t pages) {
    return std::to_string(pages * (kPageSize / 1024)) + "K";
  }
  static std::string Range(uint64_t addr, uint64_t pages) {
    return Hex(addr) + " " + Size(pages);
  }

 private:
  std::ostringstream out_;
};

// Memory for a working set of `pages` of which `percent` fit; 0 (no
// limit) from 100 % up.  Never below 16 pages, so reclaim has room.
inline uint64_t PressurePages(uint64_t pages, uint64_t percent) {
  if (percent >= 100) return 0;
  uint64_t mem = pages * percent / 100;
  return mem < 16 ? 16 : mem;
}

// The generators (fork.cc, vma.cc, memory.cc).
ScenarioTrace ForkServer(const ScenarioArgs& a);
ScenarioTrace DeepForkTree(const ScenarioArgs& a);
ScenarioTrace ForkTreeMigrate(const ScenarioArgs& a);
ScenarioTrace ForkingTask(const ScenarioArgs& a);
ScenarioTrace VmaChurn(const ScenarioArgs& a);
ScenarioTrace MremapAfterFork(const ScenarioArgs& a);
ScenarioTrace AppLaunch(const ScenarioArgs& a);
ScenarioTrace SwapStorm(const ScenarioArgs& a);
ScenarioTrace Swapoff(const ScenarioArgs& a);
ScenarioTrace KvmGuests(const ScenarioArgs& a);

}  // namespace rmaplab::scenario

#endif  // RMAPLAB_SCENARIO_WRITER_H_
