// graph.h: a structure picture of the reverse map at one point of a trace
// (`rmaplab graph`): nodes with a kind and a label, edges with a label.
// The core adds the generic part (every live mm, its vmas, the anonymous
// pages their present PTEs map, one edge per PTE), then the design adds
// its own objects (ReverseMap::Describe, rmaplab/rmap.h) and the edges
// that join them to the core's nodes.  The sink knows no picture format:
// tools/graph.cc writes Graphviz DOT from it.
//
// Edges follow pointers: page -> what page->mapping names, vma -> its
// anon object, avc -> vma, anon_vma -> parent, context -> mm, ...
//
// Thread-safety: none; one sink per picture.
//
// Invariants:
//  (1) an id names one node: a second Node() for it is ignored, so a design
//      may add a shared object from every place that reaches it;
//  (2) nodes and edges keep the order they were added in (a design that
//      adds in a deterministic order gets the same picture every run);
//  (3) Check() holds when every edge joins two nodes of the sink.
#ifndef RMAPLAB_GRAPH_H_
#define RMAPLAB_GRAPH_H_

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rmaplab/mm_types.h"
#include "rmaplab/status.h"

namespace rmaplab {

// Names a node: a core object (mm, vma, page) or one the design owns.
struct GraphId {
  enum class Space : uint8_t { kMm, kVma, kPage, kObject };
  Space space = Space::kObject;
  uint64_t key = 0;  // the object's address, or the page's pfn
  uint32_t sub = 0;  // a part of one object (the n-th block of a chain)

  static GraphId Of(const Mm& mm) { return {Space::kMm, Addr(&mm), 0}; }
  static GraphId Of(const Vma& vma) { return {Space::kVma, Addr(&vma), 0}; }
  static GraphId OfPage(Pfn pfn) { return {Space::kPage, pfn, 0}; }
  static GraphId Object(const void* obj, uint32_t sub = 0) {
    return {Space::kObject, Addr(obj), sub};
  }
  auto operator<=>(const GraphId&) const = default;

 private:
  static uint64_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }
};

struct GraphNode {
  GraphId id;
  std::string kind;  // "mm", "vma", "page", or the design's: "anon_vma", ...
  std::string label;
  bool core = false;  // added by the core, not the design
};

struct GraphEdge {
  GraphId from;
  GraphId to;
  std::string label;
  bool core = false;
};

// A page the picture shows: anonymous, mapped by a present PTE of a live mm.
struct GraphPage {
  Pfn pfn;
  const Page* page;
};

// "0x1f": how labels write addresses and page indexes.
inline std::string GraphHex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[18];
  char* p = buf + sizeof(buf);
  do {
    *--p = kDigits[v & 15];
    v >>= 4;
  } while (v);
  *--p = 'x';
  *--p = '0';
  return std::string(p, buf + sizeof(buf));
}

// The parts of a label, joined ("anon_vma #", std::to_string(h), ...).
inline std::string GraphLabel(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

class GraphSink {
 public:
  // --- what the core shows; a design reads it in Describe ---
  const std::vector<const Mm*>& mms() const { return mms_; }
  // Every vma of those mms, mm by mm, by address.
  const std::vector<const Vma*>& vmas() const { return vmas_; }
  // The pages whose mapping and index are the design's (PG_anon, not
  // PG_ksm), by pfn.  KSM pages are shown but not listed here.
  const std::vector<GraphPage>& pages() const { return pages_; }
  bool Has(GraphId id) const { return index_.count(id) != 0; }

  // --- for the design ---
  // A node of the design's, of `kind` (its kernel name: "anon_vma").
  void Node(GraphId id, std::string_view kind, std::string label) {
    Add(id, kind, std::move(label), false);
  }
  void Edge(GraphId from, GraphId to, std::string label) {
    edges_.push_back({from, to, std::move(label), false});
  }
  // A sentence under the picture (what it leaves out, ...).
  void Note(std::string text) { notes_.push_back(std::move(text)); }

  // --- for the core ---
  void AddMm(const Mm& mm, std::string label);
  void AddVma(const Vma& vma, std::string label);  // after its mm
  // `listed`: the design's page (goes into pages()).
  void AddPage(Pfn pfn, const Page& page, std::string label, bool listed);
  void AddPte(const Vma& vma, Pfn pfn, std::string label);

  // --- for a writer ---
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const std::vector<GraphEdge>& edges() const { return edges_; }
  const std::vector<std::string>& notes() const { return notes_; }
  // Invariant (3); the error names the first dangling edge.
  Status Check() const;

 private:
  void Add(GraphId id, std::string_view kind, std::string label, bool core);

  std::vector<const Mm*> mms_;
  std::vector<const Vma*> vmas_;
  std::vector<GraphPage> pages_;
  std::vector<GraphNode> nodes_;
  std::vector<GraphEdge> edges_;
  std::vector<std::string> notes_;
  std::map<GraphId, size_t> index_;  // id -> position in nodes_
};

}  // namespace rmaplab

#endif  // RMAPLAB_GRAPH_H_
