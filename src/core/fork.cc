// fork.cc: kernel/fork.c dup_mmap(), kernel/exit.c exit_mmap(), fs/exec.c
// exec_mmap() (a new mm for the same pid), and the
// long-term pins of mm/gup.c (pin_user_pages(FOLL_WRITE|FOLL_LONGTERM)).
//
// Invariants kept here:
//  (1) the child gets every vma but VM_DONTCOPY ones; VM_WIPEONFORK vmas
//      arrive empty; PTEs are copied only for vmas with an anon_vma
//      (vma_needs_copy), so the child of an unfaulted or shared vma faults
//      its pages itself;
//  (2) a pin is recorded in the pinning mm and held as Linux holds it
//      (try_grab_folio(FOLL_PIN)): kPinBias references on a 4 KiB folio;
//      on a large folio one reference on the page and one count in the
//      folio's _pincount (FolioInfo::pincount), so the folio stays whole:
//      pinning neither splits it nor stops it being a THP; exit drops
//      every pin; MMF_HAS_PINNED is not inherited.
#include <algorithm>

#include "core/kernel.h"

namespace rmaplab {

Mm* Kernel::FindMm(uint32_t pid) {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : it->second.get();
}

Errno Kernel::Fork(Mm& parent, uint32_t child_pid) {
  if (procs_.count(child_pid)) return Errno::kEEXIST;
  auto child = std::make_unique<Mm>();
  child->pid = child_pid;
  rmap_->MmFork(*child, parent);
  if (ksm_.SlotOf(parent)) ksm_.Enter(*child);  // ksm_fork()
  for (auto& [start, vp] : parent.vmas) {
    Vma& vma = *vp;
    if (vma.flags & VM_DONTCOPY) continue;
    auto copy = std::make_unique<Vma>(vma);  // no design state
    Vma* tmp = InsertVma(*child, std::move(copy));
    bool wipe = vma.flags & VM_WIPEONFORK;
    if (!wipe && vma.anon_vma) rmap_->AnonVmaFork(*tmp, vma);
    ShmemLink(*tmp);
    if (!wipe && vma.anon_vma && CopyPageRange(*tmp, vma) != Errno::kOk) {
      Mm& c = *child;
      procs_.emplace(child_pid, std::move(child));
      Exit(c);  // dup_mmap failed: the half-built child goes away
      stats_.exits--;
      return Errno::kENOMEM;
    }
  }
  procs_.emplace(child_pid, std::move(child));
  stats_.forks++;
  return Errno::kOk;
}

// exit_mmap(): everything `mm` maps goes; the Mm itself stays.
void Kernel::ExitMmap(Mm& mm) {
  for (auto& [start, vp] : mm.vmas) ZapRange(mm, *vp, vp->start, vp->end);
  while (!mm.vmas.empty()) RemoveVma(mm, *mm.vmas.begin()->second);
  for (const Pin& pin : mm.pins) UnpinPage(pin.pfn);
  mm.pins.clear();
  mm.pt.Clear();
  rmap_->MmExit(mm);
  ksm_.Exit(mm);
}

void Kernel::Exit(Mm& mm) {
  ExitMmap(mm);
  stats_.exits++;
  procs_.erase(mm.pid);  // destroys mm
}

void Kernel::Exec(Mm& mm) {
  uint32_t pid = mm.pid;
  ExitMmap(mm);
  auto fresh = std::make_unique<Mm>();
  fresh->pid = pid;
  rmap_->MmInit(*fresh);
  procs_[pid] = std::move(fresh);  // destroys the old mm
}

// try_grab_folio(FOLL_PIN): a large folio counts the pin in _pincount and
// takes one reference (so it is never split under the pin); a small one
// takes GUP_PIN_COUNTING_BIAS references.
void Kernel::PinPage(Pfn pfn) {
  Page& page = Frame(pfn);
  if (page.large()) {
    page.refcount++;
    folios_.at(FolioHead(pfn)).pincount++;
    return;
  }
  page.refcount += kPinBias;
}

// gup_put_folio(FOLL_PIN): the reverse of PinPage; may free the folio.
void Kernel::UnpinPage(Pfn pfn) {
  Page& page = Frame(pfn);
  if (page.large())
    folios_.at(FolioHead(pfn)).pincount--;
  else
    page.refcount -= kPinBias - 1;
  PutPage(pfn);
}

// pin_user_pages(FOLL_WRITE | FOLL_LONGTERM): fault each page in writable
// (breaking COW: a shared PMD splits and one 4 KiB page is copied, an
// exclusive one is reused), then pin it where it is, large folio or not.
// All or nothing, as io_uring registers.
Errno Kernel::PinPages(Mm& mm, uint64_t addr, uint64_t len) {
  size_t first = mm.pins.size();
  Errno e = Errno::kOk;
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    Vma* vma = mm.FindVma(a);
    e = CheckAccess(vma, a, true);
    Pte* pte = nullptr;
    if (e == Errno::kOk) e = HandleFault(mm, *vma, a, true, &pte);
    if (e != Errno::kOk) break;
    PinPage(pte->pfn());
    mm.pins.push_back({a, pte->pfn()});
    mm.has_pinned = true;
  }
  if (e == Errno::kOk) return e;
  while (mm.pins.size() > first) {  // unpin what this op pinned
    Pfn pfn = mm.pins.back().pfn;
    mm.pins.pop_back();
    UnpinPage(pfn);
  }
  return e;
}

Errno Kernel::UnpinPages(Mm& mm, uint64_t addr, uint64_t len) {
  std::vector<size_t> found;
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    auto it = std::find_if(mm.pins.begin(), mm.pins.end(), [&](const Pin& p) {
      return p.addr == a && std::find(found.begin(), found.end(),
                                      &p - mm.pins.data()) == found.end();
    });
    if (it == mm.pins.end()) return Errno::kEINVAL;  // not pinned here
    found.push_back(it - mm.pins.begin());
  }
  std::sort(found.rbegin(), found.rend());
  for (size_t i : found) {
    Pfn pfn = mm.pins[i].pfn;
    mm.pins.erase(mm.pins.begin() + i);
    UnpinPage(pfn);
  }
  return Errno::kOk;
}

// A device writes through the pin, not through the page table.
Errno Kernel::DmaWrite(Mm& mm, uint64_t addr, uint64_t len, uint64_t value) {
  std::vector<Pfn> targets;
  for (uint64_t a = addr; a < addr + len; a += kPageSize) {
    auto it = std::find_if(mm.pins.begin(), mm.pins.end(),
                           [&](const Pin& p) { return p.addr == a; });
    if (it == mm.pins.end()) return Errno::kEINVAL;
    targets.push_back(it->pfn);
  }
  for (Pfn pfn : targets) Frame(pfn).content = value;
  return Errno::kOk;
}

}  // namespace rmaplab
