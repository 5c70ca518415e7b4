// machine_ksm.cc: driving ksmd through /sys/kernel/mm/ksm
// (Documentation/admin-guide/mm/ksm.rst; mm/ksm.c ksm_scan_thread).
//
// ksmd scans `pages_to_scan` pages per batch while `run` is 1, sleeping
// `sleep_millisecs` between batches; writing `sleep_millisecs` wakes it from
// that sleep, and writing `run` waits for the batch in progress
// (ksm_thread_mutex).  smart_scan is turned off so that every candidate page
// is visited on every pass, as the model does.  max_page_sharing and
// use_zero_pages are set to the trace's KsmTunables (Linux's defaults unless
// asked otherwise); Linux changes max_page_sharing only while no KSM page
// exists (EBUSY otherwise), so a run that needs another value says so.
#include <time.h>

#include <string>

#include "native/machine.h"
#include "native/restore_log.h"

namespace rmaplab::native {
namespace {

const std::string kKsm = "/sys/kernel/mm/ksm/";
constexpr unsigned kLongSleepMs = 600000;

uint64_t ReadKsmValue(const char* name) {
  Result<std::string> v = ReadSmallFile(kKsm + name);
  return v.ok() ? std::stoull(v.value()) : 0;
}

void SleepMs(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

struct PassSample {
  uint64_t shared, sharing, unshared;
  bool operator==(const PassSample&) const = default;
};

PassSample SamplePass() {
  return {ReadKsmValue("pages_shared"), ReadKsmValue("pages_sharing"),
          ReadKsmValue("pages_unshared")};
}

}  // namespace

Status Machine::EnsureKsm() {
  if (ksm_ready_) return Status::Ok();
  if (ReadSmallFile(kKsm + "run").ok() == false) {
    return Status::Error("KSM is not available (no /sys/kernel/mm/ksm)");
  }
  for (const char* name :
       {"run", "pages_to_scan", "sleep_millisecs", "smart_scan",
        "max_page_sharing", "use_zero_pages"}) {
    if (!ReadSmallFile(kKsm + name).ok()) continue;  // older kernels
    Status s = RestoreLogSaveFile(kKsm + name);
    if (!s.ok()) return s;
  }
  Status s = WriteSysfs(kKsm + "run", "0");
  if (s.ok() && ReadSmallFile(kKsm + "smart_scan").ok()) {
    s = WriteSysfs(kKsm + "smart_scan", "0");
  }
  if (s.ok()) s = DropStaleKsmState();
  if (s.ok())
    s = SetKsmTunable("max_page_sharing", ksm_tunables_.max_page_sharing);
  if (s.ok()) s = SetKsmTunable("use_zero_pages", ksm_tunables_.use_zero_pages);
  if (!s.ok()) return s;
  ksm_ready_ = true;
  return Status::Ok();
}

// ksmd frees an exited mm's rmap_items, and the stable nodes whose pages
// are gone, only when it scans (ksm_test_exit): after an earlier run, the
// counters hold KSM pages no one maps.  Scan (no trace area is mergeable
// yet) until two passes changed nothing, or nothing is scanned for 200 ms.
Status Machine::DropStaleKsmState() {
  PassSample last = SamplePass();
  if (last == PassSample{0, 0, 0}) return DropEmptyChains();
  Status s = WriteSysfs(kKsm + "pages_to_scan", "1000");
  if (s.ok()) s = WriteSysfs(kKsm + "sleep_millisecs", "0");
  if (s.ok()) s = WriteSysfs(kKsm + "run", "1");
  if (!s.ok()) return s;
  uint64_t start = ReadKsmValue("full_scans"), seen = start;
  uint64_t scanned = ReadKsmValue("pages_scanned");
  for (int waited = 0, idle = 0; waited < 5000 && idle < 200; ++waited) {
    SleepMs(1);
    uint64_t now_scanned = ReadKsmValue("pages_scanned");
    uint64_t now = ReadKsmValue("full_scans");
    idle = now_scanned == scanned && now == seen ? idle + 1 : 0;
    scanned = now_scanned;
    if (now == seen) continue;
    seen = now;
    PassSample sample = SamplePass();
    if (now >= start + 2 && sample == last) break;
    last = sample;
  }
  s = WriteSysfs(kKsm + "run", "0");
  return s.ok() ? DropEmptyChains() : s;
}

// A stable_node_chain whose dups all went stale stays, empty, until a
// search walks over it; with no KSM page left on the machine, changing
// max_page_sharing frees it (remove_all_stable_nodes), and the old value
// goes straight back.
Status Machine::DropEmptyChains() {
  if (ReadKsmValue("stable_node_chains") == 0 ||
      ReadKsmValue("pages_shared") != 0 ||
      !ReadSmallFile(kKsm + "max_page_sharing").ok()) {
    return Status::Ok();
  }
  uint64_t old = ReadKsmValue("max_page_sharing");
  Status s = WriteSysfs(kKsm + "max_page_sharing", std::to_string(old + 1));
  if (s.ok()) s = WriteSysfs(kKsm + "max_page_sharing", std::to_string(old));
  return s;
}

// Writes a KSM knob only if it differs (max_page_sharing: EBUSY while KSM
// pages exist, even when the value is the same one).
Status Machine::SetKsmTunable(const char* name, uint64_t value) {
  if (!ReadSmallFile(kKsm + name).ok() || ReadKsmValue(name) == value) {
    return Status::Ok();
  }
  Status s = WriteSysfs(kKsm + name, std::to_string(value));
  if (s.ok()) return s;
  return Status::Error(std::string("cannot set ksm ") + name + " to " +
                       std::to_string(value) + ": " + s.message() +
                       " (Linux changes max_page_sharing only while no KSM "
                       "page exists)");
}

Status Machine::KsmScan(uint64_t pages) {
  Status s = EnsureKsm();
  if (!s.ok()) return s;
  s = WriteSysfs(kKsm + "pages_to_scan", std::to_string(pages));
  if (!s.ok()) return s;
  // A new sleep value wakes ksmd from a previous op's long sleep.
  s = WriteSysfs(kKsm + "sleep_millisecs",
                 std::to_string(kLongSleepMs + (++ksm_kick_ & 1)));
  if (!s.ok()) return s;
  uint64_t scanned = ReadKsmValue("pages_scanned");
  uint64_t full = ReadKsmValue("full_scans");
  s = WriteSysfs(kKsm + "run", "1");
  if (!s.ok()) return s;
  // With no mergeable area ksmd does not scan at all: give up after 1 s.
  for (int i = 0; i < 1000; ++i) {
    if (ReadKsmValue("pages_scanned") != scanned ||
        ReadKsmValue("full_scans") != full) {
      break;
    }
    SleepMs(1);
  }
  return WriteSysfs(kKsm + "run", "0");  // waits for the batch to finish
}

Status Machine::KsmFull() {
  Status s = EnsureKsm();
  if (!s.ok()) return s;
  s = WriteSysfs(kKsm + "pages_to_scan", "1000");
  if (s.ok()) s = WriteSysfs(kKsm + "sleep_millisecs", "0");
  if (s.ok()) s = WriteSysfs(kKsm + "run", "1");
  if (!s.ok()) return s;
  uint64_t start = ReadKsmValue("full_scans"), seen = start;
  uint64_t scanned = ReadKsmValue("pages_scanned");
  PassSample last = SamplePass();
  bool settled = false;
  int idle = 0;  // ms without any scanning: no mergeable area at all
  for (int waited = 0; waited < 60000 && !settled; ++waited) {
    SleepMs(1);
    uint64_t now = ReadKsmValue("full_scans");
    uint64_t now_scanned = ReadKsmValue("pages_scanned");
    idle = now_scanned == scanned ? idle + 1 : 0;
    scanned = now_scanned;
    if (idle >= 1000) settled = true;
    if (now == seen) continue;
    seen = now;
    PassSample sample = SamplePass();
    settled = now >= start + 2 && sample == last;
    last = sample;
  }
  s = WriteSysfs(kKsm + "run", "0");
  if (!settled) return Status::Error("ksm full: ksmd did not settle in 60 s");
  return s;
}

KsmCounters Machine::ReadKsm() const {
  return {ReadKsmValue("pages_shared"), ReadKsmValue("pages_sharing"),
          ReadKsmValue("stable_node_chains"), ReadKsmValue("stable_node_dups")};
}

}  // namespace rmaplab::native
