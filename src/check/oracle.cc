// oracle.cc: the content oracle (see oracle.h).
#include "check/oracle.h"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "core/kernel.h"

namespace rmaplab {

void ContentOracle::Mmap(uint32_t pid, uint64_t addr, uint64_t len,
                         bool shared) {
  if (!enabled_) return;
  Cells& cells = procs_[pid];
  uint32_t oid = shared ? next_oid_++ : 0;
  for (uint64_t a = addr, i = 0; a < addr + len; a += kPageSize, ++i) {
    Cell c;
    c.oid = oid;
    c.pgoff = i;
    cells[a] = c;
  }
}

void ContentOracle::Detach(uint32_t pid, uint64_t start, uint64_t end) {
  for (PinRec& p : pins_)
    if (p.attached && p.oid == 0 && p.pid == pid && p.cell_addr >= start &&
        p.cell_addr < end)
      p.attached = false;
}

void ContentOracle::Erase(uint32_t pid, uint64_t start, uint64_t end) {
  Cells& cells = procs_[pid];
  cells.erase(cells.lower_bound(start), cells.lower_bound(end));
  Detach(pid, start, end);
}

void ContentOracle::Munmap(uint32_t pid, uint64_t addr, uint64_t len) {
  if (!enabled_) return;
  Erase(pid, addr, addr + len);
}

// New cells [start, end) continuing the cell at `from` (mremap growth).
void ContentOracle::GrowLike(uint32_t pid, uint64_t from, uint64_t start,
                             uint64_t end) {
  Cells& cells = procs_[pid];
  auto it = cells.find(from);
  if (it == cells.end()) return;
  Cell base = it->second;
  for (uint64_t a = start; a < end; a += kPageSize) {
    Cell c;
    c.oid = base.oid;
    c.pgoff = base.pgoff + ((a - from) >> kPageShift);
    c.dontfork = base.dontfork;
    c.wipeonfork = base.wipeonfork;
    cells[a] = c;
  }
}

void ContentOracle::Mremap(uint32_t pid, uint64_t addr, uint64_t old_len,
                           uint64_t new_len, bool fixed, uint64_t new_addr) {
  if (!enabled_) return;
  Cells& cells = procs_[pid];
  if (!fixed) {
    if (new_len < old_len) Erase(pid, addr + new_len, addr + old_len);
    if (new_len > old_len)
      GrowLike(pid, addr + old_len - kPageSize, addr + old_len, addr + new_len);
    return;
  }
  if (old_len == new_len) {
    // Each mapped source page replaces the page at its target; gaps in the
    // source leave the target alone (remap_move).
    std::vector<std::pair<uint64_t, Cell>> moving(
        cells.lower_bound(addr), cells.lower_bound(addr + old_len));
    for (auto& [a, c] : moving) {
      uint64_t t = new_addr + (a - addr);
      Erase(pid, t, t + kPageSize);
    }
    cells.erase(cells.lower_bound(addr), cells.lower_bound(addr + old_len));
    for (auto& [a, c] : moving) cells[new_addr + (a - addr)] = c;
    for (PinRec& p : pins_)
      if (p.attached && p.oid == 0 && p.pid == pid && p.cell_addr >= addr &&
          p.cell_addr < addr + old_len)
        p.cell_addr = new_addr + (p.cell_addr - addr);
    return;
  }
  Erase(pid, new_addr, new_addr + new_len);
  if (new_len < old_len) {
    Erase(pid, addr + new_len, addr + old_len);
    old_len = new_len;
  }
  Mremap(pid, addr, old_len, old_len, true, new_addr);
  if (new_len > old_len)
    GrowLike(pid, new_addr + old_len - kPageSize, new_addr + old_len,
             new_addr + new_len);
}

void ContentOracle::Madvise(uint32_t pid, uint64_t addr, uint64_t len,
                            Advice advice) {
  if (!enabled_) return;
  Cells& cells = procs_[pid];
  for (auto it = cells.lower_bound(addr);
       it != cells.end() && it->first < addr + len; ++it) {
    Cell& c = it->second;
    switch (advice) {
      case Advice::kDontneed:
        if (c.oid == 0) {
          c.value = 0;
          Detach(pid, it->first, it->first + kPageSize);
        }
        break;
      case Advice::kDontfork:
        c.dontfork = true;
        break;
      case Advice::kDofork:
        c.dontfork = false;
        break;
      case Advice::kWipeonfork:
      case Advice::kKeeponfork:
        if (c.oid != 0) return;  // EINVAL at the first shared vma
        c.wipeonfork = advice == Advice::kWipeonfork;
        break;
      default:
        break;
    }
  }
}

void ContentOracle::Write(uint32_t pid, uint64_t addr, uint64_t value) {
  if (!enabled_) return;
  Cell& c = procs_[pid][addr];
  if (c.oid)
    objects_[c.oid][c.pgoff] = value;
  else
    c.value = value;
}

void ContentOracle::Fork(uint32_t parent, uint32_t child) {
  if (!enabled_) return;
  Cells out;
  for (const auto& [a, c] : procs_[parent]) {
    if (c.dontfork) continue;
    Cell copy = c;
    if (c.wipeonfork) copy.value = 0;
    out[a] = copy;
  }
  procs_[child] = std::move(out);
}

void ContentOracle::Exit(uint32_t pid) {
  if (!enabled_) return;
  procs_.erase(pid);
  std::erase_if(pins_, [&](const PinRec& p) { return p.pid == pid; });
}

void ContentOracle::Exec(uint32_t pid) {
  if (!enabled_) return;
  Exit(pid);
  procs_[pid];
}

void ContentOracle::Pin(uint32_t pid, uint64_t addr, uint64_t len) {
  if (!enabled_) return;
  Cells& cells = procs_[pid];
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    const Cell& c = cells[a];
    pins_.push_back({pid, a, true, a, c.oid, c.pgoff});
  }
}

