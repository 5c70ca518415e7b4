// graph.cc (core): the generic part of a structure picture: mms, vmas,
// anonymous pages and the PTEs that map them, the same for every design;
// the design adds its own objects after it (ReverseMap::Describe).
//
// Invariants:
//  (1) pages are added in pfn order, after every mm and vma, so that
//      GraphSink::pages() is sorted and a design sees them all;
//  (2) only present PTEs of anonymous pages are drawn; swap PTEs, the zero
//      page and shmem pages are counted in their mm's label instead.
#include "core/graph.h"

#include <map>
#include <string>
#include <vector>

namespace rmaplab {
namespace {

std::string Hex(uint64_t v) { return GraphHex(v); }

// "[0x10000, 0x18000) rw-p pgoff 0x10", as /proc/PID/maps would put it.
std::string VmaLabel(const Vma& vma) {
  std::string perms = {
      vma.flags & VM_READ ? 'r' : '-', vma.flags & VM_WRITE ? 'w' : '-',
      vma.flags & VM_EXEC ? 'x' : '-', vma.flags & VM_SHARED ? 's' : 'p'};
  return "vma [" + Hex(vma.start) + ", " + Hex(vma.end) + ")\n" + perms +
         " pgoff " + Hex(vma.pgoff);
}

std::string PageLabel(Pfn pfn, const Page& page) {
  std::string s = "page pfn " + std::to_string(pfn) + "\nmapcount " +
                  std::to_string(page.mapcount);
  if (page.Test(PG_ksm)) s += " ksm";
  if (page.Test(PG_anon_exclusive)) s += " exclusive";
  if (page.Test(PG_swapcache)) s += " swapcache";
  return s;
}

struct PteRef {
  const Vma* vma;
  uint64_t addr;
  Pte pte;
};

// The PTEs of mm the picture draws; what it does not, counted in `hidden`.
std::vector<PteRef> DrawnPtes(const Kernel& kernel, const Mm& mm,
                              std::map<std::string, uint64_t>& hidden) {
  std::vector<PteRef> ptes;
  for (const auto& [start, vma] : mm.vmas)
    mm.pt.ForEach(vma->start, vma->end, [&](uint64_t addr, const Pte& pte) {
      if (pte.is_swap())
        hidden["swap PTE"]++;
      else if (pte.pfn() == kZeroPfn)
        hidden["zero-page PTE"]++;
      else if (!kernel.page(pte.pfn()).Test(PG_anon))
        hidden["shmem PTE"]++;
      else
        ptes.push_back({vma.get(), addr, pte});
    });
  return ptes;
}

std::string MmLabel(const Mm& mm, const std::map<std::string, uint64_t>& hid) {
  std::string s = "mm pid " + std::to_string(mm.pid);
  for (const auto& [what, n] : hid) {
    s.append("\n").append(std::to_string(n)).append(" ").append(what);
    s.append(n == 1 ? " not drawn" : "s not drawn");
  }
  return s;
}

}  // namespace

void DescribeKernel(const Kernel& kernel, GraphSink& g) {
  std::vector<PteRef> ptes;
  std::map<Pfn, const Page*> pages;
  for (const auto& [pid, mm] : kernel.processes()) {
    std::map<std::string, uint64_t> hidden;
    std::vector<PteRef> mine = DrawnPtes(kernel, *mm, hidden);
    g.AddMm(*mm, MmLabel(*mm, hidden));
    for (const auto& [start, vma] : mm->vmas) g.AddVma(*vma, VmaLabel(*vma));
    for (const PteRef& p : mine) pages[p.pte.pfn()] = &kernel.page(p.pte.pfn());
    ptes.insert(ptes.end(), mine.begin(), mine.end());
  }
  for (const auto& [pfn, page] : pages)
    g.AddPage(pfn, *page, PageLabel(pfn, *page), !page->Test(PG_ksm));
  for (const PteRef& p : ptes)
    g.AddPte(*p.vma, p.pte.pfn(),
             "pte " + Hex(p.addr) + (p.pte.write() ? "" : " ro"));
  kernel.rmap().Describe(g);
}

}  // namespace rmaplab
