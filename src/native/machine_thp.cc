// machine_thp.cc: the transparent-huge-page policy through
// /sys/kernel/mm/transparent_hugepage (Documentation/admin-guide/mm/
// transhuge.rst), set to the spec's start-of-trace policy and changed by
// `* thp SIZE MODE`; every file is saved before its first write and
// restored by the restore log (machine.h, invariant 2).
//
// khugepaged must collapse nothing on its own during a run ("Large
// folios" in the spec).  It cannot be stopped while 2M is enabled, so:
// max_ptes_none/swap/shared 0 (it would need a fully mapped, exclusive,
// resident block), one scan round of few pages, and a day's sleep between
// rounds.  It scans at once when it finds its mm list empty, so the
// controller keeps one mm registered (a 4 KiB MADV_HUGEPAGE mapping of its
// own) from before the first trace op.  pages_collapsed is compared at the
// end of the run (Machine::CheckNoCollapse): a collapse is reported, never
// silently printed as the kernel's own behaviour.
//
// The THP counters of `stats` (Machine::ReadThpCounters) are read where the
// model's names say (include/rmaplab/stats.h):
//  (1) a key `thp_NAME` is the /proc/vmstat line `thp_NAME`;
//  (2) a key `NAME_<SIZE>kB` is hugepages-<SIZE>kB/stats/NAME;
//  (3) a key whose file or line this kernel lacks is left out;
//  (4) nothing is written: reading a counter changes no state.
#include <sys/mman.h>

#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "native/machine.h"
#include "native/restore_log.h"
#include "rmaplab/stats.h"

namespace rmaplab::native {
namespace {

const std::string kThp = "/sys/kernel/mm/transparent_hugepage/";

std::string SizeDir(int order) {
  return kThp + "hugepages-" + std::to_string((4096u << order) >> 10) + "kB/";
}

uint64_t PagesCollapsed() {
  Result<std::string> v = ReadSmallFile(kThp + "khugepaged/pages_collapsed");
  return v.ok() ? std::stoull(v.value()) : 0;
}

std::string ModeName(ThpMode m) { return std::string(ThpModeName(m)); }

using Vmstat = std::map<std::string, uint64_t, std::less<>>;

Result<Vmstat> ReadVmstat() {
  Result<std::string> text = ReadSmallFile("/proc/vmstat");
  if (!text.ok()) return text.status();
  Vmstat vmstat;
  std::istringstream in(text.value());
  std::string name;
  uint64_t value;
  while (in >> name >> value) vmstat.emplace(name, value);
  return vmstat;
}

// The per-size file of a key `NAME_<SIZE>kB` (rule 2), or "".
std::string PerSizeStatFile(std::string_view key) {
  if (!key.ends_with("kB")) return "";
  size_t cut = key.rfind('_');
  if (cut == std::string_view::npos || cut + 3 >= key.size()) return "";
  std::string_view size = key.substr(cut + 1, key.size() - cut - 3);
  for (char c : size)
    if (!std::isdigit(static_cast<unsigned char>(c))) return "";
  return kThp + "hugepages-" + std::string(size) + "kB/stats/" +
         std::string(key.substr(0, cut));
}

// The counter `key` on this kernel, or nullopt: not a THP counter, or one
// this kernel does not keep (rule 3).
std::optional<uint64_t> ReadThpCounter(std::string_view key,
                                       const Vmstat& vmstat) {
  if (key.starts_with("thp_")) {
    auto it = vmstat.find(key);
    if (it == vmstat.end()) return std::nullopt;
    return it->second;
  }
  std::string file = PerSizeStatFile(key);
  if (file.empty()) return std::nullopt;
  Result<std::string> v = ReadSmallFile(file);
  if (!v.ok()) return std::nullopt;
  return std::stoull(v.value());
}

}  // namespace

Status Machine::EnsureThp() {
  if (thp_ready_) return Status::Ok();
  if (!ReadSmallFile(kThp + "enabled").ok())
    return Status::Error(
        "transparent huge pages are not available "
        "(no /sys/kernel/mm/transparent_hugepage)");
  // The spec's start-of-trace policy, khugepaged's knobs last-but-one.
  std::vector<std::pair<std::string, std::string>> writes = {
      {"enabled", "madvise"},
      {"use_zero_page", "1"},
      {"khugepaged/max_ptes_none", "0"},
      {"khugepaged/max_ptes_swap", "0"},
      {"khugepaged/max_ptes_shared", "0"},
      {"khugepaged/pages_to_scan", "8"},
      {"khugepaged/alloc_sleep_millisecs", "86400000"},
      {"khugepaged/scan_sleep_millisecs", "86400000"},
  };
  for (int order = kThpMinOrder; order <= kPmdOrder; ++order) {
    std::string file = SizeDir(order) + "enabled";
    if (!ReadSmallFile(file).ok()) continue;  // a size this kernel lacks
    writes.emplace_back(file.substr(kThp.size()),
                        order == kPmdOrder ? "inherit" : "never");
  }
  for (const auto& [name, value] : writes) {
    if (Status s = RestoreLogSaveFile(kThp + name); !s.ok()) return s;
    if (Status s = WriteSysfs(kThp + name, value); !s.ok()) return s;
  }
  // Keep khugepaged's mm list non-empty: a write gives the mapping an
  // anon_vma, without which MADV_HUGEPAGE does not register the mm.
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status::Error("mmap for khugepaged: failed");
  khugepaged_keepalive_ = p;  // unmapped by ~Machine
  *static_cast<volatile char*>(p) = 1;
  if (madvise(p, 4096, MADV_HUGEPAGE) != 0)
    return Status::Error("madvise(MADV_HUGEPAGE) for khugepaged: failed");
  collapsed_base_ = PagesCollapsed();
  thp_ready_ = true;
  return Status::Ok();
}

Status Machine::SetThp(int order, ThpMode mode) {
  if (Status s = EnsureThp(); !s.ok()) return s;
  std::string file = SizeDir(order) + "enabled";
  if (!ReadSmallFile(file).ok())
    return Status::Error("this kernel has no " + file);
  return WriteSysfs(file, ModeName(mode));
}

Status Machine::CheckNoCollapse() const {
  if (!thp_ready_) return Status::Ok();
  uint64_t now = PagesCollapsed();
  if (now == collapsed_base_) return Status::Ok();
  return Status::Error("khugepaged collapsed " +
                       std::to_string(now - collapsed_base_) +
                       " pages during the run (machine-wide); the output may "
                       "show its work, not the trace's");
}

Result<ThpCounters> Machine::ReadThpCounters() const {
  Result<Vmstat> vmstat = ReadVmstat();
  if (!vmstat.ok()) return vmstat.status();
  ThpCounters counters;
  for (const StatField& f : kStatFields) {
    if (std::optional<uint64_t> v = ReadThpCounter(f.name, vmstat.value()))
      counters.emplace_back(std::string(f.name), *v);
  }
  return counters;
}

}  // namespace rmaplab::native
