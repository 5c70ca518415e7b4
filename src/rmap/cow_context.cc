// cow_context.cc: Lorenzo Stoakes' 2026 COW context proof of concept
// (branch project/cow-context of his linux tree, mm/cow_context.c:
// mm_init_cow_context, dup_cow_context, drop_cow_context,
// __put_cow_context, traverse_contexts, walk_context, walk_context_remap,
// should_track_remap; the LSFMM+BPF 2026 talk).  Facts taken, code ours.
//
// One context per mm, made with the mm.  Fork links the child's context
// under the parent's (parent pointer, children list, newest child first as
// list_add_rcu leaves it).  A context holds one reference for its mm and
// one per child, so the context of an exited mm lives on, with no mm,
// while it has children; the chain is freed upward when the last one goes.
// exec (MmExit then MmInit) gives a process a fresh context with no parent.
//
// A new anonymous page points at the faulting mm's context (page->mapping)
// and its index is linear_page_index(): vm_pgoff is vm_start >> 12 when an
// anonymous vma is made and mremap keeps it, so a moved vma maps page
// index i at page number i + offset, offset = (vm_start >> 12) - vm_pgoff.
// A page reused exclusively after COW moves to the writer's context
// (folio_move_anon_rmap).  Each context keeps a range tree of remaps (a
// maple tree in the PoC, a std::map here): page-index ranges -> the offsets
// at which the mm's vmas now map them.
//
// The walk (traverse_contexts + walk_context): the page's context first,
// then its subtree depth first (children before their parent).  In each
// context whose mm is alive: look up the vma at offset 0 and at each
// recorded remap offset, and yield a vma only if its own offset equals
// that one.  After the offset-0 look-up, stop the whole walk if the page
// is not mapped shared (folio_maybe_mapped_shared): "exclusive folios are
// moved to the correct Cow context level, so we only look once".
//
// Two variants:
//  - cow_context-poc: those rules exactly.  They miss mappings; the
//    checker finds it and docs/designs/cow_context.md gives the smallest
//    traces (tests/traces/cow-context-poc-*.trace).
//  - cow_context: the smallest changes that make the walk complete:
//    (a) the exclusive early stop waits until the walk has found the
//        page's one mapping (a page exclusive when the walk began);
//    (b) a new page that is not exclusive (a shared swap slot read back,
//        a shared page migrated) points at the root context of its fork
//        tree, as __folio_set_anon() uses anon_vma->root.
//
// The remap tree.  The PoC updates it from hooks at mremap, vma adjust,
// fork and unmap.  The model's interface has no hook for every vma range
// change (a merge or an in-place grow just sets the range), so a context
// brings its tree up to date from its mm's vmas before it reads it (walk,
// bytes, check): the tree the PoC's hooks keep, computed instead of
// maintained.  The tree is a cache of the vmas: bringing it up to date
// changes no state of the design, so the walk stays const.
// should_track_remap(): an anonymous vma with an anon object and
// offset != 0.
//
// Costs: struct cow_context as the PoC allocates it (mm, parent, children,
// siblings, refcnt, list_write_lock, concurrent_unmap_lock, remap_mt, rcu):
// 96 bytes x86-64, 56 i386; each remap-tree range a maple-tree slot and
// pivot (16 / 8 bytes), plus, with two or more offsets, a dynarray of
// 8 + cap * sizeof(long) bytes (cap doubling from 2).  struct page is
// unchanged (folio->cow_context takes mapping's place).  Walk steps are
// contexts visited plus vmas looked at: a vma yielded is an rmap_walk_step;
// a context visit and a vma looked at but not yielded (offset differs, or
// not anonymous) count in wasted_steps.  The PoC walks under RCU: no
// rmap lock is counted for a walk; fork takes the parent's list lock.
//
// Invariants (CheckInvariants):
//  (1) refcnt == (mm alive ? 1 : 0) + number of children, and > 0;
//  (2) a child's parent lists it once among its children;
//  (3) a live context's mm points back at it (Mm::rmap);
//  (4) remap ranges are non-empty, sorted and disjoint; each holds sorted,
//      distinct, non-zero offsets.
#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "rmap/rmap.h"

