// pku_test.cc: SimOptions::pku, the x86 protection-key rule for PROT_EXEC
// alone.  With PKU (the machine the shipped expected outputs come from) an
// exec-only vma is unreadable and carries the execute-only pkey, so it does
// not merge with a neighbour that has another anon_vma; without PKU (a CPU
// without `pku`, as `rmaplab diff` finds it) both rules are gone.
//
//   0123
//   AABB    B: rw, written, then --x;  A: rw, written, then --x
#include <gtest/gtest.h>

#include <sstream>

#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

constexpr char kTrace[] =
    "1 mmap 0x100002000 8K rw\n"
    "1 write 0x100002000\n"
    "1 mprotect 0x100002000 8K --x\n"
    "1 mmap 0x100000000 8K rw\n"
    "1 write 0x100001000\n"
    "1 mprotect 0x100000000 8K --x\n"
    "1 read 0x100003000\n"
    "1 maps\n";

struct PkuRun {
  Errno read = Errno::kOk;  // the result of the read of an exec-only page
  std::string out;          // everything printed (the maps block)
};

PkuRun RunTrace(bool pku) {
  Result<Trace> t = ParseTrace(kTrace, "pku.trace");
  EXPECT_TRUE(t.ok()) << t.status().message();
  SimOptions opts;
  opts.check = true;
  opts.pku = pku;
  auto sim = Simulator::Create(opts);
  EXPECT_TRUE(sim.ok());
  PkuRun run;
  std::ostringstream out;
  for (const Op& op : t.value().ops) {
    Errno e = sim.value()->Apply(op, out);
    if (op.kind == OpKind::kRead) run.read = e;
    EXPECT_TRUE(sim.value()->Check().ok()) << sim.value()->Check().message();
  }
  run.out = out.str();
  return run;
}

TEST(Pku, ExecOnlyIsUnreadableAndKeepsItsOwnVma) {
  PkuRun r = RunTrace(true);
  EXPECT_EQ(r.read, Errno::kEFAULT);
  EXPECT_NE(r.out.find("100000000-100002000 --xp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("100002000-100004000 --xp"), std::string::npos) << r.out;
}

TEST(Pku, WithoutPkuExecOnlyIsReadable) {
  PkuRun r = RunTrace(false);
  EXPECT_EQ(r.read, Errno::kOk);
  // No pkey in vm_flags: A reused B's anon_vma when it was faulted
  // (anon_vma_compatible), so the two --x halves are one vma.
  EXPECT_NE(r.out.find("100000000-100004000 --xp"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rmaplab
