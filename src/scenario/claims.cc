// claims.cc: the claims table (claims.h): each claim of the debates, the
// measurements that test it and its verdict rule.  Thresholds are named
// constants next to the rule that uses them.
//
// Invariants:
//  (1) A judge reads numbers only through ClaimData and decides from them
//      alone (claims.h invariant 1); the text it returns quotes them.
//  (2) Every rule that can say "reproduced" can say "contradicted" when its
//      numbers move the other way (tests/scenario/claims_test.cc).
#include "rmaplab/claims.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace rmaplab {

namespace {

// 12345 -> "12,345"; 4.5 -> "4.50".
std::string Num(double v) {
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", std::fabs(v));
    std::string digits = buf, out;
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
  }
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string Pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v);
  return buf;
}

ClaimFinding Found(bool holds, std::string measured, std::string why_not) {
  if (holds) return {Verdict::kReproduced, std::move(measured), ""};
  return {Verdict::kContradicted, std::move(measured), std::move(why_not)};
}

ClaimMeasurement Scenario(std::string name, std::vector<std::string> params,
                          std::string sweep = "") {
  return {MeasurementKind::kScenario, std::move(name), std::move(params),
          std::move(sweep)};
}

ClaimMeasurement TraceFile(std::string path) {
  return {MeasurementKind::kTrace, std::move(path), {}, ""};
}

// The measurements several claims share (so a report runs each once).
ClaimMeasurement ForkServerSweep() {
  return Scenario("fork-server", {"pages=16"}, "children=10,100,1000");
}
ClaimMeasurement SwapStorm() { return Scenario("swap-storm", {}); }
ClaimMeasurement MremapAfterFork() { return Scenario("mremap-after-fork", {}); }
ClaimMeasurement AppLaunch() { return Scenario("app-launch", {}); }

// --- seed 001 ------------------------------------------------------------

// Andrea: "the per-vma overhead is 12 bytes, 2 pointers for the list node
// and 1 pointer to the anon-vma".  The slope of anon_vma's i386 bytes over
// the vmas fork adds to one anon_vma (fork-server from 10 to 1000
// children).
constexpr double kVmaBytesClaimed = 12, kVmaBytesSlack = 1;
ClaimFinding VmaBytes(ClaimData& d) {
  double b0 = d.Get(0, "anon_vma", "rmap_bytes_i386_peak", "10");
  double b1 = d.Get(0, "anon_vma", "rmap_bytes_i386_peak", "1000");
  double v0 = d.Get(0, "anon_vma", "vmas_peak", "10");
  double v1 = d.Get(0, "anon_vma", "vmas_peak", "1000");
  double slope = v1 > v0 ? (b1 - b0) / (v1 - v0) : 0;
  return Found(std::fabs(slope - kVmaBytesClaimed) < kVmaBytesSlack,
               "anon_vma's i386 metadata grows from " + Num(b0) + " B (" +
                   Num(v0) + " vmas) to " + Num(b1) + " B (" + Num(v1) +
                   " vmas): " + Num(slope) +
                   " B per vma linked to the family's anon_vma (the model's "
                   "i386 layout of the kernel structures)",
               "the model charges " + Num(slope) + " B per vma, not 12");
}

// Andrea: struct page is 48 B in 2.4 and 2.6, objrmap makes it 52, his
// anon_vma 44.  The designs: pte_chain is 2.6.0, anonmm-chains objrmap
// with the pte union kept, anon_vma the RFC.
ClaimFinding StructPage(ClaimData& d) {
  double base = d.Get(0, "pte_chain", "page_struct_bytes_i386", "10");
  double objrmap = d.Get(0, "anonmm-chains", "page_struct_bytes_i386", "10");
  double av = d.Get(0, "anon_vma", "page_struct_bytes_i386", "10");
  return Found(base == 48 && objrmap == 52 && av == 44,
               "struct page on i386: " + Num(base) +
                   " B under pte_chain "
                   "(2.6.0), " +
                   Num(objrmap) +
                   " B under anonmm-chains (objrmap: +4 mapcount, pte union "
                   "kept), " +
                   Num(av) +
                   " B under anon_vma (-8: no pte union); the model's "
                   "accounting, which follows the seed's arithmetic",
               "expected 48 -> 52 -> 44 B");
}

