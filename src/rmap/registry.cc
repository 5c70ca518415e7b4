// registry.cc: every reverse-map design, by name.  Adding a design to this
// tree is one file under src/rmap/ and one line here; a design in a user's
// tree comes in through RegisterDesign().
#include <utility>

#include "rmap/rmap.h"

namespace rmaplab {

std::unique_ptr<ReverseMap> NewAnonVmaChain();
std::unique_ptr<ReverseMap> NewPteChain();
std::unique_ptr<ReverseMap> NewAnonVma(bool direct);
std::unique_ptr<ReverseMap> NewAnonMm(bool chains);
std::unique_ptr<ReverseMap> NewAnonInode();
std::unique_ptr<ReverseMap> NewCowContext();
std::unique_ptr<ReverseMap> NewCowContextPoc();
std::unique_ptr<ReverseMap> NewAnonVmaLazy();

namespace {

std::vector<DesignInfo>& Registry() {
  static std::vector<DesignInfo> designs = {
      {"anon_vma_chain",
       "Linux 2.6.34 to today: anon_vma per vma, linked to ancestors by chains",
       NewAnonVmaChain},
      {"pte_chain",
       "Rik van Riel's 2.5 rmap: every page lists its PTEs (PG_direct)",
       NewPteChain},
      {"anonmm-chains",
       "Hugh Dickins' anobjrmap: one object per mm group; pte_chains after "
       "mremap",
       [] { return NewAnonMm(/*chains=*/true); }},
      {"anonmm-copy",
       "Hugh Dickins' anobjrmap with Linus' copy of shared pages on mremap",
       [] { return NewAnonMm(/*chains=*/false); }},
      {"anon_vma", "Andrea Arcangeli's 2.6.7 anon_vma: one per fork family",
       [] { return NewAnonVma(/*direct=*/false); }},
      {"anon_vma-direct", "anon_vma with the RFC's PageDirect pages",
       [] { return NewAnonVma(/*direct=*/true); }},
      {"anon_inode",
       "Rik van Riel's anon_memory inode: all anonymous memory is one object",
       NewAnonInode},
      {"cow_context",
       "Lorenzo Stoakes' 2026 COW context: one per mm in the fork tree, "
       "remap ranges (complete)",
       NewCowContext},
      {"anon_vma_lazy",
       "ANON_VMA_LAZY (2026): anon_vma_chain, no anon_vma until a vma is "
       "first forked",
       NewAnonVmaLazy},
  };
  return designs;
}

// Exhibits: a proposal's rules followed exactly where they are incomplete,
// kept to replay their counterexamples (docs/designs/).  Made by name like
// any design, but not in Designs(): every suite that runs "all designs"
// must pass, and these do not.
const std::vector<DesignInfo>& Exhibits() {
  static const std::vector<DesignInfo> kExhibits = {
      {"cow_context-poc",
       "cow_context with the proof of concept's walk rules exactly (misses "
       "mappings)",
       NewCowContextPoc},
  };
  return kExhibits;
}

}  // namespace

const std::vector<DesignInfo>& Designs() { return Registry(); }

Status RegisterDesign(DesignInfo info) {
  if (info.name.empty()) return Status::Error("RegisterDesign: empty name");
  if (!info.create)
    return Status::Error("RegisterDesign: " + info.name + " has no create");
  for (const auto* list : {&Designs(), &Exhibits()})
    for (const DesignInfo& d : *list)
      if (d.name == info.name)
        return Status::Error("RegisterDesign: design " + info.name +
                             " is already registered");
  Registry().push_back(std::move(info));
  return Status::Ok();
}

std::unique_ptr<ReverseMap> CreateDesign(std::string_view name) {
  for (const auto* list : {&Designs(), &Exhibits()})
    for (const DesignInfo& d : *list)
      if (d.name == name) return d.create();
  return nullptr;
}

}  // namespace rmaplab
