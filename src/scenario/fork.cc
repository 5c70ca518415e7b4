// fork.cc: the scenarios built from fork: 2.6.34's fork server, the fork
// trees of selftests/mm/rmap.c and of the 2026 review (issue 9 4a), and the
// constantly forking task of the 2015 anon_vma chain report (issue 9 4d).
//
// Invariants:
//  (1) Pids are handed out in trace order from 2 up (pid 1 is the root), so
//      a fork never names a live pid.
//  (2) A process only writes inside regions it maps or inherited, so no op
//      is refused (scenario.h (2)).
#include <functional>

#include "scenario/writer.h"

namespace rmaplab::scenario {

namespace {

constexpr uint64_t kPrivateBase = 0x400000000;  // per-process regions

// A fork tree `depth` levels below pid 1 with `fanout` children each, in
// depth-first order: `before(pid, level)` runs when a process is born (for
// the root, first), then it forks its children one by one (each child's
// subtree is built before the next fork), then `after(pid, level)` runs.
// Returns the number of processes.
uint64_t BuildForkTree(TraceWriter& w, uint64_t depth, uint64_t fanout,
                       const std::function<void(uint64_t, uint64_t)>& before,
                       const std::function<void(uint64_t, uint64_t)>& after) {
  uint64_t next_pid = 2;
  std::function<void(uint64_t, uint64_t)> grow = [&](uint64_t pid,
                                                     uint64_t level) {
    before(pid, level);
    if (level < depth) {
      for (uint64_t c = 0; c < fanout; ++c) {
        uint64_t child = next_pid++;
        w.Fork(pid, child);
        grow(child, level + 1);
      }
    }
    after(pid, level);
  };
  grow(1, 0);
  return next_pid - 1;
}

}  // namespace

// A server writes `pages` pages and forks `children` children; every child
// copies them all on write, then all of them touch their copy twice more
// while memory holds only mem_percent of it: reclaim walks the reverse map
// of pages each living in one child (what anon_vma made O(children)).
// With `folio` above 4K the server's memory is folios of that size.
ScenarioTrace ForkServer(const ScenarioArgs& a) {
  uint64_t children = a.Get("children"), pages = a.Get("pages");
  TraceWriter w;
  EnableFolioSize(w, a.Get("folio"));
  w.Mmap(1, kScenarioBase, pages);
  w.Write(1, kScenarioBase, pages);
  for (uint64_t c = 0; c < children; ++c) w.Fork(1, 2 + c);
  for (uint64_t c = 0; c < children; ++c) w.Write(2 + c, kScenarioBase, pages);
  for (int round = 0; round < 2; ++round)
    for (uint64_t c = 0; c < children; ++c) w.Read(2 + c, kScenarioBase, pages);
  return {w.Take(),
          PressurePages(pages * (children + 1), a.Get("mem_percent"))};
}

// Issue 9 4a.  The root writes `pages` pages; every process at every level
// maps `private_pages` of its own and writes the first half before it forks
// (shared with its subtree) and the second half after (exclusive), and
// copies one root page on write (a COW at each level).  Then reclaim takes
// everything: walk steps per reclaimed page against depth and fanout.
ScenarioTrace DeepForkTree(const ScenarioArgs& a) {
  uint64_t pages = a.Get("pages"), priv = a.Get("private_pages");
  uint64_t half = priv / 2;
  TraceWriter w;
  w.Mmap(1, kScenarioBase, pages);
  w.Write(1, kScenarioBase, pages);
  auto region = [&](uint64_t pid) { return kPrivateBase + pid * 0x1000000; };
  uint64_t procs = BuildForkTree(
      w, a.Get("depth"), a.Get("fanout"),
      [&](uint64_t pid, uint64_t level) {
        if (level > 0)
          w.Write(pid, kScenarioBase + (pid % pages) * kPageSize, 1);
        w.Mmap(pid, region(pid), priv);
        w.Write(pid, region(pid), half);
      },
      [&](uint64_t pid, uint64_t) {
        w.Write(pid, region(pid) + half * kPageSize, priv - half);
      });
  w.Sys("reclaim", std::to_string(pages + procs * (priv + 1)));
  return {w.Take(), 0};
}

// selftests/mm/rmap.c's migrate test: a fork tree (up to 5 levels of up to
// 3 children there) shares the root's pages, then processes across the
// tree take turns migrating them between two nodes: every migration walks
// the reverse map of pages mapped by the whole tree.
ScenarioTrace ForkTreeMigrate(const ScenarioArgs& a) {
  uint64_t pages = a.Get("pages");
  TraceWriter w;
  w.Mmap(1, kScenarioBase, pages);
  w.Write(1, kScenarioBase, pages);
  auto nothing = [](uint64_t, uint64_t) {};
  uint64_t procs =
      BuildForkTree(w, a.Get("depth"), a.Get("fanout"), nothing, nothing);
  uint64_t migrations = a.Get("migrations");
  for (uint64_t m = 0; m < migrations; ++m) {
    uint64_t pid = 1 + (m * 7919) % procs;  // spread over the tree
    w.Op(pid, "migrate",
         TraceWriter::Range(kScenarioBase, pages) + " " +
             std::to_string((m + 1) % 2));
  }
  return {w.Take(), 0};
}

// Issue 9 4d, the 2015 report behind commit 7a3ef208: pid 1 maps and
// writes a region and forks; then, over and over, the newest process forks
// a child, the child copies one page on write, and its parent exits.
ScenarioTrace ForkingTask(const ScenarioArgs& a) {
  uint64_t pages = a.Get("pages"), rounds = a.Get("rounds");
  TraceWriter w;
  w.Mmap(1, kScenarioBase, pages);
  w.Write(1, kScenarioBase, pages);
  w.Fork(1, 2);
  for (uint64_t r = 0; r < rounds; ++r) {
    uint64_t parent = 2 + r, child = 3 + r;
    w.Fork(parent, child);
    w.Write(child, kScenarioBase + (r % pages) * kPageSize, 1);
    w.Op(parent, "exit");
  }
  return {w.Take(), 0};
}

}  // namespace rmaplab::scenario
