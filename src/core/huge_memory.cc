// huge_memory.cc: transparent huge pages (mm/huge_memory.c,
// mm/khugepaged.c, alloc_anon_folio() in mm/memory.c), as far as the model
// has them: the policy (thp.h) and the vma flags MADV_HUGEPAGE and
// MADV_NOHUGEPAGE set (vma.cc).  Large folios themselves are not modelled
// yet: a fault that Linux would answer with one, and MADV_COLLAPSE, fail
// with ENOSYS and a message saying what is missing, never with a 4 KiB
// page Linux would not have mapped.
//
// Invariant: with the default policy (2M madvise, smaller sizes never) a
// trace that never says `hugepage` sees no ENOSYS from here.
#include <cinttypes>
#include <cstdio>

#include "core/kernel.h"

namespace rmaplab {

std::string ThpSizeName(int order) {
  uint64_t kib = (kPageSize << order) >> 10;
  return kib >= 1024 ? std::to_string(kib >> 10) + "M"
                     : std::to_string(kib) + "K";
}

namespace {

// pte_range_none() over the naturally aligned block of `order` at addr.
bool PteRangeNone(const PageTable& pt, uint64_t addr, int order) {
  uint64_t size = kPageSize << order;
  uint64_t start = addr & ~(size - 1);
  bool none = true;
  pt.ForEach(start, start + size, [&](uint64_t, const Pte&) { none = false; });
  return none;
}

}  // namespace

// __handle_mm_fault(): a PMD-order fault (do_huge_pmd_anonymous_page: a
// THP, or the huge zero page on a read) where no page table exists yet;
// else do_anonymous_page(), whose write fault takes the largest allowed
// order whose block has no PTE (alloc_anon_folio).
Errno Kernel::ThpFaultUnmodelled(Mm& mm, const Vma& vma, uint64_t addr,
                                 bool write) {
  uint32_t orders = thp_.AllowedOrders(vma);
  if (!orders) return Errno::kOk;
  std::string what;
  if ((orders >> kPmdOrder & 1) && ThpSuitableOrder(vma, addr, kPmdOrder) &&
      !mm.pt.Find(addr)) {
    what = write || !thp_.use_zero_page() ? "a PMD-mapped 2M THP"
                                          : "the huge zero page (PMD-mapped)";
  } else if (write) {
    for (int order = kPmdOrder - 1; order >= kThpMinOrder && what.empty();
         --order) {
      if ((orders >> order & 1) && ThpSuitableOrder(vma, addr, order) &&
          PteRangeNone(mm.pt, addr, order))
        what = "a PTE-mapped " + ThpSizeName(order) + " mTHP folio";
    }
  }
  if (what.empty()) return Errno::kOk;
  char at[32];
  std::snprintf(at, sizeof at, "0x%" PRIx64, addr);
  message_ = "large folios are not modelled yet: the " +
             std::string(write ? "write" : "read") + " fault at " + at +
             " (pid " + std::to_string(mm.pid) + ") would map " + what +
             " under the current THP policy";
  return Errno::kENOSYS;
}

// madvise_collapse().
Errno Kernel::MadviseCollapse(Mm& mm, uint64_t start, uint64_t end) {
  message_ =
      "madvise collapse (MADV_COLLAPSE) is not modelled yet: the model "
      "has no large folios";
  return Errno::kENOSYS;
}

}  // namespace rmaplab