// Andrea: "we've a tiny list of vma to search for every page, otherwise
// with the mm-wide model we'd need to search" the whole group.  Steps per
// reclaim walk in the swap storm against the size of the fork group.
constexpr double kTinyListFactor = 10;
ClaimFinding WalkGroup(ClaimData& d) {
  double procs = d.Get(0, "anonmm-copy", "processes");
  auto per_walk = [&](const char* design) {
    double walks = d.Get(0, design, "reclaim_rmap_walks");
    return walks ? d.Get(0, design, "reclaim_rmap_walk_steps") / walks : 0;
  };
  double mm = per_walk("anonmm-copy"), av = per_walk("anon_vma");
  return Found(
      mm >= procs / 2 && av * kTinyListFactor <= mm,
      "swap-storm, " + Num(procs) +
          " processes in one fork group: a reclaim walk visits " + Num(mm) +
          " mms under anonmm, " + Num(av) + " vmas under anon_vma",
      "anonmm's walk (" + Num(mm) + " steps) is not O(group of " + Num(procs) +
          ") or anon_vma's (" + Num(av) + ") not a tenth of it");
}

// --- seed 004 ------------------------------------------------------------

// Andrea: anonmm "will save around 24 bytes per anonymous vma".  The slope
// of (anon_vma - anonmm-copy) i386 bytes over unforked anonymous vmas.
constexpr double kAnonVmaSavingLow = 20, kAnonVmaSavingHigh = 28;
ClaimFinding AnonVmaSaving(ClaimData& d) {
  auto saved = [&](const char* point) {
    return d.Get(0, "anon_vma", "rmap_bytes_i386", point) -
           d.Get(0, "anonmm-copy", "rmap_bytes_i386", point);
  };
  double v0 = d.Get(0, "anon_vma", "vmas", "20");
  double v1 = d.Get(0, "anon_vma", "vmas", "40");
  double slope = v1 > v0 ? (saved("40") - saved("20")) / (v1 - v0) : 0;
  return Found(slope >= kAnonVmaSavingLow && slope <= kAnonVmaSavingHigh,
               "app-launch without forks, " + Num(v0) + " -> " + Num(v1) +
                   " anonymous vmas: anonmm-copy keeps " + Num(slope) +
                   " B (i386) per vma less than anon_vma (its list node and "
                   "its own anon_vma)",
               "the saving is " + Num(slope) + " B per vma, not about 24");
}

ClaimFinding FileVmaSaving(ClaimData&) {
  return {Verdict::kNotMeasurable, "nothing: no file vma in the model",
          "rmaplab models anonymous memory only (the trace language maps "
          "anonymous or shmem memory, no files), so there is no file vma to "
          "carry anon_vma's 12 B of fields"};
}

// Linus' copy-on-mremap (seed 004, Hugh in seed 002's thread: "waste whole
// pages rather than wasting a few bytes").
ClaimFinding CopyWastes(ClaimData& d) {
  double copy = d.Get(0, "anonmm-copy", "wasted_pages");
  double chains = d.Get(0, "anonmm-chains", "wasted_pages");
  double entries = d.Get(0, "anonmm-chains", "rmap_chain_entries");
  double av = d.Get(0, "anon_vma", "wasted_pages");
  return Found(copy > 0 && chains == 0 && av == 0,
               "mremap-after-fork: anonmm-copy copies " + Num(copy) +
                   " pages; anonmm-chains copies " + Num(chains) +
                   " but allocates " + Num(entries) +
                   " pte_chain entries; anon_vma copies " + Num(av),
               copy == 0 ? "Linus' copy wasted no page on mremap after fork"
                         : "the other designs waste pages too");
}

