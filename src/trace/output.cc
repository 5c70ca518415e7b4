// output.cc: printing in the spec's formats (see rmaplab/output.h).
#include "rmaplab/output.h"

#include <cinttypes>
#include <cstdio>

namespace rmaplab {

std::string ProtText(int prot) {
  std::string s = "---";
  if (prot & kProtRead) s[0] = 'r';
  if (prot & kProtWrite) s[1] = 'w';
  if (prot & kProtExec) s[2] = 'x';
  return s;
}

std::string FormatMapsLine(const MapsEntry& e) {
  char buf[128];
  std::snprintf(
      buf, sizeof buf, "%" PRIx64 "-%" PRIx64 " %c%c%c%c %08" PRIx64 " 00:00 0",
      e.start, e.end, (e.prot & kProtRead) ? 'r' : '-',
      (e.prot & kProtWrite) ? 'w' : '-', (e.prot & kProtExec) ? 'x' : '-',
      e.shared ? 's' : 'p', e.offset);
  return buf;
}

std::string FormatPagemapLine(const PagemapEntry& e) {
  char buf[160];
  switch (e.state) {
    case PageState::kNone:
      std::snprintf(buf, sizeof buf, "%" PRIx64 " none", e.addr);
      break;
    case PageState::kSwapped:
      std::snprintf(buf, sizeof buf, "%" PRIx64 " swapped", e.addr);
      break;
    case PageState::kPresent:
      std::snprintf(buf, sizeof buf,
                    "%" PRIx64 " present %s%s%s%s value=0x%" PRIx64, e.addr,
                    e.exclusive ? "exclusive" : "shared", e.zero ? " zero" : "",
                    e.ksm ? " ksm" : "", e.thp ? " thp" : "", e.value);
      break;
  }
  return buf;
}

void PrintMaps(std::ostream& out, uint32_t pid, int line,
               const std::vector<MapsEntry>& vmas) {
  out << "# maps pid=" << pid << " line=" << line << '\n';
  for (const MapsEntry& e : vmas) out << FormatMapsLine(e) << '\n';
}

void PrintPagemap(std::ostream& out, uint32_t pid, int line,
                  const std::vector<PagemapEntry>& pages) {
  out << "# pagemap pid=" << pid << " line=" << line << '\n';
  for (const PagemapEntry& e : pages) out << FormatPagemapLine(e) << '\n';
}

void PrintStats(std::ostream& out, int line,
                const std::vector<std::pair<std::string, uint64_t>>& kv) {
  out << "# stats line=" << line << '\n';
  for (const auto& [k, v] : kv) out << k << ' ' << v << '\n';
}

void PrintStats(std::ostream& out, int line, const Stats& stats) {
  PrintStats(out, line, StatsEntries(stats));
}

void PrintOpError(std::ostream& out, const Op& op, Errno e) {
  out << "error line=" << op.line << " op=" << OpName(op.kind)
      << " errno=" << ErrnoName(e) << '\n';
}

std::string_view ErrnoName(Errno e) {
  switch (e) {
    case Errno::kOk:
      return "0";
    case Errno::kEPERM:
      return "EPERM";
    case Errno::kESRCH:
      return "ESRCH";
    case Errno::kENOMEM:
      return "ENOMEM";
    case Errno::kEFAULT:
      return "EFAULT";
    case Errno::kEBUSY:
      return "EBUSY";
    case Errno::kEEXIST:
      return "EEXIST";
    case Errno::kEINVAL:
      return "EINVAL";
    case Errno::kEAGAIN:
      return "EAGAIN";
    case Errno::kENODEV:
      return "ENODEV";
    case Errno::kENOSYS:
      return "ENOSYS";
    case Errno::kExpect:
      return "EXPECT";
  }
  return "?";
}

}  // namespace rmaplab
