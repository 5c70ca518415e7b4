// thp.h: the transparent-huge-page policy of the model kernel
// (mm/huge_memory.c: the sysfs knobs `enabled`, hugepages-<SIZE>kB/enabled,
// use_zero_page; __thp_vma_allowable_orders() and thp_vma_suitable_order()).
//
// The policy only says which folio orders a fault may allocate; the folios
// themselves are huge_memory.cc's.
//
// Invariants:
//  (1) the top-level policy is `madvise` (no trace op changes it), never
//      kInherit; 2M inherits it until a `thp 2M` op says otherwise;
//  (2) only orders kThpMinOrder..kPmdOrder have a policy; order 0 (4 KiB)
//      is always allowed.
#ifndef RMAPLAB_CORE_THP_H_
#define RMAPLAB_CORE_THP_H_

#include <cstdint>
#include <string>

#include "rmaplab/mm_types.h"
#include "rmaplab/trace.h"

namespace rmaplab {

// The folio size of an order, as the `thp` op and sysfs write it ("64K").
std::string ThpSizeName(int order);

class ThpPolicy {
 public:
  ThpPolicy() { Recompute(); }

  // hugepages-<SIZE>kB/enabled for folio order `order`.
  void Set(int order, ThpMode mode) {
    size_[order] = mode;
    Recompute();
  }
  ThpMode mode(int order) const { return size_[order]; }
  bool use_zero_page() const { return true; }  // no trace op changes it

  // __thp_vma_allowable_orders() with TVA_ENFORCE_SYSFS for a fault in
  // `vma`: the orders (a bit per order) it may allocate.  Only a private
  // anonymous vma (vma_is_anonymous) without VM_NOHUGEPAGE has any.
  uint32_t AllowedOrders(const Vma& vma) const {
    if (!vma.is_anonymous() || (vma.flags & VM_NOHUGEPAGE)) return 0;
    return always_ | ((vma.flags & VM_HUGEPAGE) ? madvise_ : 0);
  }

 private:
  // huge_anon_orders_always, and what VM_HUGEPAGE adds to it
  // (huge_anon_orders_madvise, and _inherit when the top level is enabled).
  void Recompute() {
    always_ = madvise_ = 0;
    for (int order = kThpMinOrder; order <= kPmdOrder; ++order) {
      ThpMode m = size_[order] == ThpMode::kInherit ? top_ : size_[order];
      if (m == ThpMode::kAlways) always_ |= 1u << order;
      if (m == ThpMode::kMadvise) madvise_ |= 1u << order;
    }
  }

  ThpMode top_ = ThpMode::kMadvise;  // transparent_hugepage/enabled
  ThpMode size_[kPmdOrder + 1] = {
      ThpMode::kNever, ThpMode::kNever,  ThpMode::kNever, ThpMode::kNever,
      ThpMode::kNever, ThpMode::kNever,  ThpMode::kNever, ThpMode::kNever,
      ThpMode::kNever, ThpMode::kInherit};
  uint32_t always_ = 0;
  uint32_t madvise_ = 0;
};

// thp_vma_suitable_order() for an anonymous vma: the naturally aligned
// block of `order` around addr lies inside the vma.
inline bool ThpSuitableOrder(const Vma& vma, uint64_t addr, int order) {
  uint64_t size = kPageSize << order;
  uint64_t haddr = addr & ~(size - 1);
  return haddr >= vma.start && haddr + size <= vma.end;
}

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_THP_H_