namespace rmaplab {
namespace {

// One remap-tree entry: page indexes [first, end) map at these offsets too.
struct RemapRange {
  uint64_t end;
  std::vector<int64_t> offsets;  // sorted, distinct, non-zero
};
using RemapTree = std::map<uint64_t, RemapRange>;  // keyed by first index

// What a moved vma adds to its context's tree: [pgoff, pgoff+pages) at offset.
struct MovedRange {
  uint64_t pgoff;
  uint64_t pages;
  int64_t offset;
  bool operator==(const MovedRange&) const = default;
};

struct CowContext {
  uint32_t handle = 0;
  Mm* mm = nullptr;  // nullptr once the mm exited (drop_cow_context)
  CowContext* parent = nullptr;
  std::vector<CowContext*> children;  // oldest first; walked newest first
  int refcnt = 1;                     // the mm's reference
  std::vector<MovedRange> moved;      // what `remaps` was built from
  RemapTree remaps;
};

// (vm_start >> 12) - vm_pgoff: where the vma maps its page indexes.
int64_t OffsetOf(const Vma& vma) {
  return static_cast<int64_t>(vma.start >> 12) -
         static_cast<int64_t>(vma.pgoff);
}

// Splits the range holding `at`, if it starts before it (split_remap()).
void SplitAt(RemapTree& tree, uint64_t at) {
  auto it = tree.upper_bound(at);
  if (it == tree.begin()) return;
  --it;
  if (it->first < at && at < it->second.end) {
    RemapRange right{it->second.end, it->second.offsets};
    it->second.end = at;
    tree.emplace(at, std::move(right));
  }
}

// add_new_remap(): [first, end) also maps at `offset`; gaps get a range of
// their own, overlapping ranges gain the offset.
void AddRemap(RemapTree& tree, uint64_t first, uint64_t end, int64_t offset) {
  SplitAt(tree, first);
  SplitAt(tree, end);
  uint64_t cur = first;
  auto it = tree.lower_bound(first);
  while (cur < end) {
    if (it == tree.end() || it->first >= end) {
      tree.emplace_hint(it, cur, RemapRange{end, {offset}});
      return;
    }
    if (it->first > cur)
      tree.emplace_hint(it, cur, RemapRange{it->first, {offset}});
    auto& offs = it->second.offsets;
    auto pos = std::lower_bound(offs.begin(), offs.end(), offset);
    if (pos == offs.end() || *pos != offset) offs.insert(pos, offset);
    cur = it->second.end;
    ++it;
  }
}

class CowContextDesign final : public ReverseMap {
 public:
  explicit CowContextDesign(bool poc) : poc_(poc) {}

  std::string_view name() const override {
    return poc_ ? "cow_context-poc" : "cow_context";
  }

  // --- address spaces ---
  void MmInit(Mm& mm) override;                 // mm_init_cow_context()
  void MmFork(Mm& child, Mm& parent) override;  // dup_cow_context()
  void MmExit(Mm& mm) override;                 // drop_cow_context()

  // --- vmas: the mm's context is every vma's anonymous object ---
  void AnonVmaPrepare(Vma& vma, Vma*, Vma*) override {
    vma.anon_vma = Ctx(*vma.mm);
  }
  void AnonVmaClone(Vma& dst, Vma& src) override {
    dst.anon_vma = src.anon_vma.get();
  }
  void AnonVmaFork(Vma& child, Vma&) override {
    child.anon_vma = Ctx(*child.mm);
  }
  void UnlinkAnonVmas(Vma& vma) override { vma.anon_vma = nullptr; }

  // --- pages ---
  void AddNewAnonRmap(Pfn, Page& page, Vma& vma, uint64_t addr,
                      bool exclusive) override {
    CowContext* c = Ctx(*vma.mm);
    if (!exclusive && !poc_) c = TreeRoot(c);  // change (b)
    page.mapping = c->handle;
    page.index = vma.LinearPageIndex(addr);
  }
  void AddAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void DupAnonRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void RemoveRmap(Pfn, Page&, Vma&, uint64_t) override {}
  void MoveAnonRmap(Pfn, Page& page, Vma& vma, uint64_t) override {
    page.mapping = Ctx(*vma.mm)->handle;  // folio_move_anon_rmap()
  }
  MoveAction MovePte(Pfn, Page&, Vma&, uint64_t, Vma&, uint64_t) override {
    return MoveAction::kKeep;  // vm_pgoff moves along; the tree records it
  }

  void Walk(Pfn pfn, const Page& page, RmapOne rmap_one,
            WalkCost& cost) const override;

  uint64_t MetadataBytes(Layout layout) const override;
  Status CheckInvariants() const override;

 private:
  // State of one walk.
  struct WalkState {
    Pfn pfn;
    const Page& page;
    RmapOne rmap_one;
    bool exclusive_at_start;  // change (a)
    WalkCost& cost;
  };

  static CowContext* Ctx(const Mm& mm) { return mm.rmap.as<CowContext>(); }
  static CowContext* TreeRoot(CowContext* c) {
    while (c->parent) c = c->parent;
    return c;
  }

