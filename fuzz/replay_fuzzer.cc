// replay_fuzzer.cc: libFuzzer harness for op sequences under --check.
//
// The input is decoded into ops, 6 bytes each, all inside one 64-page
// window at 0x100000000 with pids 1..8, so that ops collide: mmaps overlap,
// mprotects split and merge, mremaps move next to neighbours, forks and
// exits interleave with pins.  Each op is applied to a Simulator with the
// checker on (the content oracle and CheckInvariants() after every op).
// An errno (EEXIST, ENOMEM, EFAULT, ENOSYS, EXPECT...) is a normal answer;
// a failed check -- a broken invariant, lost or leaked data -- calls
// abort(), which libFuzzer reports as a crash.
//
// With RMAPLAB_FUZZ_PRINT set, the decoded ops are printed as a trace on
// stderr, so a crash input becomes a regression trace.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "rmaplab/output.h"  // ProtText
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace {

using namespace rmaplab;

constexpr uint64_t kBase = 0x100000000;
constexpr uint64_t kWindowPages = 64;

int Prot(uint8_t b) {
  static constexpr int kProts[] = {3, 1, 0, 7, 5, 3, 2, 4};
  return kProts[b % 8];
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// One op from 6 bytes; returns false for bytes that decode to nothing.
Op Decode(const uint8_t* b, int line) {
  Op op;
  op.line = line;
  op.pid = 1 + b[1] % 8;
  op.addr = kBase + (b[2] % kWindowPages) * kPageSize;
  op.len = (1 + b[3] % 8) * kPageSize;
  uint8_t x = b[4], y = b[5];
  switch (b[0] % 17) {
    case 0:
    case 1:
      op.kind = OpKind::kMmap;
      op.prot = Prot(x);
      op.shared = (x >> 3) % 4 == 0;
      break;
    case 2:
      op.kind = OpKind::kMunmap;
      break;
    case 3:
      op.kind = OpKind::kMprotect;
      op.prot = Prot(x);
      break;
    case 4:
      op.kind = OpKind::kMremap;
      op.new_len = (1 + y % 8) * kPageSize;
      op.has_new_addr = x & 1;
      op.new_addr = kBase + ((x >> 1) % kWindowPages) * kPageSize;
      break;
    case 5:
      op.kind = OpKind::kMadvise;
      op.advice = static_cast<Advice>(x % 9);
      break;
    case 6:
      op.kind = OpKind::kRead;
      break;
    case 7:
    case 8:
      op.kind = OpKind::kWrite;
      op.has_value = x & 1;
      op.value = x >> 1;
      break;
    case 9:
      op.kind = OpKind::kExpect;
      op.has_value = true;
      op.value = x % 4;
      break;
    case 10:
      op.kind = OpKind::kFork;
      op.child = 1 + x % 8;
      break;
    case 11:
      op.kind = OpKind::kExit;
      break;
    case 12:
      op.kind = OpKind::kPin;
      break;
    case 13:
      op.kind = OpKind::kDmaWrite;
      op.has_value = true;
      op.value = x;
      break;
    case 14:
      op.kind = OpKind::kUnpin;
      break;
    case 15:
      op.kind = OpKind::kPagemap;
      break;
    default:
      op.kind = OpKind::kStats;
      op.pid = 0;
      break;
  }
  return op;
}

std::string Text(const Op& op) {
  std::ostringstream s;
  s << (op.pid ? std::to_string(op.pid) : "*") << ' ' << OpName(op.kind);
  auto range = [&] { s << ' ' << Hex(op.addr) << ' ' << Hex(op.len); };
  switch (op.kind) {
    case OpKind::kMmap:
      range();
      s << ' ' << ProtText(op.prot) << (op.shared ? " shared" : "");
      break;
    case OpKind::kMprotect:
      range();
      s << ' ' << ProtText(op.prot);
      break;
    case OpKind::kMremap:
      range();
      s << ' ' << Hex(op.new_len);
      if (op.has_new_addr) s << ' ' << Hex(op.new_addr);
      break;
    case OpKind::kMadvise:
      range();
      s << ' ' << AdviceName(op.advice);
      break;
    case OpKind::kFork:
      s << ' ' << op.child;
      break;
    case OpKind::kExit:
    case OpKind::kStats:
      break;
    default:
      range();
      if (op.has_value) s << " =" << Hex(op.value);
      break;
  }
  return s.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool print = std::getenv("RMAPLAB_FUZZ_PRINT") != nullptr;
  SimOptions opts;
  opts.check = true;
  opts.mem_pages = 1 << 16;
  opts.swap_pages = 1 << 16;
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(opts);
  if (!sim.ok()) std::abort();
  std::ostringstream sink;
  int line = 0;
  for (size_t i = 0; i + 6 <= size && line < 400; i += 6) {
    Op op = Decode(data + i, ++line);
    if (print) std::cerr << Text(op) << "\n";
    (void)sim.value()->Apply(op, sink);
    sink.str("");
    Status s = sim.value()->Check();
    if (!s.ok()) {
      std::fprintf(stderr,
                   "replay_fuzzer: check failed after line %d (%s): %s\n", line,
                   Text(op).c_str(), s.message().c_str());
      std::abort();
    }
  }
  return 0;
}
