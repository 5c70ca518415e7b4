// graph.h (core): the generic part of a structure picture (rmaplab/graph.h):
// what the model kernel shows of every design alike.
#ifndef RMAPLAB_CORE_GRAPH_H_
#define RMAPLAB_CORE_GRAPH_H_

#include "core/kernel.h"
#include "rmaplab/graph.h"

namespace rmaplab {

// Adds every live mm, its vmas, the anonymous pages (KSM ones included)
// their present PTEs map and one edge per such PTE, then asks the design
// to add its own objects (ReverseMap::Describe).  Changes nothing.
void DescribeKernel(const Kernel& kernel, GraphSink& g);

}  // namespace rmaplab

#endif  // RMAPLAB_CORE_GRAPH_H_
