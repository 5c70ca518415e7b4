// graph.cc: the structure-picture sink (rmaplab/graph.h) and the default
// ReverseMap::Describe, for a design that draws nothing of its own.
//
// Invariants: graph.h's (1)-(3).
#include "rmaplab/graph.h"

#include "rmaplab/rmap.h"

namespace rmaplab {

void GraphSink::Add(GraphId id, std::string_view kind, std::string label,
                    bool core) {
  if (!index_.emplace(id, nodes_.size()).second) return;  // invariant (1)
  nodes_.push_back({id, std::string(kind), std::move(label), core});
}

void GraphSink::AddMm(const Mm& mm, std::string label) {
  mms_.push_back(&mm);
  Add(GraphId::Of(mm), "mm", std::move(label), true);
}

void GraphSink::AddVma(const Vma& vma, std::string label) {
  vmas_.push_back(&vma);
  Add(GraphId::Of(vma), "vma", std::move(label), true);
  edges_.push_back({GraphId::Of(*vma.mm), GraphId::Of(vma), "", true});
}

void GraphSink::AddPage(Pfn pfn, const Page& page, std::string label,
                        bool listed) {
  if (Has(GraphId::OfPage(pfn))) return;
  if (listed) pages_.push_back({pfn, &page});
  Add(GraphId::OfPage(pfn), "page", std::move(label), true);
}

void GraphSink::AddPte(const Vma& vma, Pfn pfn, std::string label) {
  edges_.push_back(
      {GraphId::Of(vma), GraphId::OfPage(pfn), std::move(label), true});
}

Status GraphSink::Check() const {
  auto name = [&](GraphId id) {
    return "(space " + std::to_string(static_cast<int>(id.space)) + ", key " +
           std::to_string(id.key) + ", part " + std::to_string(id.sub) + ")";
  };
  for (const GraphEdge& e : edges_)
    for (GraphId end : {e.from, e.to})
      if (!Has(end))
        return Status::Error("graph: edge '" + e.label + "' ends at " +
                             name(end) + ", which is no node");
  return Status::Ok();
}

void ReverseMap::Describe(GraphSink& g) const {
  g.Note("design " + std::string(name()) + " draws none of its own objects");
}

}  // namespace rmaplab
