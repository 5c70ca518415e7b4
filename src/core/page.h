// page.h: struct page, frames and PTEs now live in the public
// rmaplab/mm_types.h (a design outside this tree needs them); this header
// stays so that core files keep one include per subsystem.
#ifndef RMAPLAB_CORE_PAGE_H_
#define RMAPLAB_CORE_PAGE_H_

#include "rmaplab/mm_types.h"

#endif  // RMAPLAB_CORE_PAGE_H_