  CowContext* Alloc(Mm& mm);
  void Put(CowContext* c);  // put_cow_context(): frees upward
  // The tree of c as the PoC's hooks would have left it.
  static void Refresh(CowContext& c);
  // traverse_contexts(): fn(c) for the root, then depth first, children
  // (newest first) before their parent; stops when fn returns false.
  template <typename Fn>
  static void Traverse(CowContext* root, Fn&& fn);
  bool WalkContext(CowContext& c, WalkState& w) const;  // walk_context()
  bool WalkOffset(CowContext& c, WalkState& w,
                  int64_t off) const;  // walk_context_remap()

  bool poc_;
  // Never reused: a stale page->mapping finds nothing.
  HandleTable<CowContext> contexts_{/*reuse=*/false};

  // --- structure pictures (rmaplab/graph.h) ---
 public:
  // Every context (-> its mm, -> its parent) with its remap tree in its
  // label, each vma's object (its mm's context), each page's context.
  void Describe(GraphSink& g) const override {
    contexts_.ForEach([&](const CowContext& cc) {
      CowContext& c = *contexts_.Find(cc.handle);
      Refresh(c);
      std::string label =
          GraphLabel({"cow_context #", std::to_string(c.handle), "\nrefcnt ",
                      std::to_string(c.refcnt), c.mm ? "" : " (mm exited)"});
      for (const auto& [first, r] : c.remaps) {
        label += GraphLabel(
            {"\nremap [", GraphHex(first), ", ", GraphHex(r.end), ") at"});
        for (int64_t off : r.offsets)  // pages: (vm_start >> 12) - vm_pgoff
          label += GraphLabel(
              {off < 0 ? " -" : " +", GraphHex(off < 0 ? -off : off)});
      }
      g.Node(GraphId::Object(&c), "cow_context", label);
    });
    contexts_.ForEach([&](const CowContext& c) {
      if (c.mm) g.Edge(GraphId::Object(&c), GraphId::Of(*c.mm), "mm");
      if (c.parent)
        g.Edge(GraphId::Object(&c), GraphId::Object(c.parent), "parent");
    });
    for (const Vma* vma : g.vmas())
      if (vma->anon_vma)
        g.Edge(GraphId::Of(*vma), GraphId::Object(vma->anon_vma.get()),
               "anon_vma");
    for (const GraphPage& p : g.pages())
      if (const CowContext* c = contexts_.Find(p.page->mapping))
        g.Edge(GraphId::OfPage(p.pfn), GraphId::Object(c),
               GraphLabel({"mapping, index ", GraphHex(p.page->index)}));
  }
};

CowContext* CowContextDesign::Alloc(Mm& mm) {
  CowContext* c = contexts_.New();
  c->mm = &mm;
  mm.rmap = c;
  return c;
}

void CowContextDesign::MmInit(Mm& mm) { Alloc(mm); }

void CowContextDesign::MmFork(Mm& child, Mm& parent) {
  CowContext* c = Alloc(child);
  CowContext* p = Ctx(parent);
  c->parent = p;
  p->children.push_back(c);  // list_add_rcu(&c->siblings, &p->children)
  p->refcnt++;               // get_cow_context(parent)
  counters().fork_work++;
  counters().lock_acquisitions++;  // parent->list_write_lock
}

void CowContextDesign::MmExit(Mm& mm) {
  CowContext* c = Ctx(mm);
  if (!c) return;
  c->mm = nullptr;
  mm.rmap = nullptr;
  counters().exit_work++;
  Put(c);
}

void CowContextDesign::Put(CowContext* c) {
  while (c && --c->refcnt == 0) {
    CowContext* parent = c->parent;
    if (parent) {  // delete_child_from_parent()
      auto& sib = parent->children;
      sib.erase(std::find(sib.begin(), sib.end(), c));
      counters().lock_acquisitions++;
    }
    contexts_.Delete(c);
    counters().exit_work++;
    c = parent;
  }
}

void CowContextDesign::Refresh(CowContext& c) {
  std::vector<MovedRange> want;
  if (c.mm) {
    for (const auto& [start, v] : c.mm->vmas) {
      int64_t off = OffsetOf(*v);
      if (v->is_anonymous() && v->anon_vma && off != 0)
        want.push_back({v->pgoff, v->pages(), off});
    }
  }
  if (want == c.moved) return;
  c.moved = std::move(want);
  c.remaps.clear();
  for (const MovedRange& m : c.moved)
    AddRemap(c.remaps, m.pgoff, m.pgoff + m.pages, m.offset);
}

template <typename Fn>
void CowContextDesign::Traverse(CowContext* root, Fn&& fn) {
  if (!fn(*root)) return;
  struct Frame {
    CowContext* c;
    size_t visited;  // children entered so far, newest first
  };
  std::vector<Frame> stack{{root, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.visited < f.c->children.size()) {
      CowContext* child = f.c->children[f.c->children.size() - 1 - f.visited++];
      stack.push_back({child, 0});
      continue;
    }
    CowContext* done = f.c;
    stack.pop_back();
    if (done != root && !fn(*done)) return;
  }
}

void CowContextDesign::Walk(Pfn pfn, const Page& page, RmapOne rmap_one,
                            WalkCost& cost) const {
  CowContext* start = contexts_.Find(page.mapping);
  if (!start) return;
  WalkState w{pfn, page, rmap_one, page.mapcount <= 1, cost};
  Traverse(start, [&](CowContext& c) { return WalkContext(c, w); });
}

bool CowContextDesign::WalkContext(CowContext& c, WalkState& w) const {
  w.cost.wasted_steps++;   // a context visited yields no candidate itself
  if (!c.mm) return true;  // exited: its children may still map the page
  Refresh(c);
  bool was_exclusive = w.page.mapcount <= 1;  // !folio_maybe_mapped_shared()
  if (!WalkOffset(c, w, 0)) return false;
  if (poc_ && was_exclusive && w.page.mapcount <= 1) return false;
  auto r = c.remaps.upper_bound(w.page.index);
  if (r == c.remaps.begin()) return true;
  --r;
  if (w.page.index >= r->second.end) return true;
  std::vector<int64_t> offsets = r->second.offsets;  // rmap_one may unmap
  for (int64_t off : offsets)
    if (!WalkOffset(c, w, off)) return false;
  return true;
}

bool CowContextDesign::WalkOffset(CowContext& c, WalkState& w,
                                  int64_t off) const {
  int64_t pn = static_cast<int64_t>(w.page.index) + off;
  if (pn < 0) return true;
  uint64_t addr = static_cast<uint64_t>(pn) << 12;
  Vma* vma = c.mm->VmaLookup(addr);
  if (!vma) return true;  // no vma there: nothing looked at
  if (!vma->is_anonymous() || OffsetOf(*vma) != off) {
    w.cost.wasted_steps++;
    return true;
  }
  // Change (a): the page was exclusive, so this is its only mapping.
  bool last = false;
  if (!poc_ && w.exclusive_at_start) {
    Pte pte = vma->mm->pt.Get(addr);
    last = pte.present() && pte.pfn() == w.pfn;
  }
  return w.rmap_one(*vma, addr) && !last;
}

uint64_t CowContextDesign::MetadataBytes(Layout layout) const {
  bool x64 = layout == Layout::kX86_64;
  uint64_t word = x64 ? 8 : 4;
  uint64_t bytes = contexts_.live() * (x64 ? 96 : 56);
  contexts_.ForEach([&](const CowContext& cc) {
    CowContext& c = *contexts_.Find(cc.handle);
    Refresh(c);
    for (const auto& [first, r] : c.remaps) {
      bytes += 2 * word;  // slot + pivot in a maple node
      size_t n = r.offsets.size();
      if (n < 2) continue;
      size_t cap = 2;
      while (cap < n) cap *= 2;
      bytes += 8 + cap * word;  // struct dynarray
    }
  });
  return bytes;
}

Status CowContextDesign::CheckInvariants() const {
  std::vector<CowContext*> all;
  contexts_.ForEach(
      [&](const CowContext& c) { all.push_back(contexts_.Find(c.handle)); });
  for (CowContext* c : all) {
    int want = (c->mm ? 1 : 0) + static_cast<int>(c->children.size());
    if (c->refcnt != want || c->refcnt <= 0)
      return Status::Error(std::string(name()) + ": context refcnt " +
                           std::to_string(c->refcnt) +
                           " != " + std::to_string(want));
    for (const CowContext* child : c->children)
      if (child->parent != c)
        return Status::Error(std::string(name()) +
                             ": child with another parent");
    if (c->parent && std::count(c->parent->children.begin(),
                                c->parent->children.end(), c) != 1)
      return Status::Error(std::string(name()) +
                           ": context not once on its parent's list");
    if (c->mm && c->mm->rmap != c)
      return Status::Error(std::string(name()) +
                           ": mm does not point at its context");
    Refresh(*c);
    uint64_t prev_end = 0;
    for (const auto& [first, r] : c->remaps) {
      bool sorted = std::is_sorted(r.offsets.begin(), r.offsets.end()) &&
                    std::adjacent_find(r.offsets.begin(), r.offsets.end()) ==
                        r.offsets.end();
      if (first >= r.end || first < prev_end || r.offsets.empty() || !sorted ||
          std::count(r.offsets.begin(), r.offsets.end(), 0))
        return Status::Error(std::string(name()) + ": malformed remap tree");
      prev_end = r.end;
    }
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ReverseMap> NewCowContext() {
  return std::make_unique<CowContextDesign>(false);
}
std::unique_ptr<ReverseMap> NewCowContextPoc() {
  return std::make_unique<CowContextDesign>(true);
}

}  // namespace rmaplab