// "the rare case which needs this copying (mremap of inherited area)":
// what the copy costs in the recorded real programs.
constexpr double kRareFraction = 0.01;
const char* const kRecorded[] = {
    "examples/recorded/make-j2.trace", "examples/recorded/python-pool.trace.gz",
    "examples/recorded/redis-bgsave.trace", "examples/recorded/sqlite3.trace"};
ClaimFinding CopyRare(ClaimData& d) {
  double wasted = 0, faults = 0, forks = 0;
  for (size_t m = 0; m < std::size(kRecorded); ++m) {
    wasted += d.Get(m, "anonmm-copy", "wasted_pages");
    faults += d.Get(m, "anonmm-copy", "page_faults");
    forks += d.Get(m, "anonmm-copy", "forks");
  }
  return Found(wasted <= kRareFraction * faults,
               "recorded programs (make -j2, a Python Pool, redis BGSAVE, "
               "sqlite3; " +
                   Num(forks) + " forks): anonmm-copy copies " + Num(wasted) +
                   " pages on mremap against " + Num(faults) + " page faults",
               "real programs copy " + Pct(100 * wasted / faults) +
                   " of their faults: not rare");
}

// Seed 004: "I know some app with hundred of processes allocating huge
// chunks of direct anon memory each and swapping a lot at the same time":
// anon_vma is preferable to anonmm when one swaps.
ClaimFinding SwapStormClaim(ClaimData& d) {
  double mm = d.Get(0, "anonmm-copy", "reclaim_rmap_walk_steps");
  double av = d.Get(0, "anon_vma", "reclaim_rmap_walk_steps");
  double mm_page = d.Get(0, "anonmm-copy", "steps_per_reclaimed_page");
  double av_page = d.Get(0, "anon_vma", "steps_per_reclaimed_page");
  double mm_bytes = d.Get(0, "anonmm-copy", "rmap_bytes_peak");
  double av_bytes = d.Get(0, "anon_vma", "rmap_bytes_peak");
  return Found(av < mm,
               "swap-storm: reclaim walks " + Num(av) +
                   " steps under "
                   "anon_vma (" +
                   Num(av_page) + " per reclaimed page), " + Num(mm) +
                   " under anonmm-copy (" + Num(mm_page) + "); anonmm keeps " +
                   Num(mm_bytes) +
                   " B of metadata, "
                   "anon_vma " +
                   Num(av_bytes) + " B",
               "anonmm walks fewer steps than anon_vma in the swap storm");
}

// --- seed 000 ------------------------------------------------------------

// try_to_unuse's PTE scan against the anon inode's object-driven visits.
struct SwapoffNumbers {
  double entries, slots, object;
};
SwapoffNumbers Swapoff(ClaimData& d) {
  return {d.Get(0, "anon_inode", "swapoff_ptes"),
          d.Get(0, "anon_inode", "swapoff_pte_slots"),
          d.Get(0, "anon_inode", "swapoff_object_visits")};
}
std::string SwapoffText(const SwapoffNumbers& n) {
  return "swapoff: try_to_unuse reads " + Num(n.slots) + " PTE slots to find " +
         Num(n.entries) +
         " swap entries; the anon inode's object-driven swapoff would make " +
         Num(n.object) +
         " visits (every anonymous vma on i_mmap is a "
         "candidate for every offset)";
}

// Rik: with an anon_memory inode swapoff becomes "simply move the
// anon_memory file pages from disk into memory".
ClaimFinding AnonInodeSwapoff(ClaimData& d) {
  SwapoffNumbers n = Swapoff(d);
  return Found(n.object < n.slots, SwapoffText(n),
               "the object-driven swapoff costs " +
                   Num(n.slots ? n.object / n.slots : 0) +
                   "x the page-table scan: the anon inode does not make it "
                   "simple");
}

// Hugh: "swapoff is inevitably backwards from sanity": it has to go from
// the page tables to the swap entries, and the anon inode would not make
// that fall out easily.
ClaimFinding SwapoffBackwards(ClaimData& d) {
  SwapoffNumbers n = Swapoff(d);
  return Found(n.slots > n.entries && n.object >= n.slots, SwapoffText(n),
               "the anon inode's object-driven swapoff is cheaper than the "
               "page-table scan");
}

