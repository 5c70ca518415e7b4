// pagetable.h: PageTable now lives in the public rmaplab/mm_types.h (a
// design reads PTEs); this header stays so that core files keep one include
// per subsystem.
#ifndef RMAPLAB_CORE_PAGETABLE_H_
#define RMAPLAB_CORE_PAGETABLE_H_

#include "rmaplab/mm_types.h"

#endif  // RMAPLAB_CORE_PAGETABLE_H_
