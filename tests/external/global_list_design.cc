// global_list_design.cc: a reverse-map design defined outside rmaplab's
// tree, against its public headers only (this file is compiled with
// include/ as its sole include path), and registered at start-up with
// RegisterDesign(); every AllDesigns suite, the contract suite first, runs
// over it.  It is the smallest complete design: every anonymous vma in the
// system sits on one list, a page's index is its linear page index (which
// mremap keeps, as vm_pgoff moves along), and a walk asks every vma on the
// list where it would map that index.
//
// Invariants (CheckInvariants):
//  (1) a vma is on the list iff its rmap points at the list;
//  (2) every vma on the list has the design's marker as its anon_vma.
#include <memory>
#include <set>
#include <string>

#include "rmaplab/graph.h"
#include "rmaplab/mm_types.h"
#include "rmaplab/rmap.h"
#include "rmaplab/status.h"

namespace {

using rmaplab::MoveAction;
using rmaplab::Page;
using rmaplab::Pfn;
using rmaplab::Vma;

char kAnonMarker;  // every anonymous vma's anon_vma: they all merge

class GlobalList final : public rmaplab::ReverseMap {
 public:
  std::string_view name() const override { return "global_list"; }

  void AnonVmaPrepare(Vma& vma, Vma*, Vma*) override {
    vma.anon_vma = &kAnonMarker;
    Link(vma);
  }
  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
    if (dst.anon_vma && !dst.rmap) Link(dst);
  }
  void AnonVmaFork(Vma& child, Vma& parent) override {
    AnonVmaClone(child, parent);
    counters().fork_work++;
  }
  void UnlinkAnonVmas(Vma& vma) override {
    if (vma.rmap) {
      vmas_.erase(&vma);
      counters().exit_work++;
    }
    vma.anon_vma = nullptr;
    vma.rmap = nullptr;
  }

  void AddNewAnonRmap(Pfn, Page& page, Vma& vma, uint64_t addr, bool) override {
    page.mapping = 1;
    page.index = vma.LinearPageIndex(addr);
  }
  void AddAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void DupAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void RemoveRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void MoveAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  MoveAction MovePte(Pfn, Page&, Vma&, uint64_t, Vma&, uint64_t) override {
    return MoveAction::kKeep;  // vm_pgoff keeps page->index valid
  }

  void Walk(Pfn, const Page& page, rmaplab::RmapOne rmap_one,
            rmaplab::WalkCost& cost) const override {
    if (!page.mapping) return;
    cost.lock_acquisitions++;
    for (Vma* vma : vmas_) {
      auto addr = vma->Address(page.index);
      if (!addr)
        cost.wasted_steps++;
      else if (!rmap_one(*vma, *addr))
        return;
    }
  }

  uint64_t MetadataBytes(rmaplab::Layout layout) const override {
    return vmas_.size() * (layout == rmaplab::Layout::kX86_64 ? 16 : 8);
  }
  rmaplab::Status CheckInvariants() const override {
    for (const Vma* vma : vmas_)
      if (vma->rmap.get() != &vmas_ || vma->anon_vma.get() != &kAnonMarker)
        return rmaplab::Status::Error("global_list: a listed vma disagrees");
    return rmaplab::Status::Ok();
  }

 private:
  void Link(Vma& vma) {
    vmas_.insert(&vma);
    vma.rmap = &vmas_;
    counters().lock_acquisitions++;
  }

  std::set<Vma*> vmas_;  // every anonymous vma with an anon_vma

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // The list (list -> every vma on it, in the picture's vma order) and
  // each page's edge to it.
  void Describe(rmaplab::GraphSink& g) const override {
    using rmaplab::GraphId;
    GraphId list = GraphId::Object(&vmas_);
    g.Node(list, "global_list",
           rmaplab::GraphLabel(
               {"global list\n", std::to_string(vmas_.size()), " vmas"}));
    for (const Vma* vma : g.vmas())
      if (vmas_.count(const_cast<Vma*>(vma)))
        g.Edge(list, GraphId::Of(*vma), "list");
    for (const rmaplab::GraphPage& p : g.pages())
      if (p.page->mapping)
        g.Edge(GraphId::OfPage(p.pfn), list,
               rmaplab::GraphLabel(
                   {"mapping, index ", rmaplab::GraphHex(p.page->index)}));
  }
};

const bool kRegistered =
    rmaplab::RegisterDesign({"global_list",
                             "a design from outside the tree: every "
                             "anonymous vma on one list",
                             [] { return std::make_unique<GlobalList>(); }})
        .ok();

}  // namespace

// For the test that checks the registration happened.
bool GlobalListDesignRegistered() { return kRegistered; }