// --- 2.6.34 ----------------------------------------------------------------

// Rik's anon_vma_chain (2.6.34): AIM7's fork server walked O(children) vmas
// per page under anon_vma, about one under anon_vma_chain.
constexpr double kGrowthFactor = 10, kAboutOne = 2;
ClaimFinding ForkServer2634(ClaimData& d) {
  auto per_walk = [&](const char* design, const char* point) {
    double walks = d.Get(0, design, "reclaim_rmap_walks", point);
    return walks ? d.Get(0, design, "reclaim_rmap_walk_steps", point) / walks
                 : 0;
  };
  double av0 = per_walk("anon_vma", "10"), av1 = per_walk("anon_vma", "1000");
  double c0 = per_walk("anon_vma_chain", "10");
  double c1 = per_walk("anon_vma_chain", "1000");
  return Found(av1 >= kGrowthFactor * av0 && c1 <= kAboutOne,
               "fork-server, 10 -> 1000 children: steps per reclaim walk " +
                   Num(av0) + " -> " + Num(av1) + " under anon_vma, " +
                   Num(c0) + " -> " + Num(c1) + " under anon_vma_chain",
               "anon_vma's walk does not grow with the children or "
               "anon_vma_chain's is not about one");
}

// --- seed 003 ------------------------------------------------------------

// Andrea: migration (and KSM) without "any page_mapcount vs page_count
// check" is "buggy w.r.t. o_direct": a pinned page must not be merged or
// migrated.  Each pin-bug trace is clean without its switch and loses or
// leaks a DMA write with it, under every design.
ClaimFinding Pins(ClaimData& d) {
  size_t clean = 0, plain = 0, caught = 0, switched = 0;
  std::set<std::string> switches;
  for (const ClaimRun& r : d.Runs(0)) {
    size_t sp = r.point.find(" --");
    double oracle = d.Get(0, r.design, "oracle_failures", r.point);
    double other = d.Get(0, r.design, "other_failures", r.point);
    if (sp == std::string::npos) {
      ++plain;
      clean += oracle == 0 && other == 0;
    } else {
      ++switched;
      caught += oracle > 0;
      switches.insert(r.point.substr(sp + 1));
    }
  }
  std::string list;
  for (const std::string& s : switches) list += (list.empty() ? "" : ", ") + s;
  return Found(plain > 0 && clean == plain && switched > 0 &&
                   caught == switched && switches.size() == 2,
               "pin-bug traces under every design: " + Num(clean) + " of " +
                   Num(plain) + " replays clean without a switch; with " +
                   list +
                   " the content oracle catches the lost or leaked "
                   "DMA write in " +
                   Num(caught) + " of " + Num(switched),
               "a replay without the switch failed, or one with it went "
               "unnoticed: the pin checks are not what keeps DMA writes");
}

// --- the 2026 round (issue 9 section 4) -----------------------------------

ClaimFinding DeepForkTree(ClaimData& d) {
  double c1 = d.Get(0, "cow_context", "steps_per_reclaimed_page", "1");
  double c5 = d.Get(0, "cow_context", "steps_per_reclaimed_page", "5");
  double a1 = d.Get(0, "anon_vma_chain", "steps_per_reclaimed_page", "1");
  double a5 = d.Get(0, "anon_vma_chain", "steps_per_reclaimed_page", "5");
  return Found(c5 > a5,
               "deep-fork-tree, depth 1 -> 5: steps per reclaimed page " +
                   Num(c1) + " -> " + Num(c5) + " under cow_context, " +
                   Num(a1) + " -> " + Num(a5) + " under anon_vma_chain",
               "at depth 5 COW context walks fewer steps per page than "
               "anon_vma_chain");
}

