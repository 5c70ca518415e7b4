// memory.cc: the scenarios about whole-memory clients of the reverse map:
// seed 004's swap storm (hundreds of processes swapping at once), seed
// 000's swapoff of all their memory, and KVM guests of mostly identical
// memory merged by KSM, then reclaimed and migrated.
//
// Invariants:
//  (1) SwapStorm with its defaults is scripts/gen-swap-scenario 200 64,
//      op for op, run with --mem 24M, as docs/results.md's seed 004 table;
//      Swapoff is scripts/gen-swap-scenario --swapoff 200 64 (no limit).
//  (2) KvmGuests' values are distinct per (page, guest) for the unique
//      pages and equal across guests for the others, so KSM merges exactly
//      the shared ones.
#include "scenario/writer.h"

namespace rmaplab::scenario {

namespace {

constexpr uint64_t kChunkBase = 0x200000000;
constexpr uint64_t kSharedPages = 64;

}  // namespace

namespace {

// The swap storm's processes: a parent writes 64 inherited pages and forks
// `procs` children; every child maps its own `chunk`-page region at the
// same address, writes it and copies one inherited page on write; then
// every child reads its chunk twice.
TraceWriter SwapStormProcesses(uint64_t procs, uint64_t chunk) {
  TraceWriter w;
  w.Mmap(1, kScenarioBase, kSharedPages);
  w.Write(1, kScenarioBase, kSharedPages);
  for (uint64_t p = 2; p < procs + 2; ++p) w.Fork(1, p);
  for (uint64_t p = 2; p < procs + 2; ++p) {
    w.Mmap(p, kChunkBase, chunk);
    w.Write(p, kChunkBase, chunk);
    w.Write(p, kScenarioBase + (p % kSharedPages) * kPageSize, 1);
  }
  for (int round = 0; round < 2; ++round)
    for (uint64_t p = 2; p < procs + 2; ++p) w.Read(p, kChunkBase, chunk);
  return w;
}

}  // namespace

// Seed 004: the swap storm's processes while memory holds `mem` bytes.
ScenarioTrace SwapStorm(const ScenarioArgs& a) {
  TraceWriter w = SwapStormProcesses(a.Get("procs"), a.Get("chunk"));
  return {w.Take(), a.Get("mem") / kPageSize};
}

// Seed 000: the swap storm's processes with memory enough; every child
// pages its chunk out, then `* swapoff` brings every page back.
ScenarioTrace Swapoff(const ScenarioArgs& a) {
  uint64_t procs = a.Get("procs"), chunk = a.Get("chunk");
  TraceWriter w = SwapStormProcesses(procs, chunk);
  for (uint64_t p = 2; p < procs + 2; ++p)
    w.Op(p, "madvise", TraceWriter::Range(kChunkBase, chunk) + " pageout");
  w.Sys("swapoff");
  return {w.Take(), 0};
}

// KVM guests: a launcher (pid 1) starts `guests` guests, each mapping
// `pages` pages of guest memory as mergeable and writing it, identical
// across guests except unique_percent of the pages; KSM merges them (full
// passes); then reclaim takes half of memory and every guest reads its
// memory back, and the last guest's memory migrates to the other node.
ScenarioTrace KvmGuests(const ScenarioArgs& a) {
  uint64_t guests = a.Get("guests"), pages = a.Get("pages");
  uint64_t unique_every =
      a.Get("unique_percent") ? 100 / a.Get("unique_percent") : pages + 1;
  TraceWriter w;
  for (uint64_t g = 0; g < guests; ++g) {
    uint64_t pid = 2 + g;
    w.Fork(1, pid);
    w.Mmap(pid, kScenarioBase, pages);
    w.Op(pid, "madvise",
         TraceWriter::Range(kScenarioBase, pages) + " mergeable");
    for (uint64_t i = 0; i < pages; ++i) {
      bool unique = i % unique_every == 0;
      uint64_t value = unique ? (pid << 32) | (i + 1) : 0x5eed0000 + i + 1;
      w.WriteValue(pid, kScenarioBase + i * kPageSize, value);
    }
  }
  w.Sys("ksm", "full");
  w.Sys("reclaim", std::to_string(guests * pages / 2));
  for (uint64_t g = 0; g < guests; ++g) w.Read(2 + g, kScenarioBase, pages);
  w.Op(1 + guests, "migrate", TraceWriter::Range(kScenarioBase, pages) + " 1");
  return {w.Take(), 0};
}

}  // namespace rmaplab::scenario
