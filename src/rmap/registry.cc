// registry.cc: every reverse-map design, by name.  Adding a design is one
// file under src/rmap/ and one line here.
#include "rmap/rmap.h"

namespace rmaplab {

std::unique_ptr<ReverseMap> NewAnonVmaChain();
std::unique_ptr<ReverseMap> NewPteChain();
std::unique_ptr<ReverseMap> NewAnonVma();
std::unique_ptr<ReverseMap> NewAnonVmaDirect();
std::unique_ptr<ReverseMap> NewAnonMmChains();
std::unique_ptr<ReverseMap> NewAnonMmCopy();
std::unique_ptr<ReverseMap> NewAnonInode();
std::unique_ptr<ReverseMap> NewCowContext();
std::unique_ptr<ReverseMap> NewCowContextPoc();
std::unique_ptr<ReverseMap> NewAnonVmaLazy();

const std::vector<DesignInfo>& Designs() {
  static const std::vector<DesignInfo> kDesigns = {
      {"anon_vma_chain",
       "Linux 2.6.34 to today: anon_vma per vma, linked to ancestors by chains",
       NewAnonVmaChain},
      {"pte_chain",
       "Rik van Riel's 2.5 rmap: every page lists its PTEs (PG_direct)",
       NewPteChain},
      {"anonmm-chains",
       "Hugh Dickins' anobjrmap: one object per mm group; pte_chains after "
       "mremap",
       NewAnonMmChains},
      {"anonmm-copy",
       "Hugh Dickins' anobjrmap with Linus' copy of shared pages on mremap",
       NewAnonMmCopy},
      {"anon_vma", "Andrea Arcangeli's 2.6.7 anon_vma: one per fork family",
       NewAnonVma},
      {"anon_vma-direct", "anon_vma with the RFC's PageDirect pages",
       NewAnonVmaDirect},
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
  return kDesigns;
}

// Exhibits: a proposal's rules followed exactly where they are incomplete,
// kept to replay their counterexamples (docs/designs/).  Made by name like
// any design, but not in Designs(): every suite that runs "all designs"
// must pass, and these do not.
static const std::vector<DesignInfo>& Exhibits() {
  static const std::vector<DesignInfo> kExhibits = {
      {"cow_context-poc",
       "cow_context with the proof of concept's walk rules exactly (misses "
       "mappings)",
       NewCowContextPoc},
  };
  return kExhibits;
}

std::unique_ptr<ReverseMap> CreateDesign(std::string_view name) {
  for (const auto* list : {&Designs(), &Exhibits()})
    for (const DesignInfo& d : *list)
      if (d.name == name) return d.create();
  return nullptr;
}

bool AnonVmaCompatible(const Vma& a, const Vma& b) {
  return a.end == b.start && a.shmem == b.shmem &&
         !((a.flags ^ b.flags) & ~VM_ACCESS_FLAGS) &&
         b.pgoff == a.pgoff + ((b.start - a.start) >> 12);
}

}  // namespace rmaplab