constexpr double kSameWalk = 1.25;
ClaimFinding CowContextMremap(ClaimData& d) {
  double wasted = d.Get(0, "cow_context", "wasted_pages");
  double chains = d.Get(0, "cow_context", "rmap_chain_entries");
  double errors = d.Get(0, "cow_context", "errors");
  double cc = d.Get(0, "cow_context", "steps_per_reclaimed_page");
  double avc = d.Get(0, "anon_vma_chain", "steps_per_reclaimed_page");
  double copy = d.Get(0, "anonmm-copy", "wasted_pages");
  return Found(
      wasted == 0 && chains == 0 && errors == 0 && cc <= kSameWalk * avc,
      "mremap-after-fork: cow_context copies " + Num(wasted) +
          " pages, allocates " + Num(chains) + " chain entries, " + Num(cc) +
          " steps per reclaimed page (anon_vma_chain " + Num(avc) +
          "; anonmm-copy copies " + Num(copy) + ")",
      "COW context copies, chains, refuses ops or walks more than "
      "1.25x anon_vma_chain after mremap");
}

double LazyCut(ClaimData& d, double* avc, double* lazy) {
  *avc = d.Get(0, "anon_vma_chain", "rmap_bytes");
  *lazy = d.Get(0, "anon_vma_lazy", "rmap_bytes");
  return *avc ? 100 * (*avc - *lazy) / *avc : 0;
}

ClaimFinding LazyDirection(ClaimData& d) {
  double avc, lazy, cut = LazyCut(d, &avc, &lazy);
  return Found(lazy < avc,
               "app-launch: anon_vma_lazy keeps " + Num(lazy) +
                   " B of reverse-map metadata, anon_vma_chain " + Num(avc) +
                   " B (" + Pct(cut) + " less)",
               "anon_vma_lazy keeps no less metadata than anon_vma_chain");
}

ClaimFinding LazySize(ClaimData& d) {
  double avc, lazy, cut = LazyCut(d, &avc, &lazy);
  return {Verdict::kNotMeasurable,
          "app-launch: anon_vmas and chains together fall by " + Pct(cut) +
              " (" + Num(avc) + " -> " + Num(lazy) + " B)",
          "rmaplab counts a design's metadata as one byte figure; the "
          "anon_vma and anon_vma_chain slabs are not counted apart, and the "
          "size depends on how many vmas are ever forked (fork_every)"};
}

constexpr double kBoundedFactor = 4, kBoundedSlackBytes = 4096;
ClaimFinding ForkingTask(ClaimData& d) {
  auto peak = [&](const char* design, const char* point) {
    return d.Get(0, design, "rmap_bytes_peak", point);
  };
  auto bounded = [&](const char* design) {
    return peak(design, "1000") <=
           kBoundedFactor * peak(design, "10") + kBoundedSlackBytes;
  };
  std::string grows;
  for (const char* dsn : {"anon_vma_chain", "anon_vma_lazy", "cow_context"})
    if (!bounded(dsn)) grows += std::string(grows.empty() ? "" : ", ") + dsn;
  return Found(
      bounded("anon_vma_chain") && bounded("anon_vma_lazy"),
      "forking-task, 10 -> 1000 generations: peak metadata " +
          Num(peak("anon_vma_chain", "10")) + " -> " +
          Num(peak("anon_vma_chain", "1000")) + " B under anon_vma_chain, " +
          Num(peak("anon_vma_lazy", "10")) + " -> " +
          Num(peak("anon_vma_lazy", "1000")) + " B under anon_vma_lazy, " +
          Num(peak("cow_context", "10")) + " -> " +
          Num(peak("cow_context", "1000")) + " B under cow_context" +
          (grows.empty() ? "" : "; grows: " + grows),
      "anon_vma_chain's metadata grows with the generations despite "
      "the reuse rule");
}

ClaimFinding ForkServer2026(ClaimData& d) {
  double avc = d.Get(0, "anon_vma_chain", "steps_per_reclaimed_page");
  double lazy = d.Get(0, "anon_vma_lazy", "steps_per_reclaimed_page");
  double cc = d.Get(0, "cow_context", "steps_per_reclaimed_page");
  double av = d.Get(0, "anon_vma", "steps_per_reclaimed_page");
  return Found(lazy <= kSameWalk * avc && cc <= kSameWalk * avc,
               "fork-server: steps per reclaimed page " + Num(avc) +
                   " under anon_vma_chain, " + Num(lazy) + " anon_vma_lazy, " +
                   Num(cc) + " cow_context (anon_vma " + Num(av) + ")",
               "a 2026 design walks more than 1.25x anon_vma_chain");
}

