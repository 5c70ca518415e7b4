// options.h: command-line helpers shared by the rmaplab subcommands.
#ifndef RMAPLAB_TOOLS_OPTIONS_H_
#define RMAPLAB_TOOLS_OPTIONS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "rmaplab/trace.h"

namespace rmaplab {

// `--mem 64M`-style sizes, in pages.  "0" is accepted only where
// `allow_zero` (no swap at all).  On error says why on `err`.
inline bool ParseSizeOption(const std::string& cmd, const std::string& name,
                            const std::string& value, bool allow_zero,
                            uint64_t* pages, std::ostream& err) {
  if (allow_zero && value == "0") {
    *pages = 0;
    return true;
  }
  Result<uint64_t> len = ParseLength(value);
  if (!len.ok()) {
    err << "rmaplab " << cmd << ": " << name << " " << value << ": "
        << len.status().message() << " (a size like 64M)\n";
    return false;
  }
  *pages = len.value() / kPageSize;
  return true;
}

}  // namespace rmaplab

#endif  // RMAPLAB_TOOLS_OPTIONS_H_
