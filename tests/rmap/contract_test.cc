// contract_test.cc: the reverse-map contract, run over every registered
// design (DesignNames(), so a new design is picked up by adding it to the
// registry or by RegisterDesign), one test per scenario and design.  Each
// scenario trace replays under --check (content oracle and whole-state
// invariants after every op, including "the rmap walk finds exactly the PTEs
// that map each page") and must succeed; what processes read (pagemap values,
// expect results) must equal anon_vma_chain's. Designs may differ in costs, in
// maps (vma merging) and in whether a page is exclusive (anonmm-copy copies
// shared pages at mremap), never in content.
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

struct Scenario {
  const char* name;
  const char* text;
};

const Scenario kScenarios[] = {
    {"split_merge",
     "1 mmap 0x100000000 64K rw\n"
     "1 write 0x100000000 64K\n"
     "1 mprotect 0x100004000 8K r\n"
     "1 mprotect 0x100004000 8K rw\n"
     "1 munmap 0x100008000 4K\n"
     "1 mmap 0x100008000 4K rw\n"
     "1 write 0x100008000 =0x5\n"
     "1 mprotect 0x100000000 64K r\n"
     "1 expect 0x100008000 =0x5\n"
     "1 pagemap 0x100000000 64K\n"
     "1 mprotect 0x100000000 32K rw\n"
     "1 write 0x100002000 16K\n"
     "1 mmap 0x100020000 16K rw\n"
     "1 write 0x100020000 16K\n"
     "1 mmap 0x100010000 64K rw\n"
     "1 write 0x100018000\n"
     "1 fork 2\n"
     "2 mprotect 0x100000000 0x24000 rw\n"
     "2 write 0x100000000 0x24000\n"
     "1 pagemap 0x100000000 0x40000\n"
     "2 pagemap 0x100000000 0x40000\n"
     "2 munmap 0x100004000 0x30000\n"
     "2 exit\n"
     "1 munmap 0x100000000 0x40000\n"},
    {"fork_tree_cow",
     "1 mmap 0x100000000 32K rw\n"
     "1 write 0x100000000 32K\n"
     "1 fork 2\n"
     "1 write 0x100000000 =0x11\n"  // parent first
     "2 write 0x100001000 =0x22\n"  // child first
     "2 fork 3\n"
     "3 write 0x100002000 =0x33\n"
     "1 fork 4\n"
     "4 write 0x100003000 =0x44\n"
     "3 fork 5\n"
     "5 write 0x100000000 =0x55\n"
     "2 expect 0x100001000 =0x22\n"
     "3 expect 0x100001000 =0x22\n"
     "5 expect 0x100002000 =0x33\n"
     "1 expect 0x100000000 =0x11\n"
     "1 pagemap 0x100000000 32K\n"
     "2 pagemap 0x100000000 32K\n"
     "3 pagemap 0x100000000 32K\n"
     "4 pagemap 0x100000000 32K\n"
     "5 pagemap 0x100000000 32K\n"
     "2 exit\n"
     "5 write 0x100004000 8K\n"
     "1 exit\n"
     "3 pagemap 0x100000000 32K\n"
     "4 write 0x100005000\n"
     "4 pagemap 0x100000000 32K\n"
     "3 exit\n"
     "5 pagemap 0x100000000 32K\n"
     "5 exit\n"
     "4 exit\n"},
    {"mremap_inherited",
     "1 mmap 0x100000000 32K rw\n"
     "1 write 0x100000000 32K\n"
     "1 fork 2\n"
     "1 mremap 0x100000000 16K 16K 0x200000000\n"  // parent moves shared pages
     "1 pagemap 0x200000000 16K\n"
     "2 pagemap 0x100000000 32K\n"
     "2 mremap 0x100004000 16K 16K 0x300000000\n"  // child moves the other half
     "2 write 0x300000000\n"
     "1 write 0x200001000\n"
     "1 mremap 0x200000000 16K 16K 0x100000000\n"  // and back
     "1 write 0x100002000\n"
     "2 mremap 0x300000000 16K 16K 0x100004000\n"
     "2 fork 3\n"
     "3 mremap 0x100000000 32K 32K 0x400000000\n"
     "3 write 0x400006000\n"
     "2 mremap 0x100000000 8K 16K 0x500000000\n"  // move and grow
     "2 write 0x500002000\n"
     "1 pagemap 0x100000000 32K\n"
     "2 pagemap 0x100002000 24K\n"
     "2 pagemap 0x500000000 16K\n"
     "3 pagemap 0x400000000 32K\n"
     "3 mremap 0x400000000 32K 32K 0x100000000\n"
     "3 pagemap 0x100000000 32K\n"
     "1 exit\n"
     "3 exit\n"
     "2 pagemap 0x500000000 16K\n"},
    {"dontneed_wipe_dontfork",
     "1 mmap 0x100000000 32K rw\n"
     "1 write 0x100000000 32K\n"
     "1 madvise 0x100002000 8K dontneed\n"
     "1 madvise 0x100004000 8K wipeonfork\n"
     "1 madvise 0x100006000 8K dontfork\n"
     "1 fork 2\n"
     "2 pagemap 0x100000000 24K\n"
     "2 write 0x100004000\n"
     "1 madvise 0x100000000 8K dontneed\n"
     "2 pagemap 0x100000000 24K\n"
     "1 madvise 0x100004000 8K keeponfork\n"
     "1 madvise 0x100006000 8K dofork\n"
     "1 write 0x100000000\n"
     "1 fork 3\n"
     "3 pagemap 0x100000000 32K\n"
     "1 pagemap 0x100000000 32K\n"
     "2 exit\n"
     "3 exit\n"},
    {"shared_anon",
     "1 mmap 0x100000000 16K rw shared\n"
     "1 mmap 0x100004000 16K rw\n"
     "1 write 0x100000000 32K\n"
     "1 fork 2\n"
     "2 write 0x100000000 =0x9\n"
     "1 expect 0x100000000 =0x9\n"
     "2 write 0x100004000 =0xa\n"
     "1 pagemap 0x100000000 32K\n"
     "2 pagemap 0x100000000 32K\n"
     "2 mremap 0x100000000 32K 32K 0x200000000\n"
     "2 pagemap 0x200000000 32K\n"
     "1 exit\n"
     "2 pagemap 0x200000000 32K\n"},
    {"pins_dma_fork",
     "1 mmap 0x100000000 16K rw\n"
     "1 write 0x100000000 16K\n"
     "1 pin 0x100000000 8K\n"
     "1 fork 2\n"
     "1 dmawrite 0x100000000 8K =0x77\n"
     "1 expect 0x100000000 8K =0x77\n"
     "2 pagemap 0x100000000 16K\n"
     "1 mremap 0x100000000 16K 16K 0x200000000\n"
     "1 dmawrite 0x100000000 8K =0x88\n"
     "1 expect 0x200000000 8K =0x88\n"
     "1 pagemap 0x200000000 16K\n"
     "1 unpin 0x100000000 8K\n"
     "2 exit\n"
     "1 pagemap 0x200000000 16K\n"},
    {"merge_layouts",
     // separately faulted neighbours, a fresh range between them, a fork
     // child's fresh neighbour: merges differ by design, content must not.
     "1 mmap 0x100000000 4K rw\n"
     "1 write 0x100000000 =0x1\n"
     "1 mmap 0x100002000 4K rw\n"
     "1 write 0x100002000 =0x3\n"
     "1 mmap 0x100001000 4K rw\n"
     "1 write 0x100001000 =0x2\n"
     "1 fork 2\n"
     "2 mmap 0x100003000 8K rw\n"
     "2 write 0x100003000 8K\n"
     "2 mremap 0x100000000 8K 8K 0x200000000\n"
     "2 mremap 0x200000000 8K 8K 0x100000000\n"
     "2 write 0x100000000\n"
     "1 pagemap 0x100000000 12K\n"
     "2 pagemap 0x100000000 20K\n"
     "1 exit\n"
     "2 pagemap 0x100000000 20K\n"},
    // Large folios (trace format version 2): a PMD-mapped THP and the huge
    // zero page through fork, COW, a cut by mprotect, a move by mremap,
    // pageout, KSM and migration; every client reaches the folio through
    // the design's walk.  After reclaim, `expect` checks content: whether a
    // zero-filled page is swapped or maps the zero page depends on when its
    // folio was split, which may differ by design (anonmm-copy copies at
    // mremap).
    {"thp_pmd_lifecycle",
     "1 mmap 0x100000000 6M rw\n"
     "1 madvise 0x100000000 6M hugepage\n"
     "1 write 0x100000000 =0x11\n"
     "1 write 0x100200000 =0x22\n"
     "1 read 0x100400000\n"
     "1 fork 2\n"
     "2 write 0x100001000 =0x33\n"
     "1 mprotect 0x100100000 4K r\n"
     "2 mremap 0x100200000 2M 2M 0x200000000\n"
     "2 write 0x100400000 =0x44\n"
     "1 madvise 0x100000000 4M pageout\n"
     "2 expect 0x100000000 =0x11\n"
     "2 expect 0x200000000 =0x22\n"
     "1 madvise 0x100000000 6M mergeable\n"
     "2 madvise 0x100000000 2M mergeable\n"
     "* ksm full\n"
     "1 migrate 0x100000000 6M 1\n"
     "2 munmap 0x100000000 1M\n"
     "* reclaim 4096\n"
     "1 expect 0x100000000 =0x11\n"
     "1 expect 0x100001000 8K =0x0\n"
     "1 expect 0x100200000 =0x22\n"
     "1 expect 0x100201000 =0x0\n"
     "2 expect 0x100100000 8K =0x0\n"
     "2 expect 0x200000000 =0x22\n"
     "2 expect 0x100400000 =0x44\n"
     "2 expect 0x100401000 =0x0\n"
     "1 exit\n"
     "2 write 0x100100000 1M\n"
     "2 pagemap 0x100100000 8K\n"},
    // PTE-mapped mTHP: folios of several sizes, COW after fork, a partial
    // unmap (deferred split) and reclaim.
    {"mthp_lifecycle",
     "* thp 64K always\n"
     "* thp 16K always\n"
     "1 mmap 0x100000000 256K rw\n"
     "1 write 0x100000000 128K\n"
     "1 write 0x100030000 =0x5\n"
     "1 fork 2\n"
     "2 write 0x100004000 =0x6\n"
     "1 munmap 0x100008000 16K\n"
     "2 mprotect 0x100010000 8K r\n"
     "* reclaim 64\n"
     "1 pagemap 0x100000000 64K\n"
     "2 pagemap 0x100000000 64K\n"
     "2 exit\n"
     "1 write 0x100000000 =0x7\n"
     "1 pagemap 0x100000000 16K\n"},
};

