// simulator.cc: trace ops onto the model kernel, with the content oracle and
// the invariant checker after every op when asked (`--check`).
//
// Invariants:
//  (1) the oracle is told of an op's effect only when the model reports it
//      done (per page for read/write/pin), so a refused op changes neither;
//  (2) Stats(), Maps() and Pagemap() change nothing (no fault, no young
//      bit, no counter), like `stats`, `maps` and `pagemap`.
#include <chrono>
#include <map>
#include <ostream>

#include "check/invariants.h"
#include "check/oracle.h"
#include "core/graph.h"
#include "core/kernel.h"
#include "rmaplab/output.h"
#include "rmaplab/sim.h"

namespace rmaplab {
namespace {

Status NoProcess(uint32_t pid) {
  return Status::Error("no process " + std::to_string(pid));
}

class SimulatorImpl final : public Simulator {
 public:
  SimulatorImpl(std::unique_ptr<ReverseMap> rmap, const SimOptions& opts)
      : opts_(opts), kernel_(std::move(rmap), opts), oracle_(opts.check) {}

  Errno Apply(const Op& op, std::ostream& out) override {
    message_.clear();
    Errno e = op.pid == 0 ? ApplySystem(op, out) : ApplyProcess(op, out);
    if (e == Errno::kENOSYS && message_.empty())
      message_ = kernel_.last_message();
    return e;
  }

  Status Check() override {
    if (Status s = CheckInvariants(kernel_); !s.ok()) return s;
    // The oracle records only when the simulator was built with check on.
    return opts_.check ? oracle_.Check(kernel_) : Status::Ok();
  }

  const SimOptions& options() const override { return opts_; }

  rmaplab::Stats Stats() const override { return kernel_.Stats(); }

  Result<std::vector<MapsEntry>> Maps(uint32_t pid) const override {
    const Mm* mm = LiveMm(pid);
    if (!mm) return NoProcess(pid);
    return kernel_.Maps(*mm);
  }

  Result<std::vector<PagemapEntry>> Pagemap(uint32_t pid, uint64_t addr,
                                            uint64_t len) const override {
    const Mm* mm = LiveMm(pid);
    if (!mm) return NoProcess(pid);
    if (addr % kPageSize || len % kPageSize || addr + len < addr)
      return Status::Error("pagemap: range not page aligned, or wraps");
    return PagemapOf(*mm, addr, len);
  }

  const std::string& last_message() const override { return message_; }

  void DescribeRmap(GraphSink& g) const override { DescribeKernel(kernel_, g); }

  void ScanAllPages() override {
    for (Pfn pfn = 1; pfn < kernel_.frame_count(); ++pfn) {
      const Page& page = kernel_.page(pfn);
      if (page.refcount == 0 || page.mapcount == 0 || !page.Test(PG_anon))
        continue;
      kernel_.RmapWalk(pfn, true, [](Vma&, uint64_t, Pte&) { return true; });
    }
  }

 private:
  Errno ApplySystem(const Op& op, std::ostream& out) {
    switch (op.kind) {
      case OpKind::kStats:
        PrintStats(out, op.line, kernel_.Stats());
        return Errno::kOk;
      case OpKind::kReclaim:
        kernel_.Reclaim(op.pages);
        return Errno::kOk;
      case OpKind::kSwapoff:
        return kernel_.Swapoff();
      case OpKind::kKsm:
        return op.ksm_full ? kernel_.KsmFull() : kernel_.KsmScan(op.pages);
      case OpKind::kThp:
        kernel_.SetThp(op.thp_order, op.thp_mode);
        return Errno::kOk;
      default:
        break;
    }
    message_ = "op '" + std::string(OpName(op.kind)) + "' is not supported yet";
    return Errno::kENOSYS;
  }

  // Runs fn(addr) for each page of the op's range, stopping at the first
  // error; `done(addr)` after each page that succeeded.  A fault that finds
  // neither a frame nor a swap slot calls the OOM killer and retries; if
  // the killer chose the actor itself, the op ends there.
  template <typename Fn, typename Done>
  Errno ForEachPage(const Op& op, std::ostream& out, Fn&& fn, Done&& done) {
    for (uint64_t a = op.addr; a < op.addr + op.len; a += kPageSize) {
      bool actor_killed = false;
      Errno e = WithOomKiller(
          op, out, [&] { return fn(a); }, &actor_killed);
      if (actor_killed) return Errno::kOk;
      if (e != Errno::kOk) return e;
      done(a);
    }
    return Errno::kOk;
  }

