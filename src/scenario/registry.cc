// registry.cc: the table of scenarios (scenario.h), their parameters and
// headline metrics, and the parameter parsing every runner shares.
//
// Invariants:
//  (1) Every scenario has a generator, a summary, a reading line and at
//      least one headline metric; parameter names are unique within it.
//  (2) Every default lies inside its parameter's bounds.
#include <charconv>

#include "scenario/recorded.h"
#include "scenario/writer.h"

namespace rmaplab {

namespace {

ScenarioParam Count(std::string name, std::string def, std::string help,
                    uint64_t min, uint64_t max) {
  return {std::move(name), std::move(def), std::move(help), min, max, false};
}

ScenarioParam MemPercent(std::string def) {
  return Count("mem_percent", std::move(def),
               "memory, in percent of the pages the trace touches (100: no "
               "pressure)",
               1, 100);
}

// The folio size of the anonymous memory a scenario writes: 4K (no large
// folios, a version-1 trace) or a THP size, enabled with `* thp SIZE always`.
ScenarioParam Folio(std::string def) {
  return {"folio",
          std::move(def),
          "folio size of the written memory: 4K, or a THP size 16K..2M",
          kPageSize,
          kPageSize << 9,
          true,
          true};
}

// Metric names (counters of `stats`, or compare's derived ones).
const char* const kStepsPerPage = "steps_per_reclaimed_page";

std::vector<Scenario> MakeScenarios() {
  using namespace scenario;  // NOLINT: the generators
  return {
      // ..., generator, recorded file ("": generated)
      {"fork-server",
       "2.6.34's AIM7 case: a server forks N children that copy K pages each "
       "on write, under memory pressure",
       "reclaim's walk steps per page taken: O(children) where a child's "
       "copy is searched for in the whole family, about 1 where it is not",
       {Count("children", "100", "children forked by the server", 1, 20000),
        Count("pages", "64", "pages each child copies on write", 1, 65536),
        MemPercent("50"), Folio("4K")},
       {kStepsPerPage, "reclaim_rmap_walk_steps", "rmap_wasted_steps",
        "rmap_bytes_peak", "pgsteal", "wall_ms"},
       ForkServer,
       ""},
      {"fork-server-thp",
       "the fork server on large folios: the server's memory is 2M THPs "
       "(or the folio size given) that its children share, then copy on "
       "write one 4K page at a time",
       "do the server's THPs change what reclaim pays? each child's COW "
       "splits its PMD mapping (thp_split_pmd) and copies a 4K page, so the "
       "children's copies that reclaim takes are small folios",
       {Count("children", "100", "children forked by the server", 1, 20000),
        Count("pages", "1024", "pages each child copies on write", 1, 65536),
        MemPercent("50"), Folio("2M")},
       {kStepsPerPage, "reclaim_rmap_walk_steps", "thp_fault_alloc",
        "thp_split_pmd", "thp_split_page", "rmap_bytes_peak", "wall_ms"},
       ForkServer,
       ""},
      {"swap-storm",
       "seed 004: hundreds of processes each writing their own chunk and "
       "swapping at the same time (scripts/gen-swap-scenario)",
       "walk steps per reclaimed page and wasted visits: what finding a "
       "page's mappers costs when every process owns its own chunk",
       {Count("procs", "200", "child processes", 1, 20000),
        Count("chunk", "64", "pages each child maps and writes", 1, 65536),
        {"mem", "24M", "memory for anonymous pages", 16 * kPageSize, 1ULL << 40,
         true},
        Folio("4K")},
       {kStepsPerPage, "rmap_wasted_steps", "rmap_bytes_peak",
        "page_struct_bytes_i386", "pswpout", "wall_ms"},
       SwapStorm,
       ""},
      {"swap-storm-thp",
       "seed 004's swap storm on large folios: every child's chunk is 2M "
       "THPs (or the folio size given) that reclaim swaps out under pressure",
       "walk steps per reclaimed page when reclaim takes a folio at a time, "
       "and how many folios went to swap whole (thp_swpout) or split",
       {Count("procs", "100", "child processes", 1, 20000),
        Count("chunk", "512", "pages each child maps and writes", 1, 65536),
        {"mem", "96M", "memory for anonymous pages", 16 * kPageSize, 1ULL << 40,
         true},
        Folio("2M")},
       {kStepsPerPage, "rmap_wasted_steps", "thp_swpout", "thp_swpout_fallback",
        "thp_split_page", "pswpout", "wall_ms"},
       SwapStorm,
       ""},
      {"vma-churn",
       "mprotect, munmap and mremap storms on the copies of one region in a "
       "fork group",
       "what following splits, merges and moves costs: metadata at its peak, "
       "fork and walk work, pages wasted by copying on mremap",
       {Count("procs", "8", "processes in the fork group", 1, 4096),
        Count("pages", "256", "pages in each process's region", 1, 65536),
        Count("steps", "2000", "storm steps", 0, 1000000),
        Count("seed", "1", "seed of the storm's choices", 0, ~0ULL)},
       {"vma_splits", "vmas_peak", "rmap_bytes_peak", "rmap_chain_entries",
        "scan_rmap_walk_steps", "wasted_pages"},
       VmaChurn,
       ""},
      {"mremap-after-fork",
       "issue 9 4b, the case anonmm failed in 2004: parent and children move "
       "their inherited copies of a region with mremap, then reclaim",
       "what mremap of inherited pages leaves behind: wasted copies "
       "(anonmm-copy), chain entries (anonmm-chains, pte_chain), walk steps",
       {Count("children", "8", "children of the region's owner", 1, 4096),
        Count("pages", "64", "pages in the region", 1, 65536),
        Count("moves", "32", "mremap moves, round robin over processes", 0,
              20000)},
       {kStepsPerPage, "wasted_pages", "rmap_chain_entries", "rmap_bytes_peak",
        "rmap_wasted_steps", "errors"},
       MremapAfterFork,
       ""},
      {"swapoff",
       "seed 000: the swap storm's processes page their chunks out, then "
       "swapoff brings every page back (scripts/gen-swap-scenario --swapoff)",
       "what swapoff reads to find the swap entries: PTE slots scanned "
       "(try_to_unuse) against the object-driven visits anon_inode would do",
       {Count("procs", "200", "child processes", 1, 20000),
        Count("chunk", "64", "pages each child maps, writes and pages out", 1,
              65536)},
       {"swapoff_ptes", "swapoff_pte_slots", "swapoff_object_visits", "pswpin",
        "rmap_bytes_peak", "wall_ms"},
       Swapoff,
       ""},
      {"kvm-guests",
       "KSM: N guests of mostly identical memory merged, then reclaimed, "
       "read back and migrated",
       "the reverse map of KSM pages that many guests share: walk steps, "
       "metadata, and how much KSM merged",
       {Count("guests", "8", "guest processes", 1, 4096),
        Count("pages", "256", "pages of guest memory each", 1, 65536),
        Count("unique_percent", "10",
              "percent of each guest's pages that are "
              "its own",
              0, 100)},
       {"ksm_pages_sharing", kStepsPerPage, "migrate_steps_per_page",
        "rmap_walk_steps", "rmap_bytes_peak", "wall_ms"},
       KvmGuests,
       ""},
      {"fork-tree-migrate",
       "selftests/mm/rmap.c's migrate test: a fork tree shares the root's "
       "pages, processes across it migrate them between two nodes",
       "walk steps per migrated page: what finding every mapper in the "
       "tree costs each design",
       {Count("depth", "4", "levels below the root", 0, 8),
        Count("fanout", "3", "children per process", 1, 8),
        Count("pages", "32", "pages the root shares", 1, 65536),
        Count("migrations", "16", "migrations of the whole region", 0, 10000)},
       {"migrate_steps_per_page", "migrate_rmap_walk_steps",
        "rmap_wasted_steps", "rmap_bytes_peak", "pgmigrate_success", "errors"},
       ForkTreeMigrate,
       ""},
      {"deep-fork-tree",
       "issue 9 4a: a fork tree of depth D and fan-out F, pages faulted at "
       "every level, shared or copied, then reclaim of everything",
       "walk steps per reclaimed page and metadata against D and F: do "
       "nested fork layers make the walk slow?",
       {Count("depth", "3", "levels below the root", 0, 8),
        Count("fanout", "3", "children per process", 1, 8),
        Count("pages", "32", "pages the root writes before forking", 1, 65536),
        Count("private_pages", "8",
              "pages each process maps (half written before it forks)", 2,
              4096)},
       {kStepsPerPage, "reclaim_rmap_walk_steps", "rmap_wasted_steps",
        "rmap_bytes_peak", "rmap_chain_entries", "wall_ms"},
       DeepForkTree,
       ""},
      {"app-launch",
       "issue 9 4c, ANON_VMA_LAZY's claim: launching N applications with many "
       "written anonymous vmas, few of which are ever forked",
       "reverse-map metadata after the launch: ANON_VMA_LAZY claims -92 % "
       "anon_vma and -50.5 % anon_vma_chain after 24 apps",
       {Count("apps", "24", "applications launched", 1, 4096),
        Count("vmas", "40", "anonymous vmas per application", 1, 4096),
        Count("pages", "4", "pages per vma", 1, 4096),
        Count("fork_every", "8",
              "every Nth application forks a helper (0: none)", 0, 4096)},
       {"rmap_bytes", "rmap_bytes_i386", "rmap_chain_entries",
        "rmap_bytes_peak", "rmap_fork_work", "vmas"},
       AppLaunch,
       ""},
      {"forking-task",
       "issue 9 4d, the 2015 report behind commit 7a3ef208: a task forks, the "
       "child forks and exits, over and over",
       "does the reverse map grow without bound with the generations? its "
       "bytes at the end and at their peak, and the work fork and exit do",
       {Count("rounds", "500", "generations", 0, 100000),
        Count("pages", "16", "pages of the inherited region", 1, 65536)},
       {"rmap_bytes", "rmap_bytes_peak", "rmap_bytes_i386_peak",
        "rmap_fork_work", "rmap_exit_work", "scan_rmap_walk_steps"},
       ForkingTask,
       ""},
  };
}

// "24M" or "123" -> bytes or a count; errors say which parameter and why.
Result<uint64_t> ParseParamValue(const Scenario& s, const ScenarioParam& p,
                                 std::string_view text) {
  auto bad = [&](const std::string& why) -> Status {
    return Status::Error("scenario " + s.name + ": " + p.name + "=" +
                         std::string(text) + ": " + why);
  };
  uint64_t v = 0;
  if (p.is_size) {
    Result<uint64_t> len = ParseLength(text);
    if (!len.ok()) return bad(len.status().message() + " (a size like 24M)");
    v = len.value();
  } else {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
      return bad("not a decimal number");
  }
  if (v < p.min || v > p.max)
    return bad("out of range [" + std::to_string(p.min) + ", " +
               std::to_string(p.max) + "]");
  if (p.folio_size && (v & (v - 1) || v == 2 * kPageSize))
    return bad("not a folio size (4K, or a power of two from 16K to 2M)");
  return v;
}

// The generated scenarios, then the recorded programs (recorded.h).
std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> all = MakeScenarios();
  for (Scenario& s : scenario::RecordedScenarios()) all.push_back(std::move(s));
  return all;
}

// "scenario X has no parameter 'k'; its parameters: a, b" (and why, for a
// recording).
Status UnknownParam(const Scenario& s, const std::string& k) {
  std::string msg = "scenario " + s.name + " has no parameter '" + k + "'";
  std::string sep = "; its parameters: ";
  for (const ScenarioParam& p : s.params) {
    msg += sep + p.name;
    sep = ", ";
  }
  if (s.params.empty()) msg += "; it has none";
  if (!s.recorded.empty())
    msg += " (a recorded program, " + s.recorded +
           ": its size is the recording's)";
  return Status::Error(msg);
}

}  // namespace

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> table = AllScenarios();
  return table;
}