struct ReplayRun {
  int status = -1;
  std::string out, err;
};

ReplayRun ReplayScenario(const std::string& design, const Scenario& s) {
  ReplayRun r;
  Result<Trace> t = ParseTrace(s.text, s.name);
  if (!t.ok()) {
    r.err = t.status().message();
    return r;
  }
  SimOptions opts;
  opts.design = design;
  opts.check = true;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  if (!sim.ok()) {
    r.err = sim.status().message();
    return r;
  }
  std::ostringstream out;
  ReplayResult result = Replay(t.value(), *sim.value(), out);
  r.status = result.ok() ? 0 : 1;
  r.out = out.str();
  r.err = result.check.message();
  return r;
}

// What a process can see in the output: every pagemap line's address and
// value (not exclusive/shared), the headers, and error lines.
std::vector<std::string> Visible(const std::string& out) {
  std::vector<std::string> v;
  std::istringstream in(out);
  std::string line;
  bool in_pagemap = false;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      in_pagemap = line.rfind("# pagemap", 0) == 0;
      v.push_back(line);
      continue;
    }
    if (line.rfind("error ", 0) == 0) {
      v.push_back(line);
      continue;
    }
    if (!in_pagemap) continue;
    size_t val = line.find("value=");
    std::ostringstream seen;
    seen << line.substr(0, line.find(' ')) << ' '
         << (val == std::string::npos ? std::string("-") : line.substr(val));
    v.push_back(seen.str());
  }
  return v;
}