  // Runs fn(), calling the OOM killer and retrying while fn() finds no
  // memory.  Sets *actor_killed if the killer chose the op's own process.
  template <typename Fn>
  Errno WithOomKiller(const Op& op, std::ostream& out, Fn&& fn,
                      bool* actor_killed) {
    for (;;) {
      Errno e = fn();
      if (e != Errno::kENOMEM) return e;
      uint32_t victim = kernel_.OomKill();
      if (!victim) return e;
      out << "# oom-kill pid=" << victim << " line=" << op.line << "\n";
      oracle_.Exit(victim);
      if (victim == op.pid) {
        *actor_killed = true;
        return Errno::kOk;
      }
    }
  }

  Errno ApplyProcess(const Op& op, std::ostream& out) {
    Mm* mm = kernel_.FindMm(op.pid);
    if (!mm) return Errno::kESRCH;
    switch (op.kind) {
      case OpKind::kMmap:
      case OpKind::kMunmap:
      case OpKind::kMprotect:
      case OpKind::kMremap:
      case OpKind::kMadvise:
        return ApplyVmaOp(op, *mm);
      case OpKind::kRead:
      case OpKind::kWrite:
      case OpKind::kExpect:
        return ApplyAccess(op, *mm, out);
      case OpKind::kPin:
      case OpKind::kUnpin:
      case OpKind::kDmaWrite:
        return ApplyPinOp(op, *mm, out);
      case OpKind::kFork: {
        Errno e = kernel_.Fork(*mm, op.child);
        if (e == Errno::kOk) oracle_.Fork(op.pid, op.child);
        return e;
      }
      case OpKind::kExit:
        kernel_.Exit(*mm);
        oracle_.Exit(op.pid);
        return Errno::kOk;
      case OpKind::kExec:
        kernel_.Exec(*mm);
        oracle_.Exec(op.pid);
        return Errno::kOk;
      case OpKind::kMaps:
        PrintMaps(out, op.pid, op.line, kernel_.Maps(*mm));
        return Errno::kOk;
      case OpKind::kPagemap:
        PrintPagemap(out, op.pid, op.line, PagemapOf(*mm, op.addr, op.len));
        return Errno::kOk;
      case OpKind::kMigrate:
        return kernel_.MigratePages(*mm, op.addr, op.len, op.node);
      default:
        return Errno::kEINVAL;
    }
  }

  // mmap, munmap, mprotect, mremap, madvise.
  Errno ApplyVmaOp(const Op& op, Mm& mm) {
    Errno e = Errno::kOk;
    switch (op.kind) {
      case OpKind::kMmap:
        e = kernel_.Mmap(mm, op.addr, op.len, op.prot, op.shared);
        if (e == Errno::kOk) oracle_.Mmap(op.pid, op.addr, op.len, op.shared);
        return e;
      case OpKind::kMunmap:
        e = kernel_.Munmap(mm, op.addr, op.len);
        if (e == Errno::kOk) oracle_.Munmap(op.pid, op.addr, op.len);
        return e;
      case OpKind::kMprotect:
        return kernel_.Mprotect(mm, op.addr, op.len, op.prot);
      case OpKind::kMremap:
        e = kernel_.Mremap(mm, op.addr, op.len, op.new_len, op.has_new_addr,
                           op.new_addr);
        if (e == Errno::kOk)
          oracle_.Mremap(op.pid, op.addr, op.len, op.new_len, op.has_new_addr,
                         op.new_addr);
        return e;
      default:  // kMadvise
        e = kernel_.Madvise(mm, op.addr, op.len, op.advice);
        if (e != Errno::kENOSYS)
          oracle_.Madvise(op.pid, op.addr, op.len, op.advice);
        return e;
    }
  }

  // read, write, expect: page by page.
  Errno ApplyAccess(const Op& op, Mm& mm, std::ostream& out) {
    switch (op.kind) {
      case OpKind::kRead:
        return ForEachPage(
            op, out, [&](uint64_t a) { return kernel_.ReadPage(mm, a); },
            [](uint64_t) {});
      case OpKind::kWrite:
        return ForEachPage(
            op, out,
            [&](uint64_t a) {
              return kernel_.WritePage(mm, a, WriteValue(op, a));
            },
            [&](uint64_t a) { oracle_.Write(op.pid, a, WriteValue(op, a)); });
      default:  // kExpect
        return ForEachPage(
            op, out,
            [&](uint64_t a) {
              uint64_t v;
              Errno pe = kernel_.Peek(mm, a, &v);
              if (pe != Errno::kOk) return pe;
              return v == op.value ? Errno::kOk : Errno::kExpect;
            },
            [](uint64_t) {});
    }
  }

