// parse_fuzzer.cc: libFuzzer harness for the trace parser (ParseTrace).
//
// Any input is a trace text.  The parser must never crash, hang or leak;
// errors are values.  Beyond the sanitizers, this checks the parser's
// contract (rmaplab/trace.h, parser.cc invariants):
//  (1) an error message reads "PATH:LINE:COLUMN: what" with LINE and
//      COLUMN positive;
//  (2) a parsed op has page-aligned addresses and lengths, non-zero
//      lengths, ranges inside [kUserMin, kUserMax), pid >= 1 for process
//      ops and 0 for system ops, and a line inside the text, increasing.
// A broken contract calls abort(), which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rmaplab/trace.h"

namespace {

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "parse_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

bool IsSystem(rmaplab::OpKind k) {
  using rmaplab::OpKind;
  return k == OpKind::kKsm || k == OpKind::kReclaim || k == OpKind::kSwapoff ||
         k == OpKind::kThp || k == OpKind::kStats;
}

void CheckRange(uint64_t addr, uint64_t len, const char* what) {
  using namespace rmaplab;
  if (addr % kPageSize || len % kPageSize) Fail(what, "not page aligned");
  if (len == 0) Fail(what, "zero length");
  if (addr < kUserMin || addr > kUserMax || len > kUserMax - addr)
    Fail(what, "outside the user range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rmaplab;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<Trace> r = ParseTrace(text, "fuzz");
  if (!r.ok()) {
    const std::string& m = r.status().message();
    unsigned line = 0, col = 0;
    if (std::sscanf(m.c_str(), "fuzz:%u:%u: ", &line, &col) != 2 || line == 0 ||
        col == 0)
      Fail("bad error message", m);
    return 0;
  }
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  int last = 0;
  for (const Op& op : r.value().ops) {
    if (op.line <= last || static_cast<size_t>(op.line) > lines)
      Fail("bad line", std::to_string(op.line));
    last = op.line;
    if (IsSystem(op.kind) != (op.pid == 0))
      Fail("bad actor", std::to_string(op.pid));
    switch (op.kind) {
      case OpKind::kMmap:
      case OpKind::kMunmap:
      case OpKind::kMprotect:
      case OpKind::kMadvise:
      case OpKind::kRead:
      case OpKind::kWrite:
      case OpKind::kExpect:
      case OpKind::kPin:
      case OpKind::kDmaWrite:
      case OpKind::kUnpin:
      case OpKind::kMigrate:
      case OpKind::kPagemap:
        CheckRange(op.addr, op.len, "range");
        break;
      case OpKind::kMremap:
        CheckRange(op.addr, op.len, "mremap old range");
        // Growing in place past the user range is ENOMEM at run time, not
        // a parse error: only a moved range must fit.
        if (op.new_len == 0 || op.new_len % kPageSize)
          Fail("mremap", "bad new length");
        if (op.has_new_addr)
          CheckRange(op.new_addr, op.new_len, "mremap target");
        break;
      default:
        break;
    }
  }
  return 0;
}
