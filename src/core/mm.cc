// mm.cc: VMA lookup in an address space (find_vma, vma_prev, vma_next).
#include "core/mm.h"

namespace rmaplab {

Vma* Mm::FindVma(uint64_t addr) const {
  if (vmacache && vmacache->start <= addr && addr < vmacache->end)
    return vmacache;
  auto it = vmas.upper_bound(addr);
  if (it != vmas.begin()) {
    auto prev = std::prev(it);
    if (prev->second->end > addr) return vmacache = prev->second.get();
  }
  return it == vmas.end() ? nullptr : it->second.get();
}

Vma* Mm::Prev(const Vma& vma) const {
  auto it = vmas.find(vma.start);
  if (it == vmas.begin()) return nullptr;
  return std::prev(it)->second.get();
}

Vma* Mm::Next(const Vma& vma) const {
  auto it = vmas.find(vma.start);
  if (it == vmas.end() || ++it == vmas.end()) return nullptr;
  return it->second.get();
}

}  // namespace rmaplab
