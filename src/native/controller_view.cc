// controller_view.cc: the ops that look at the kernel's state rather than
// change it: maps, pagemap, expect, stats; and reclaim, which needs the
// same views to choose what to page out (see controller.h, invariant 3).
#include <unordered_set>

#include "native/controller.h"

namespace rmaplab::native {
namespace {

struct SwapSlotHash {
  size_t operator()(const std::pair<uint32_t, uint64_t>& s) const {
    return std::hash<uint64_t>()(s.second * 32 + s.first);
  }
};

}  // namespace

Result<std::vector<ProcVma>> Controller::TraceVmas(const Worker& w) const {
  Result<std::vector<ProcVma>> all = ReadProcMaps(w.pid);
  if (!all.ok()) return all.status();
  std::vector<ProcVma> mine;
  for (const ProcVma& v : all.value()) {
    for (const auto& [start, end] : trace_ranges_) {
      if (v.start < end && start < v.end) {
        mine.push_back(v);
        break;
      }
    }
  }
  return mine;
}

Result<uint64_t> Controller::PageValue(const Worker& w,
                                       const std::vector<ProcVma>& vmas,
                                       uint64_t addr, const PagemapBits& pte) {
  if (pte.present) return ReadMemU64(w.pid, addr);
  if (pte.swapped) return machine_->ReadSwapSlot(pte);
  for (const ProcVma& v : vmas) {
    if (addr < v.start || addr >= v.end) continue;
    // A private page never touched is zero; a shared one may live in the
    // shmem object without being mapped here.
    return v.shared ? ReadShmemValue(w.pid, v, addr) : Result<uint64_t>(0);
  }
  return Status::Error("no mapping at " + std::to_string(addr));
}

Result<std::vector<PagemapEntry>> Controller::PagemapEntries(const Worker& w,
                                                             uint64_t addr,
                                                             uint64_t len) {
  Result<std::vector<PagemapBits>> ptes =
      ReadPagemap(w.pid, addr, len / kPageSize);
  if (!ptes.ok()) return ptes.status();
  std::vector<PagemapEntry> entries;
  for (uint64_t i = 0; i < ptes.value().size(); ++i) {
    const PagemapBits& pte = ptes.value()[i];
    PagemapEntry e;
    e.addr = addr + i * kPageSize;
    e.state = pte.present   ? PageState::kPresent
              : pte.swapped ? PageState::kSwapped
                            : PageState::kNone;
    if (pte.present) {
      e.exclusive = pte.exclusive;
      Result<uint64_t> flags =
          pte.pfn ? ReadKpageflags(pte.pfn) : Status::Error("pfn hidden");
      if (flags.ok()) {
        e.zero = (flags.value() >> kKpfZeroPage) & 1;
        e.ksm = (flags.value() >> kKpfKsm) & 1;
        e.thp = (flags.value() >> kKpfThp) & 1;
      } else if (!warned_no_kpageflags_) {
        warned_no_kpageflags_ = true;
        err_ << "rmaplab native: cannot see the zero, ksm and thp columns ("
             << flags.status().message() << "; needs root)\n";
      }
      Result<uint64_t> v = ReadMemU64(w.pid, e.addr);
      if (!v.ok()) return v.status();
      e.value = v.value();
    }
    entries.push_back(e);
  }
  return entries;
}

Result<Errno> Controller::Maps(const Op& op, const Worker& w) {
  Result<std::vector<ProcVma>> vmas = TraceVmas(w);
  if (!vmas.ok()) return vmas.status();
  std::vector<MapsEntry> entries;
  for (const ProcVma& v : vmas.value()) {
    entries.push_back({v.start, v.end, v.prot, v.shared, v.offset});
  }
  PrintMaps(out_, op.pid, op.line, entries);
  return Errno::kOk;
}

Result<Errno> Controller::Pagemap(const Op& op, const Worker& w) {
  Result<std::vector<PagemapEntry>> entries =
      PagemapEntries(w, op.addr, op.len);
  if (!entries.ok()) return entries.status();
  PrintPagemap(out_, op.pid, op.line, entries.value());
  return Errno::kOk;
}

// An unmapped page has no content to compare: EFAULT, as a read would give.
Result<Errno> Controller::Expect(const Op& op, const Worker& w) {
  Result<std::vector<ProcVma>> vmas = ReadProcMaps(w.pid);
  if (!vmas.ok()) return vmas.status();
  Result<std::vector<PagemapBits>> ptes =
      ReadPagemap(w.pid, op.addr, op.len / kPageSize);
  if (!ptes.ok()) return ptes.status();
  for (uint64_t i = 0; i < ptes.value().size(); ++i) {
    uint64_t addr = op.addr + i * kPageSize;
    bool mapped = false;
    for (const ProcVma& v : vmas.value())
      mapped |= v.start <= addr && addr < v.end;
    if (!mapped) return Errno::kEFAULT;
    Result<uint64_t> v = PageValue(w, vmas.value(), addr, ptes.value()[i]);
    if (!v.ok()) {
      return Status::Error("line " + std::to_string(op.line) +
                           ": expect: " + v.status().message());
    }
    if (v.value() != op.value) return Errno::kExpect;
  }
  return Errno::kOk;
}

// pages_resident .. processes: the trace's own workers and mappings.
Result<Controller::StatEntries> Controller::TraceCounts() const {
  uint64_t vma_count = 0;
  std::unordered_set<uint64_t> frames;
  std::unordered_set<std::pair<uint32_t, uint64_t>, SwapSlotHash> slots;
  for (const auto& [trace_pid, w] : workers_) {
    Result<std::vector<ProcVma>> vmas = TraceVmas(w);
    if (!vmas.ok()) return vmas.status();
    vma_count += vmas.value().size();
    for (const ProcVma& v : vmas.value()) {
      Result<std::vector<PagemapBits>> ptes =
          ReadPagemap(w.pid, v.start, (v.end - v.start) / kPageSize);
      if (!ptes.ok()) return ptes.status();
      for (const PagemapBits& pte : ptes.value()) {
        if (pte.swapped) slots.insert({pte.swap_type, pte.swap_offset});
        if (!pte.present) continue;
        Result<uint64_t> flags = ReadKpageflags(pte.pfn);
        if (flags.ok() && ((flags.value() >> kKpfZeroPage) & 1)) continue;
        frames.insert(pte.pfn);
      }
    }
  }
  return StatEntries{{"pages_resident", frames.size()},
                     {"pages_swapped", slots.size()},
                     {"swap_slots_used", machine_->SwapSlotsUsed()},
                     {"vmas", vma_count},
                     {"processes", workers_.size()}};
}

// The KSM counters' change since the run began; they are levels, not
// events, and a level below the start (stale state dropped) is 0.
Controller::StatEntries Controller::KsmDeltas() const {
  KsmCounters ksm = machine_->ReadKsm();
  auto delta = [](uint64_t now, uint64_t base) {
    return now > base ? now - base : 0;
  };
  return {
      {"ksm_pages_shared", delta(ksm.pages_shared, ksm_base_.pages_shared)},
      {"ksm_pages_sharing", delta(ksm.pages_sharing, ksm_base_.pages_sharing)},
      {"ksm_stable_node_chains",
       delta(ksm.stable_node_chains, ksm_base_.stable_node_chains)},
      {"ksm_stable_node_dups",
       delta(ksm.stable_node_dups, ksm_base_.stable_node_dups)}};
}

// Each THP counter's growth since the run began; they are events, so they
// never shrink.
Result<Controller::StatEntries> Controller::ThpDeltas() const {
  Result<ThpCounters> now = machine_->ReadThpCounters();
  if (!now.ok()) return now.status();
  if (now.value().size() != thp_base_.size())
    return Status::Error("the THP counters this kernel keeps changed");
  StatEntries deltas;
  for (size_t i = 0; i < thp_base_.size(); ++i) {
    const auto& [key, value] = now.value()[i];
    if (key != thp_base_[i].first)
      return Status::Error("the THP counters this kernel keeps changed");
    if (value < thp_base_[i].second)
      return Status::Error("the THP counter " + key + " went back");
    deltas.emplace_back(key, value - thp_base_[i].second);
  }
  return deltas;
}

// controller.h, invariant 5: the model's keys, in the model's order.
Result<Errno> Controller::Stats(const Op& op) {
  Result<StatEntries> kv = TraceCounts();
  if (!kv.ok()) return kv.status();
  Result<StatEntries> thp = ThpDeltas();
  if (!thp.ok()) {
    return Status::Error("line " + std::to_string(op.line) +
                         ": stats: " + thp.status().message());
  }
  StatEntries ksm = KsmDeltas();
  kv.value().insert(kv.value().end(), ksm.begin(), ksm.end());
  kv.value().emplace_back("page_faults", trace_faults_);
  kv.value().insert(kv.value().end(), thp.value().begin(), thp.value().end());
  PrintStats(out_, op.line, kv.value());
  return Errno::kOk;
}

Result<Errno> Controller::Reclaim(const Op& op) {
  Status s = machine_->EnsureSwap();
  if (!s.ok()) {
    return Status::Error("line " + std::to_string(op.line) +
                         ": reclaim needs swap: " + s.message());
  }
  std::vector<pid_t> pids;
  for (const auto& [trace_pid, w] : workers_) pids.push_back(w.pid);
  Result<bool> done = machine_->ReclaimThroughCgroup(op.pages, pids);
  if (!done.ok()) {
    return Status::Error("line " + std::to_string(op.line) +
                         ": reclaim: " + done.status().message());
  }
  if (done.value()) return Errno::kOk;
  return PageoutFallback(op.pages);
}

// MADV_PAGEOUT, in each worker (trace pid order), on runs of present pages
// of its trace mappings (address order), until `pages` pages were asked for.
Result<Errno> Controller::PageoutFallback(uint64_t pages) {
  for (auto& [trace_pid, w] : workers_) {
    Result<std::vector<ProcVma>> vmas = TraceVmas(w);
    if (!vmas.ok()) return vmas.status();
    for (const ProcVma& v : vmas.value()) {
      Result<std::vector<PagemapBits>> ptes =
          ReadPagemap(w.pid, v.start, (v.end - v.start) / kPageSize);
      if (!ptes.ok()) return ptes.status();
      for (uint64_t i = 0; i < ptes.value().size() && pages > 0; ++i) {
        if (!ptes.value()[i].present) continue;
        Op advise;
        advise.kind = OpKind::kMadvise;
        advise.pid = trace_pid;
        advise.addr = v.start + i * kPageSize;
        advise.len = kPageSize;
        advise.advice = Advice::kPageout;
        Result<Errno> r = CallWorker(advise, w, /*account=*/false);
        if (!r.ok()) return r;
        --pages;
      }
    }
  }
  return Errno::kOk;
}

}  // namespace rmaplab::native
