// options.h: command-line helpers shared by the rmaplab subcommands.
#ifndef RMAPLAB_TOOLS_OPTIONS_H_
#define RMAPLAB_TOOLS_OPTIONS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "rmaplab/trace.h"

namespace rmaplab {

// `--mem 64M`-style sizes, in pages.  "0" is accepted only where
// `allow_zero` (no swap at all).  The error says what is wrong with `value`.
inline Result<uint64_t> ParseSizePages(const std::string& value,
                                       bool allow_zero) {
  if (allow_zero && value == "0") return uint64_t{0};
  Result<uint64_t> len = ParseLength(value);
  if (!len.ok()) {
    return Status::Error(len.status().message() + " (a size like 64M)");
  }
  return len.value() / kPageSize;
}

// The same, for a hand parser: on error says why on `err`.
inline bool ParseSizeOption(const std::string& cmd, const std::string& name,
                            const std::string& value, bool allow_zero,
                            uint64_t* pages, std::ostream& err) {
  Result<uint64_t> n = ParseSizePages(value, allow_zero);
  if (!n.ok()) {
    err << "rmaplab " << cmd << ": " << name << " " << value << ": "
        << n.status().message() << "\n";
    return false;
  }
  *pages = n.value();
  return true;
}

}  // namespace rmaplab

#endif  // RMAPLAB_TOOLS_OPTIONS_H_
