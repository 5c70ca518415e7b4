// graph.h (tools): `rmaplab graph`'s picture writer: a structure picture
// (rmaplab/graph.h) as Graphviz DOT, and DOT rendered through `dot`.
#ifndef RMAPLAB_TOOLS_GRAPH_H_
#define RMAPLAB_TOOLS_GRAPH_H_

#include <string>

#include "rmaplab/graph.h"
#include "rmaplab/status.h"

namespace rmaplab::cli {

// The picture as a DOT digraph titled `title`: each mm boxed with its vmas,
// one style per node kind, the core's edges grey, the design's black, the
// sink's notes under the title.
std::string GraphToDot(const GraphSink& g, const std::string& title);

// Runs Graphviz's `dot -T<format> -o out` on `dot_text` (format "svg" or
// "png"); an error if dot cannot be run or fails.
Status RenderDot(const std::string& dot_text, const std::string& format,
                 const std::string& out);

}  // namespace rmaplab::cli

#endif  // RMAPLAB_TOOLS_GRAPH_H_