std::vector<Claim> MakeClaims() {
  std::vector<ClaimMeasurement> recorded;
  for (const char* t : kRecorded) recorded.push_back(TraceFile(t));
  return {
      {"001-vma-bytes",
       "seed 001 (Andrea)",
       "anon_vma's per-vma overhead is 12 bytes on i386: 2 pointers for the "
       "list node and 1 pointer to the anon_vma",
       {ForkServerSweep()},
       VmaBytes},
      {"001-struct-page",
       "seed 001 (Andrea)",
       "struct page is 48 B in 2.4 and 2.6, objrmap makes it 52 B, anon_vma "
       "44 B",
       {ForkServerSweep()},
       StructPage},
      {"004-anon-vma-bytes",
       "seed 004 (Andrea)",
       "anonmm with Linus' mremap copy saves about 24 bytes per anonymous vma",
       {Scenario("app-launch", {"fork_every=0"}, "vmas=20,40")},
       AnonVmaSaving},
      {"004-file-vma-bytes",
       "seed 004 (Andrea)",
       "... and 12 bytes per file vma",
       {},
       FileVmaSaving},
      {"004-copy-wastes",
       "seeds 002, 004 (Hugh, Linus)",
       "Linus' copy-on-mremap wastes whole pages where tracking would waste "
       "a few bytes",
       {MremapAfterFork()},
       CopyWastes},
      {"004-copy-rare", "seeds 001, 004 (Hugh)",
       "the copy is needed only in the rare case, mremap of an inherited "
       "area (\"does it ever occur outside our testing?\")",
       recorded, CopyRare},
      {"001-walk-group",
       "seed 001 (Andrea)",
       "anon_vma gives a tiny list of vmas to search for every page; the "
       "mm-wide anonmm searches every mm of the group",
       {SwapStorm()},
       WalkGroup},
      {"004-swap-storm",
       "seed 004 (Andrea)",
       "with hundreds of processes each swapping its own chunk, anon_vma is "
       "preferable to anonmm",
       {SwapStorm()},
       SwapStormClaim},
      {"000-anon-inode-swapoff",
       "seed 000 (Rik)",
       "an anon_memory inode would get rid of the swapoff code: \"simply "
       "move the anon_memory file pages from disk into memory\"",
       {Scenario("swapoff", {})},
       AnonInodeSwapoff},
      {"000-swapoff-backwards",
       "seed 000 (Hugh)",
       "\"swapoff is inevitably backwards from sanity\": it will not fall "
       "out of the anon inode so easily",
       {Scenario("swapoff", {})},
       SwapoffBackwards},
      {"2634-fork-server",
       "2.6.34 (Rik, anon_vma_chain)",
       "in AIM7's fork server a walk under anon_vma is O(children); under "
       "anon_vma_chain about one",
       {ForkServerSweep()},
       ForkServer2634},
      {"003-pins",
       "seed 003 (Andrea)",
       "a pinned page must not be merged or migrated: without the mapcount "
       "vs refcount check, migration and KSM lose O_DIRECT writes "
       "(--unsafe-pin-check brings the 2008 race back, --legacy-fork-cow "
       "the pre-5.8 fork, CVE-2020-29374's class)",
       {{MeasurementKind::kPinSwitches, "tests/traces/pin-bugs", {}, ""}},
       Pins},
      {"2026-4a-deep-tree",
       "2026 review (COW context), issue 9 4a",
       "COW context's nested loops \"may be slow when there are many child "
       "processes across several fork layers\"",
       {Scenario("deep-fork-tree", {}, "depth=1,2,3,4,5")},
       DeepForkTree},
      {"2026-4b-mremap",
       "2026 COW context series, issue 9 4b",
       "COW context's remap tree handles mremap after fork (anonmm's 2004 "
       "failure) without copies or chains",
       {MremapAfterFork()},
       CowContextMremap},
      {"2026-4c-lazy-direction",
       "2026 ANON_VMA_LAZY series, issue 9 4c",
       "launching apps leaves less anon_vma and anon_vma_chain memory",
       {AppLaunch()},
       LazyDirection},
      {"2026-4c-lazy-size",
       "2026 ANON_VMA_LAZY series, issue 9 4c",
       "anon_vma slab -92 % and anon_vma_chain -50.5 % after launching 24 "
       "apps",
       {AppLaunch()},
       LazySize},
      {"2026-4d-forking-task",
       "2015 report, commit 7a3ef208; issue 9 4d",
       "reusing anon_vmas bounds anon_vma_chain's growth under a constantly "
       "forking task",
       {Scenario("forking-task", {}, "rounds=10,100,1000")},
       ForkingTask},
      {"2026-4e-fork-server",
       "2026 round, issue 9 4e",
       "the 2026 designs keep anon_vma_chain's short walk in 2.6.34's fork "
       "server",
       {Scenario("fork-server", {})},
       ForkServer2026},
  };
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kReproduced:
      return "reproduced";
    case Verdict::kContradicted:
      return "contradicted";
    case Verdict::kNotMeasurable:
      return "not measurable";
    case Verdict::kNotRun:
      break;
  }
  return "not run";
}

