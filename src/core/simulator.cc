// simulator.cc: trace ops onto the model kernel, with the content oracle and
// the invariant checker after every op when asked (`--check`).
//
// Invariant: the oracle is told of an op's effect only when the model
// reports it done (per page for read/write/pin), so a refused op changes
// neither.
#include <chrono>
#include <map>
#include <ostream>

#include "check/invariants.h"
#include "check/oracle.h"
#include "core/kernel.h"
#include "rmaplab/output.h"
#include "rmaplab/sim.h"

namespace rmaplab {
namespace {

class SimulatorImpl final : public Simulator {
 public:
  SimulatorImpl(std::unique_ptr<ReverseMap> rmap, const SimOptions& opts)
      : opts_(opts), kernel_(std::move(rmap), opts), oracle_(opts.check) {}

  Errno Apply(const Op& op, std::ostream& out) override {
    message_.clear();
    Errno e = op.pid == 0 ? ApplySystem(op, out) : ApplyProcess(op, out);
    if (e == Errno::kENOSYS && message_.empty()) message_ = kernel_.last_message();
    return e;
  }

  Status Check() override {
    if (Status s = CheckInvariants(kernel_); !s.ok()) return s;
    // The oracle records only when the simulator was built with check on.
    return opts_.check ? oracle_.Check(kernel_) : Status::Ok();
  }

  std::vector<std::pair<std::string, uint64_t>> Stats() const override {
    return kernel_.Stats();
  }

  const std::string& last_message() const override { return message_; }

  void ScanAllPages() override {
    for (Pfn pfn = 1; pfn < kernel_.frame_count(); ++pfn) {
      const Page& page = kernel_.page(pfn);
      if (page.refcount == 0 || page.mapcount == 0 || !page.Test(PG_anon)) continue;
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
      Errno e = WithOomKiller(op, out, [&] { return fn(a); }, &actor_killed);
      if (actor_killed) return Errno::kOk;
      if (e != Errno::kOk) return e;
      done(a);
    }
    return Errno::kOk;
  }

  // Runs fn(), calling the OOM killer and retrying while fn() finds no
  // memory.  Sets *actor_killed if the killer chose the op's own process.
  template <typename Fn>
  Errno WithOomKiller(const Op& op, std::ostream& out, Fn&& fn, bool* actor_killed) {
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
    uint32_t pid = op.pid;
    Errno e = Errno::kOk;
    switch (op.kind) {
      case OpKind::kMmap:
        e = kernel_.Mmap(*mm, op.addr, op.len, op.prot, op.shared);
        if (e == Errno::kOk) oracle_.Mmap(pid, op.addr, op.len, op.shared);
        return e;
      case OpKind::kMunmap:
        e = kernel_.Munmap(*mm, op.addr, op.len);
        if (e == Errno::kOk) oracle_.Munmap(pid, op.addr, op.len);
        return e;
      case OpKind::kMprotect:
        return kernel_.Mprotect(*mm, op.addr, op.len, op.prot);
      case OpKind::kMremap:
        e = kernel_.Mremap(*mm, op.addr, op.len, op.new_len, op.has_new_addr,
                           op.new_addr);
        if (e == Errno::kOk)
          oracle_.Mremap(pid, op.addr, op.len, op.new_len, op.has_new_addr,
                         op.new_addr);
        return e;
      case OpKind::kMadvise:
        e = kernel_.Madvise(*mm, op.addr, op.len, op.advice);
        if (e != Errno::kENOSYS) oracle_.Madvise(pid, op.addr, op.len, op.advice);
        return e;
      case OpKind::kRead:
        return ForEachPage(op, out, [&](uint64_t a) { return kernel_.ReadPage(*mm, a); },
                           [](uint64_t) {});
      case OpKind::kWrite:
        return ForEachPage(
            op, out, [&](uint64_t a) { return kernel_.WritePage(*mm, a, WriteValue(op, a)); },
            [&](uint64_t a) { oracle_.Write(pid, a, WriteValue(op, a)); });
      case OpKind::kExpect:
        return ForEachPage(op, out, [&](uint64_t a) {
          uint64_t v;
          Errno pe = kernel_.Peek(*mm, a, &v);
          if (pe != Errno::kOk) return pe;
          return v == op.value ? Errno::kOk : Errno::kExpect;
        }, [](uint64_t) {});
      case OpKind::kFork:
        e = kernel_.Fork(*mm, op.child);
        if (e == Errno::kOk) oracle_.Fork(pid, op.child);
        return e;
      case OpKind::kExit:
        kernel_.Exit(*mm);
        oracle_.Exit(pid);
        return Errno::kOk;
      case OpKind::kPin:
      {
        bool killed = false;
        e = WithOomKiller(op, out, [&] { return kernel_.PinPages(*mm, op.addr, op.len); },
                          &killed);
        if (e == Errno::kOk && !killed) oracle_.Pin(pid, op.addr, op.len);
        return e;
      }
      case OpKind::kUnpin:
        e = kernel_.UnpinPages(*mm, op.addr, op.len);
        if (e == Errno::kOk) oracle_.Unpin(pid, op.addr, op.len);
        return e;
      case OpKind::kDmaWrite:
        e = kernel_.DmaWrite(*mm, op.addr, op.len, op.value);
        if (e == Errno::kOk) oracle_.DmaWrite(pid, op.addr, op.len, op.value);
        return e;
      case OpKind::kMaps:
        PrintMaps(out, pid, op.line, kernel_.Maps(*mm));
        return Errno::kOk;
      case OpKind::kPagemap: {
        std::vector<PagemapEntry> pages;
        for (uint64_t a = op.addr; a < op.addr + op.len; a += kPageSize)
          pages.push_back(kernel_.PagemapOf(*mm, a));
        PrintPagemap(out, pid, op.line, pages);
        return Errno::kOk;
      }
      case OpKind::kMigrate:
        return kernel_.MigratePages(*mm, op.addr, op.len, op.node);
      default:
        return Errno::kEINVAL;
    }
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
    for (const DesignInfo& d : Designs()) names += (names.empty() ? "" : ", ") + d.name;
    return Status::Error("unknown design '" + opts.design + "' (known: " + names + ")");
  }
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

int Replay(const Trace& trace, Simulator& sim, const ReplayOptions& opts,
           bool check, std::ostream& out, std::ostream& err) {
  int status = 0;
  std::map<OpKind, std::pair<uint64_t, double>> times;
  for (const Op& op : trace.ops) {
    auto t0 = std::chrono::steady_clock::now();
    Errno e = sim.Apply(op, out);
    if (opts.time) {
      auto& [n, us] = times[op.kind];
      n++;
      us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count();
    }
    if (e != Errno::kOk) {
      PrintOpError(out, op, e);
      if (e == Errno::kENOSYS)
        err << trace.path << ":" << op.line << ": " << sim.last_message() << "\n";
      status = 1;
    }
    if (check) {
      if (Status s = sim.Check(); !s.ok()) {
        out.flush();
        err << trace.path << ":" << op.line << ": check failed after '"
            << OpName(op.kind) << "': " << s.message() << "\n";
        return 3;
      }
    }
    if (status && !opts.keep_going) break;
  }
  if (opts.time) {
    err << "# time per op kind (wall, simulator)\n";
    for (auto& [kind, nt] : times)
      err << OpName(kind) << " count=" << nt.first << " total_us=" << nt.second
          << " mean_us=" << nt.second / nt.first << "\n";
  }
  return status;
}

}  // namespace rmaplab