// One test per (scenario, design), so that a failing scenario hides no
// other.
using ScenarioDesign = std::tuple<std::string, std::string>;
class ContractTest : public ::testing::TestWithParam<ScenarioDesign> {};

const Scenario& ScenarioNamed(const std::string& name) {
  for (const Scenario& s : kScenarios)
    if (name == s.name) return s;
  ADD_FAILURE() << "no scenario " << name;
  return kScenarios[0];
}

std::vector<std::string> ScenarioNames() {
  std::vector<std::string> v;
  for (const Scenario& s : kScenarios) v.push_back(s.name);
  return v;
}

TEST_P(ContractTest, ScenarioMatchesAnonVmaChain) {
  const auto& [scenario, design] = GetParam();
  const Scenario& s = ScenarioNamed(scenario);
  ReplayRun want = ReplayScenario("anon_vma_chain", s);
  ASSERT_EQ(want.status, 0) << want.out << want.err;
  ReplayRun got = ReplayScenario(design, s);
  ASSERT_EQ(got.status, 0) << got.out << got.err;
  EXPECT_EQ(Visible(got.out), Visible(want.out));
}

INSTANTIATE_TEST_SUITE_P(
    AllDesigns, ContractTest,
    ::testing::Combine(::testing::ValuesIn(ScenarioNames()),
                       ::testing::ValuesIn(DesignNames())),
    [](const ::testing::TestParamInfo<ScenarioDesign>& info) {
      std::string n = std::get<0>(info.param) + "__" + std::get<1>(info.param);
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

}  // namespace
}  // namespace rmaplab
