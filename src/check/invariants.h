// invariants.h: the whole-state checker (see invariants.cc).
#ifndef RMAPLAB_CHECK_INVARIANTS_H_
#define RMAPLAB_CHECK_INVARIANTS_H_

#include "core/kernel.h"
#include "rmaplab/status.h"

namespace rmaplab {

// Every structural invariant of the model, now.  Changes no counter.
Status CheckInvariants(const Kernel& kernel);

}  // namespace rmaplab

#endif  // RMAPLAB_CHECK_INVARIANTS_H_