const Scenario* FindScenario(std::string_view name) {
  for (const Scenario& s : Scenarios())
    if (s.name == name) return &s;
  return nullptr;
}

Result<std::pair<std::string, std::string>> ParseParamAssignment(
    std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    std::string msg = "'";
    msg.append(text).append("': expected NAME=VALUE");
    return Status::Error(msg);
  }
  return std::pair<std::string, std::string>(text.substr(0, eq),
                                             text.substr(eq + 1));
}

Result<ScenarioArgs> ResolveScenarioArgs(
    const Scenario& scenario,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  for (const auto& [k, v] : overrides) {
    bool known = false;
    for (const ScenarioParam& p : scenario.params) known |= p.name == k;
    if (!known) return UnknownParam(scenario, k);
  }
  ScenarioArgs args;
  for (const ScenarioParam& p : scenario.params) {
    std::string text = p.default_value;
    for (const auto& [k, v] : overrides)
      if (k == p.name) text = v;  // the last one wins
    Result<uint64_t> v = ParseParamValue(scenario, p, text);
    if (!v.ok()) return v.status();
    args.values_[p.name] = v.value();
    args.text_.emplace_back(p.name, text);
  }
  return args;
}

ScenarioTrace GenerateScenario(const Scenario& scenario,
                               const ScenarioArgs& args) {
  ScenarioTrace t = scenario.generate(args);
  std::string header = "# rmaplab scenario " + scenario.name;
  for (const auto& [k, v] : args.Text()) header += " --param " + k + "=" + v;
  header += "\n# " + scenario.summary + "\n";
  if (t.mem_pages != 0)
    header += "# replay with: rmaplab replay --mem " +
              scenario::TraceWriter::Size(t.mem_pages) + " FILE\n";
  t.text = header + t.text;
  return t;
}

}  // namespace rmaplab