std::string ClaimMeasurement::GroupId() const {
  switch (kind) {
    case MeasurementKind::kTrace:
      return "trace " + what;
    case MeasurementKind::kPinSwitches:
      return "pin-bugs";
    case MeasurementKind::kScenario:
      break;
  }
  std::string id = what;
  for (const std::string& p : params) id += " " + p;
  if (!sweep.empty()) id += " sweep " + sweep;
  return id;
}

std::string ClaimMeasurement::Command() const {
  switch (kind) {
    case MeasurementKind::kTrace:
      if (what.ends_with(".gz"))  // compare reads plain text
        return "zcat " + what + " > t.trace && rmaplab compare t.trace";
      return "rmaplab compare " + what;
    case MeasurementKind::kPinSwitches:
      return "scripts/check-pin-switches rmaplab " + what;
    case MeasurementKind::kScenario:
      break;
  }
  std::string cmd = "rmaplab compare --scenario " + what;
  for (const std::string& p : params) cmd += " --param " + p;
  if (!sweep.empty()) cmd += " --sweep " + sweep;
  return cmd;
}

const std::vector<ClaimRun>& ClaimData::Runs(size_t measurement) const {
  return runs_.at(measurement);
}

double ClaimData::Get(size_t measurement, std::string_view design,
                      std::string_view metric, std::string_view point) {
  if (measurement < runs_.size())
    for (const ClaimRun& r : runs_[measurement])
      if (r.design == design && r.point == point) {
        auto it = r.metrics.find(std::string(metric));
        if (it != r.metrics.end()) return it->second;
      }
  std::string what(design);
  what.append(" ").append(metric);
  if (!point.empty()) what.append(" at ").append(point);
  missing_.push_back(what);
  return 0;
}

const std::vector<Claim>& Claims() {
  static const std::vector<Claim> table = MakeClaims();
  return table;
}

ClaimFinding JudgeClaim(const Claim& claim, const ClaimRuns& runs) {
  for (size_t m = 0; m < claim.measurements.size(); ++m)
    if (m >= runs.size() || runs[m].empty())
      return {Verdict::kNotRun, "",
              "no runs of: " + claim.measurements[m].Command()};
  ClaimData data(runs);
  ClaimFinding f = claim.judge(data);
  if (!data.missing().empty())
    return {Verdict::kNotRun, "",
            "the runs lack " + data.missing().front() +
                (data.missing().size() > 1
                     ? " (and " + std::to_string(data.missing().size() - 1) +
                           " more)"
                     : "")};
  return f;
}

}  // namespace rmaplab