  // pin, unpin, dmawrite.
  Errno ApplyPinOp(const Op& op, Mm& mm, std::ostream& out) {
    Errno e = Errno::kOk;
    switch (op.kind) {
      case OpKind::kPin: {
        bool killed = false;
        e = WithOomKiller(
            op, out, [&] { return kernel_.PinPages(mm, op.addr, op.len); },
            &killed);
        if (e == Errno::kOk && !killed) oracle_.Pin(op.pid, op.addr, op.len);
        return e;
      }
      case OpKind::kUnpin:
        e = kernel_.UnpinPages(mm, op.addr, op.len);
        if (e == Errno::kOk) oracle_.Unpin(op.pid, op.addr, op.len);
        return e;
      default:  // kDmaWrite
        e = kernel_.DmaWrite(mm, op.addr, op.len, op.value);
        if (e == Errno::kOk)
          oracle_.DmaWrite(op.pid, op.addr, op.len, op.value);
        return e;
    }
  }

  std::vector<PagemapEntry> PagemapOf(const Mm& mm, uint64_t addr,
                                      uint64_t len) const {
    std::vector<PagemapEntry> pages;
    for (uint64_t a = addr; a < addr + len; a += kPageSize)
      pages.push_back(kernel_.PagemapOf(mm, a));
    return pages;
  }

  const Mm* LiveMm(uint32_t pid) const {
    auto it = kernel_.processes().find(pid);
    return it == kernel_.processes().end() ? nullptr : it->second.get();
  }

  SimOptions opts_;
  Kernel kernel_;
  ContentOracle oracle_;
  std::string message_;
};

}  // namespace

Result<std::unique_ptr<Simulator>> Simulator::Create(const SimOptions& opts) {
  std::unique_ptr<ReverseMap> rmap = CreateDesign(opts.design);
  if (!rmap) {
    std::string names;
    for (const DesignInfo& d : Designs())
      names += (names.empty() ? "" : ", ") + d.name;
    return Status::Error("unknown design '" + opts.design +
                         "' (known: " + names + ")");
  }
  if (opts.ksm_max_page_sharing < 2)  // as the sysfs knob refuses it
    return Status::Error("ksm max_page_sharing must be at least 2");
  return std::unique_ptr<Simulator>(new SimulatorImpl(std::move(rmap), opts));
}

std::vector<std::string> DesignNames() {
  std::vector<std::string> out;
  for (const DesignInfo& d : Designs()) out.push_back(d.name);
  return out;
}

std::string DesignSummary(const std::string& name) {
  for (const DesignInfo& d : Designs())
    if (d.name == name) return d.summary;
  return "";
}

namespace {

// "FILE:LINE: " for messages about `op`.
std::string Where(const Trace& trace, const Op& op) {
  return trace.path + ":" + std::to_string(op.line) + ": ";
}

}  // namespace

ReplayResult Replay(const Trace& trace, Simulator& sim, std::ostream& out,
                    const ReplayOptions& opts) {
  ReplayResult r;
  std::map<OpKind, OpKindTime> times;
  for (const Op& op : trace.ops) {
    auto t0 = std::chrono::steady_clock::now();
    Errno e = sim.Apply(op, out);
    r.ops_run++;
    if (opts.time) {
      OpKindTime& t = times[op.kind];
      t.kind = op.kind;
      t.count++;
      t.total_us += std::chrono::duration<double, std::micro>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    }
    if (e != Errno::kOk) {
      PrintOpError(out, op, e);
      if (e == Errno::kENOSYS)
        r.unsupported.push_back(Where(trace, op) + sim.last_message());
      r.ops_failed++;
    }
    if (sim.options().check) {
      if (Status s = sim.Check(); !s.ok()) {
        r.check =
            Status::Error(Where(trace, op) + "check failed after '" +
                          std::string(OpName(op.kind)) + "': " + s.message());
        break;
      }
    }
    if (r.ops_failed && !opts.keep_going) break;
  }
  for (const auto& [kind, t] : times) r.times.push_back(t);
  return r;
}

}  // namespace rmaplab
