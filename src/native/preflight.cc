// preflight.cc: checks that this process can run a trace natively at all.
//
// The workers are forks of this process, so anything this process already
// maps inside the trace address range would collide with the trace's own
// mappings (EEXIST from MAP_FIXED_NOREPLACE).  AddressSanitizer's shadow
// memory is the usual culprit: on x86-64 it covers [0x7fff8000,
// 0x10007fff8000), right where portable traces live.
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "native/native.h"

namespace rmaplab {

bool HostHasPku() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      if (w == "ospke") return true;
    return false;
  }
  return false;
}

std::string NativePreflight() {
  constexpr uint64_t kLo = 0x100000000, kHi = 0x200000000000;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64, &start, &end) != 2)
      continue;
    if (start < kHi && end > kLo) {
      std::ostringstream msg;
      msg << "this process already maps " << std::hex << start << "-" << end
          << " inside the trace range [100000000, 200000000000)"
          << " (a sanitizer's shadow memory?): native replay needs that range "
             "free";
      return msg.str();
    }
  }
  return "";
}

}  // namespace rmaplab
