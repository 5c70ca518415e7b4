// gen_emit.h: the trace generator's emitter: trace text, one op a line,
// and the line number the next op gets (a `write` without a value stores
// DefaultWriteValue(line, pid, addr), so the model needs it).
// Invariant: line() is the number of lines in text().
#ifndef RMAPLAB_TRACE_GEN_EMIT_H_
#define RMAPLAB_TRACE_GEN_EMIT_H_

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace rmaplab::gen {

inline std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

class Emitter {
 public:
  void Line(const std::string& s) {
    text_ += s;
    text_ += '\n';
    ++line_;
  }
  void Op(uint32_t pid, const std::string& s) {
    Line(std::to_string(pid) + " " + s);
  }
  int NextLine() const { return line_ + 1; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  int line_ = 0;
};

}  // namespace rmaplab::gen

#endif  // RMAPLAB_TRACE_GEN_EMIT_H_
