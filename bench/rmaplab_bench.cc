// rmaplab_bench.cc: the simulator's own speed and memory, per design.
//
// Workloads (each registered once per design, "BM_<name>/<design>/<arg>"):
//   FaultIn/N        write-fault N fresh pages of one vma
//   FaultInThp/N     write N pages of a MADV_HUGEPAGE vma: N/512 PMD-mapped
//                    2 MiB THP faults
//   Fork/N           fork an mm with N resident pages (and tear the child down
//                    outside the timed part)
//   MprotectStorm/N  split a 2N-page vma into N+1 pieces by mprotect, then
//                    merge it back
//   RmapWalk/K       walk the reverse map of a page mapped by K processes
// Setup happens outside the timed loop.  Counters: faults/s, bytes per
// resident page (struct page + PTEs + LRU links + the large-folio side
// table, host bytes), walk steps per walk.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "core/kernel.h"
#include "rmap/rmap.h"

namespace rmaplab {
namespace {

constexpr uint64_t kBase = 0x100000000;
constexpr int kRW = kProtRead | kProtWrite;

std::unique_ptr<Kernel> NewKernel(const std::string& design) {
  return std::make_unique<Kernel>(CreateDesign(design), SimOptions{});
}

void FillPages(Kernel& k, Mm& mm, int64_t n) {
  (void)k.Mmap(mm, kBase, n * kPageSize, kRW, false);
  for (int64_t i = 0; i < n; ++i)
    (void)k.WritePage(mm, kBase + i * kPageSize, i + 1);
}

// struct pages, PTE leaves, LRU links and the FolioInfo table (its nodes,
// a pointer and a cached hash each in libstdc++, and its buckets).
uint64_t HostBytes(const Kernel& k, const Mm& mm) {
  const auto& f = k.folios();
  uint64_t folio_table =
      f.size() * (sizeof(std::pair<const Pfn, FolioInfo>) + 2 * sizeof(void*)) +
      f.bucket_count() * sizeof(void*);
  return k.frame_count() * sizeof(Page) + mm.pt.bytes() + k.lru().bytes() +
         folio_table;
}

// Writes n pages of a fresh region, 4 KiB folios or (thp) 2 MiB THPs of a
// `hugepage` region: the write rate (faults, or pages for THP: one fault
// maps 512) and host bytes per resident page.
void FaultIn(benchmark::State& state, const std::string& design, bool thp) {
  int64_t n = state.range(0);
  double bytes_per_page = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto k = NewKernel(design);
    Mm& mm = *k->FindMm(1);
    (void)k->Mmap(mm, kBase, n * kPageSize, kRW, false);
    if (thp) (void)k->Madvise(mm, kBase, n * kPageSize, Advice::kHugepage);
    state.ResumeTiming();
    for (int64_t i = 0; i < n; ++i)
      (void)k->WritePage(mm, kBase + i * kPageSize, i + 1);
    state.PauseTiming();
    bytes_per_page = double(HostBytes(*k, mm)) / n;
    k.reset();
    state.ResumeTiming();
  }
  state.counters[thp ? "pages_per_s" : "faults_per_s"] = benchmark::Counter(
      double(n) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["host_bytes_per_page"] = bytes_per_page;
}

void BM_FaultIn(benchmark::State& state, std::string design) {
  FaultIn(state, design, false);
}

void BM_FaultInThp(benchmark::State& state, std::string design) {
  FaultIn(state, design, true);
}

void BM_Fork(benchmark::State& state, std::string design) {
  int64_t n = state.range(0);
  auto k = NewKernel(design);
  FillPages(*k, *k->FindMm(1), n);
  for (auto _ : state) {
    (void)k->Fork(*k->FindMm(1), 2);
    state.PauseTiming();
    k->Exit(*k->FindMm(2));
    state.ResumeTiming();
  }
  state.counters["pages"] = double(n);
}

void BM_MprotectStorm(benchmark::State& state, std::string design) {
  int64_t n = state.range(0);
  auto k = NewKernel(design);
  Mm& mm = *k->FindMm(1);
  FillPages(*k, mm, 2 * n);
  for (auto _ : state) {
    for (int64_t i = 0; i < n; ++i)
      (void)k->Mprotect(mm, kBase + (2 * i + 1) * kPageSize, kPageSize,
                        kProtRead);
    for (int64_t i = 0; i < n; ++i)
      (void)k->Mprotect(mm, kBase + (2 * i + 1) * kPageSize, kPageSize, kRW);
  }
  state.counters["mprotects_per_s"] = benchmark::Counter(
      2.0 * n * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_RmapWalk(benchmark::State& state, std::string design) {
  int64_t procs = state.range(0);
  auto k = NewKernel(design);
  FillPages(*k, *k->FindMm(1), 1);
  for (int64_t p = 2; p <= procs; ++p)
    (void)k->Fork(*k->FindMm(1), uint32_t(p));
  Pfn pfn = k->FindMm(1)->pt.Get(kBase).pfn();
  int64_t found = 0;
  for (auto _ : state) {
    k->RmapWalk(pfn, true, [&](Vma&, uint64_t, Pte&) {
      found++;
      return true;
    });
  }
  state.counters["mappings"] = double(found) / state.iterations();
  state.counters["steps_per_walk"] =
      double(k->stats().rmap_walk_steps) / k->stats().rmap_walks;
}

void RegisterAll() {
  for (const DesignInfo& d : Designs()) {
    benchmark::RegisterBenchmark(("BM_FaultIn/" + d.name).c_str(), BM_FaultIn,
                                 d.name)
        ->Arg(1 << 20)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_FaultInThp/" + d.name).c_str(),
                                 BM_FaultInThp, d.name)
        ->Arg(1 << 20)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Fork/" + d.name).c_str(), BM_Fork, d.name)
        ->Arg(1 << 20)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_MprotectStorm/" + d.name).c_str(),
                                 BM_MprotectStorm, d.name)
        ->Arg(1 << 12)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_RmapWalk/" + d.name).c_str(), BM_RmapWalk,
                                 d.name)
        ->Arg(16)
        ->Arg(1024)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace rmaplab

int main(int argc, char** argv) {
  rmaplab::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