void ContentOracle::Unpin(uint32_t pid, uint64_t addr, uint64_t len) {
  if (!enabled_) return;
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    for (auto it = pins_.begin(); it != pins_.end(); ++it) {
      if (it->pid == pid && it->pin_addr == a) {
        pins_.erase(it);
        break;
      }
    }
  }
}

void ContentOracle::DmaWrite(uint32_t pid, uint64_t addr, uint64_t len,
                             uint64_t value) {
  if (!enabled_) return;
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    for (const PinRec& p : pins_) {
      if (p.pid != pid || p.pin_addr != a) continue;
      if (p.oid)
        objects_[p.oid][p.pgoff] = value;
      else if (p.attached)
        procs_[pid][p.cell_addr].value = value;
      break;
    }
  }
}

Status ContentOracle::Check(const Kernel& kernel) const {
  if (procs_.size() != kernel.processes().size())
    return Status::Error("content oracle: " + std::to_string(procs_.size()) +
                         " processes expected, model has " +
                         std::to_string(kernel.processes().size()));
  for (const auto& [pid, cells] : procs_) {
    auto it = kernel.processes().find(pid);
    const Mm* mm = it == kernel.processes().end() ? nullptr : it->second.get();
    if (!mm)
      return Status::Error("content oracle: pid " + std::to_string(pid) +
                           " missing");
    uint64_t mapped = 0;
    for (const auto& [s, vma] : mm->vmas) mapped += vma->pages();
    if (mapped != cells.size())
      return Status::Error("content oracle: pid " + std::to_string(pid) +
                           " maps " + std::to_string(mapped) +
                           " pages, expected " + std::to_string(cells.size()));
    for (const auto& [a, c] : cells) {
      uint64_t want = c.value;
      if (c.oid) {
        auto o = objects_.find(c.oid);
        if (o != objects_.end()) {
          auto v = o->second.find(c.pgoff);
          if (v != o->second.end()) want = v->second;
        }
      }
      uint64_t got = 0;
      char buf[160];
      if (kernel.Peek(*mm, a, &got) != Errno::kOk) {
        std::snprintf(
            buf, sizeof buf,
            "content oracle: pid %u page %" PRIx64 " should be mapped", pid, a);
        return Status::Error(buf);
      }
      if (got != want) {
        std::snprintf(buf, sizeof buf,
                      "content oracle: pid %u page %" PRIx64 " reads 0x%" PRIx64
                      ", expected 0x%" PRIx64,
                      pid, a, got, want);
        return Status::Error(buf);
      }
    }
  }
  return Status::Ok();
}

}  // namespace rmaplab
