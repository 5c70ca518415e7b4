// parser.cc: the trace language (docs/trace-format.md, "Lines" and the op
// tables) into Ops.
//
// Invariants of a parsed Trace:
//  (1) every address and length is page aligned, every length is non-zero,
//      every range [addr, addr+len) lies inside [kUserMin, kUserMax);
//  (2) process ops have pid >= 1, system ops pid == 0;
//  (3) Op::line is the 1-based line the op came from.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

struct Token {
  std::string_view text;
  int column;  // 1-based
};

// Thrown inside the parser only; ParseTrace turns it into a Status.
struct ParseError {
  int column;
  std::string what;
};

std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == '#') break;
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' &&
           line[i] != '\r' && line[i] != '#')
      ++i;
    tokens.push_back(
        {line.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return tokens;
}

// Parses a decimal or 0x-hex number, optionally with a K/M/G suffix.
uint64_t ParseNumber(const Token& t, bool allow_suffix, std::string_view what) {
  std::string_view s = t.text;
  uint64_t mult = 1;
  if (allow_suffix && !s.empty()) {
    char c = s.back();
    if (c == 'K' || c == 'M' || c == 'G') {
      mult = c == 'K' ? 1ULL << 10 : c == 'M' ? 1ULL << 20 : 1ULL << 30;
      s.remove_suffix(1);
    }
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty())
    throw ParseError{t.column, "expected " + std::string(what) + ", got '" +
                                   std::string(t.text) + "'"};
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      throw ParseError{t.column, "expected " + std::string(what) + ", got '" +
                                     std::string(t.text) + "'"};
    if (v > (UINT64_MAX - d) / base)
      throw ParseError{t.column, std::string(what) + " '" +
                                     std::string(t.text) +
                                     "' does not fit in 64 bits"};
    v = v * base + d;
  }
  if (mult != 1 && v > UINT64_MAX / mult)
    throw ParseError{t.column, std::string(what) + " '" + std::string(t.text) +
                                   "' does not fit in 64 bits"};
  return v * mult;
}

uint32_t ParsePid(const Token& t, std::string_view what) {
  for (char c : t.text)
    if (c < '0' || c > '9')
      throw ParseError{t.column, "expected " + std::string(what) +
                                     " (decimal 1..2147483647), got '" +
                                     std::string(t.text) + "'"};
  uint64_t v = t.text.size() > 10 ? UINT64_MAX : ParseNumber(t, false, what);
  if (v < 1 || v > 0x7fffffff)
    throw ParseError{t.column, std::string(what) + " '" + std::string(t.text) +
                                   "' is outside 1..2147483647"};
  return static_cast<uint32_t>(v);
}

uint64_t ParseAddr(const Token& t) {
  uint64_t a = ParseNumber(t, false, "an address");
  if (a % kPageSize)
    throw ParseError{t.column,
                     "address '" + std::string(t.text) +
                         "' is not a multiple of the 4 KiB page size"};
  if (a < kUserMin || a >= kUserMax)
    throw ParseError{t.column, "address '" + std::string(t.text) +
                                   "' is outside the user range "
                                   "[0x10000, 0x7ffffffff000)"};
  return a;
}

uint64_t ParseLen(const Token& t) {
  uint64_t l = ParseNumber(t, true, "a length");
  if (l == 0) throw ParseError{t.column, "a length of 0 is not allowed"};
  if (l % kPageSize)
    throw ParseError{t.column,
                     "length '" + std::string(t.text) +
                         "' is not a multiple of the 4 KiB page size"};
  return l;
}

void CheckRange(uint64_t addr, uint64_t len, const Token& t) {
  if (len > kUserMax - addr)
    throw ParseError{t.column,
                     "range ends beyond the user range (0x7ffffffff000)"};
}

int ParseProt(const Token& t) {
  std::string_view s = t.text;
  if (s == "none") return 0;
  if (s == "r") return kProtRead;
  if (s == "rw") return kProtRead | kProtWrite;
  if (s == "rx") return kProtRead | kProtExec;
  if (s.size() == 3 && (s[0] == 'r' || s[0] == '-') &&
      (s[1] == 'w' || s[1] == '-') && (s[2] == 'x' || s[2] == '-'))
    return (s[0] == 'r' ? kProtRead : 0) | (s[1] == 'w' ? kProtWrite : 0) |
           (s[2] == 'x' ? kProtExec : 0);
  throw ParseError{t.column,
                   "bad protection '" + std::string(s) +
                       "' (expected rwx with '-' for absent, or one of "
                       "rw r rx rwx none)"};
}

Advice ParseAdvice(const Token& t) {
  static constexpr Advice kAll[] = {
      Advice::kDontneed, Advice::kMergeable,  Advice::kUnmergeable,
      Advice::kPageout,  Advice::kCold,       Advice::kDontfork,
      Advice::kDofork,   Advice::kWipeonfork, Advice::kKeeponfork,
      Advice::kHugepage, Advice::kNohugepage, Advice::kCollapse};
  for (Advice a : kAll)
    if (t.text == AdviceName(a)) return a;
  throw ParseError{t.column,
                   "unknown advice '" + std::string(t.text) +
                       "' (expected dontneed, mergeable, unmergeable, "
                       "pageout, cold, dontfork, dofork, wipeonfork, "
                       "keeponfork, hugepage, nohugepage or collapse)"};
}

uint64_t ParseValue(const Token& t) {
  if (t.text.size() < 2 || t.text[0] != '=')
    throw ParseError{t.column,
                     "expected =VALUE, got '" + std::string(t.text) + "'"};
  Token v{t.text.substr(1), t.column + 1};
  return ParseNumber(v, false, "a value");
}

bool IsSystemOp(OpKind k) {
  return k == OpKind::kKsm || k == OpKind::kReclaim || k == OpKind::kSwapoff ||
         k == OpKind::kThp || k == OpKind::kStats;
}

// `thp SIZE`: a power of two from 16K to 2M, as a folio order.
int ParseThpOrder(const Token& t) {
  uint64_t size = ParseNumber(t, true, "a folio size");
  for (int order = kThpMinOrder; order <= kPmdOrder; ++order)
    if (size == kPageSize << order) return order;
  throw ParseError{t.column, "folio size '" + std::string(t.text) +
                                 "' is not a power of two from 16K to 2M"};
}

// `thp SIZE MODE`: inherit follows the top-level policy, which 2M itself is.
ThpMode ParseThpMode(const Token& t, int order) {
  static constexpr ThpMode kAll[] = {ThpMode::kAlways, ThpMode::kMadvise,
                                     ThpMode::kNever, ThpMode::kInherit};
  for (ThpMode m : kAll) {
    if (t.text != ThpModeName(m)) continue;
    if (m == ThpMode::kInherit && order == kPmdOrder)
      throw ParseError{t.column,
                       "'inherit' is not a policy for 2M (expected "
                       "always, madvise or never)"};
    return m;
  }
  throw ParseError{t.column,
                   "unknown THP policy '" + std::string(t.text) +
                       "' (expected always, madvise, never or inherit)"};
}

// Argument cursor over the tokens after the op name.
class Args {
 public:
  Args(const std::vector<Token>& tokens, int line_len)
      : t_(tokens), end_col_(line_len + 1) {}
  bool more() const { return i_ < t_.size(); }
  const Token& next(std::string_view what) {
    if (!more()) throw ParseError{end_col_, "missing " + std::string(what)};
    return t_[i_++];
  }
  const Token& peek() const { return t_[i_]; }
  void done() const {
    if (more())
      throw ParseError{t_[i_].column, "unexpected argument '" +
                                          std::string(t_[i_].text) + "'"};
  }

 private:
  const std::vector<Token>& t_;
  size_t i_ = 2;
  int end_col_;
};

// ADDR [LEN]: a range defaulting to one page.
void ParseOptionalRange(Args& a, Op& op, const Token& addr_tok) {
  op.len = kPageSize;
  if (a.more() && a.peek().text[0] != '=') op.len = ParseLen(a.next("LEN"));
  CheckRange(op.addr, op.len, addr_tok);
}

void ParseArgs(Args& a, Op& op) {
  switch (op.kind) {
    case OpKind::kMmap: {
      const Token& at = a.next("ADDR");
      op.addr = ParseAddr(at);
      op.len = ParseLen(a.next("LEN"));
      CheckRange(op.addr, op.len, at);
      op.prot = ParseProt(a.next("PROT"));
      if (a.more()) {
        const Token& s = a.next("shared");
        if (s.text != "shared")
          throw ParseError{s.column, "expected 'shared' or end of line, got '" +
                                         std::string(s.text) + "'"};
        op.shared = true;
      }
      break;
    }
    case OpKind::kMunmap:
    case OpKind::kPin:
    case OpKind::kUnpin:
    case OpKind::kPagemap:
    case OpKind::kMprotect:
    case OpKind::kMadvise:
    case OpKind::kMigrate: {
      const Token& at = a.next("ADDR");
      op.addr = ParseAddr(at);
      op.len = ParseLen(a.next("LEN"));
      CheckRange(op.addr, op.len, at);
      if (op.kind == OpKind::kMprotect) op.prot = ParseProt(a.next("PROT"));
      if (op.kind == OpKind::kMadvise)
        op.advice = ParseAdvice(a.next("ADVICE"));
      if (op.kind == OpKind::kMigrate) {
        const Token& n = a.next("NODE");
        uint64_t node = ParseNumber(n, false, "a node number");
        if (node > 63) throw ParseError{n.column, "node number must be 0..63"};
        op.node = static_cast<int>(node);
      }
      break;
    }
    case OpKind::kMremap: {
      const Token& at = a.next("OLD");
      op.addr = ParseAddr(at);
      op.len = ParseLen(a.next("OLDLEN"));
      CheckRange(op.addr, op.len, at);
      op.new_len = ParseLen(a.next("NEWLEN"));
      if (a.more()) {
        const Token& nt = a.next("NEWADDR");
        op.new_addr = ParseAddr(nt);
        op.has_new_addr = true;
        CheckRange(op.new_addr, op.new_len, nt);
      } else if (op.new_len > kUserMax - op.addr) {
        // Growing in place past the user range: Linux says ENOMEM at run
        // time, so this is not a parse error.
      }
      break;
    }
    case OpKind::kRead: {
      const Token& at = a.next("ADDR");
      op.addr = ParseAddr(at);
      op.len = a.more() ? ParseLen(a.next("LEN")) : kPageSize;
      CheckRange(op.addr, op.len, at);
      break;
    }
    case OpKind::kWrite:
    case OpKind::kExpect:
    case OpKind::kDmaWrite: {
      const Token& at = a.next("ADDR");
      op.addr = ParseAddr(at);
      ParseOptionalRange(a, op, at);
      if (a.more()) {
        op.value = ParseValue(a.next("=VALUE"));
        op.has_value = true;
      } else if (op.kind != OpKind::kWrite) {
        a.next("=VALUE");  // throws: required
      }
      break;
    }
    case OpKind::kFork:
      op.child = ParsePid(a.next("CHILD"), "a child pid");
      break;
    case OpKind::kKsm: {
      const Token& t = a.next("PAGES or 'full'");
      if (t.text == "full")
        op.ksm_full = true;
      else
        op.pages = ParseNumber(t, false, "a page count or 'full'");
      break;
    }
    case OpKind::kReclaim:
      op.pages = ParseNumber(a.next("PAGES"), false, "a page count");
      break;
    case OpKind::kThp:
      op.thp_order = ParseThpOrder(a.next("SIZE"));
      op.thp_mode = ParseThpMode(a.next("MODE"), op.thp_order);
      break;
    case OpKind::kExit:
    case OpKind::kExec:
    case OpKind::kMaps:
    case OpKind::kSwapoff:
    case OpKind::kStats:
      break;
  }
  a.done();
}

OpKind ParseOpName(const Token& t) {
  static constexpr OpKind kAll[] = {
      OpKind::kMmap,     OpKind::kMunmap, OpKind::kMprotect, OpKind::kMremap,
      OpKind::kMadvise,  OpKind::kRead,   OpKind::kWrite,    OpKind::kExpect,
      OpKind::kFork,     OpKind::kExit,   OpKind::kExec,     OpKind::kPin,
      OpKind::kDmaWrite, OpKind::kUnpin,  OpKind::kMigrate,  OpKind::kMaps,
      OpKind::kPagemap,  OpKind::kKsm,    OpKind::kReclaim,  OpKind::kSwapoff,
      OpKind::kThp,      OpKind::kStats};
  for (OpKind k : kAll)
    if (t.text == OpName(k)) return k;
  throw ParseError{t.column, "unknown op '" + std::string(t.text) + "'"};
}

Op ParseLine(const std::vector<Token>& tokens, int line_no, int line_len) {
  Op op;
  op.line = line_no;
  const Token& actor = tokens[0];
  bool system = actor.text == "*";
  if (tokens.size() < 2)
    throw ParseError{line_len + 1, "missing op after actor '" +
                                       std::string(actor.text) + "'"};
  if (!system) op.pid = ParsePid(actor, "an actor (a pid or '*')");
  op.kind = ParseOpName(tokens[1]);
  if (system && !IsSystemOp(op.kind))
    throw ParseError{actor.column,
                     "op '" + std::string(tokens[1].text) +
                         "' needs a process id as actor, not '*'"};
  if (!system && IsSystemOp(op.kind))
    throw ParseError{actor.column, "op '" + std::string(tokens[1].text) +
                                       "' is system-wide: its actor is '*'"};
  Args args(tokens, line_len);
  ParseArgs(args, op);
  return op;
}

}  // namespace

std::string_view OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kMmap:
      return "mmap";
    case OpKind::kMunmap:
      return "munmap";
    case OpKind::kMprotect:
      return "mprotect";
    case OpKind::kMremap:
      return "mremap";
    case OpKind::kMadvise:
      return "madvise";
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kExpect:
      return "expect";
    case OpKind::kFork:
      return "fork";
    case OpKind::kExit:
      return "exit";
    case OpKind::kExec:
      return "exec";
    case OpKind::kPin:
      return "pin";
    case OpKind::kDmaWrite:
      return "dmawrite";
    case OpKind::kUnpin:
      return "unpin";
    case OpKind::kMigrate:
      return "migrate";
    case OpKind::kMaps:
      return "maps";
    case OpKind::kPagemap:
      return "pagemap";
    case OpKind::kKsm:
      return "ksm";
    case OpKind::kReclaim:
      return "reclaim";
    case OpKind::kSwapoff:
      return "swapoff";
    case OpKind::kThp:
      return "thp";
    case OpKind::kStats:
      return "stats";
  }
  return "?";
}

std::string_view AdviceName(Advice advice) {
  switch (advice) {
    case Advice::kDontneed:
      return "dontneed";
    case Advice::kMergeable:
      return "mergeable";
    case Advice::kUnmergeable:
      return "unmergeable";
    case Advice::kPageout:
      return "pageout";
    case Advice::kCold:
      return "cold";
    case Advice::kDontfork:
      return "dontfork";
    case Advice::kDofork:
      return "dofork";
    case Advice::kWipeonfork:
      return "wipeonfork";
    case Advice::kKeeponfork:
      return "keeponfork";
    case Advice::kHugepage:
      return "hugepage";
    case Advice::kNohugepage:
      return "nohugepage";
    case Advice::kCollapse:
      return "collapse";
  }
  return "?";
}

std::string_view ThpModeName(ThpMode mode) {
  switch (mode) {
    case ThpMode::kNever:
      return "never";
    case ThpMode::kMadvise:
      return "madvise";
    case ThpMode::kAlways:
      return "always";
    case ThpMode::kInherit:
      return "inherit";
  }
  return "?";
}

Result<Trace> ParseTrace(std::string_view text, std::string_view path) {
  Trace trace;
  trace.path = std::string(path);
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    ++line_no;
    pos = nl + 1;
    if (line.find('\0') != std::string_view::npos)
      return Status::Error(std::string(path) + ":" + std::to_string(line_no) +
                           ":" + std::to_string(line.find('\0') + 1) +
                           ": NUL byte in trace");
    std::vector<Token> tokens = Tokenize(line);
    if (tokens.empty()) {
      if (nl == text.size()) break;
      continue;
    }
    try {
      trace.ops.push_back(
          ParseLine(tokens, line_no, static_cast<int>(line.size())));
    } catch (const ParseError& e) {
      return Status::Error(std::string(path) + ":" + std::to_string(line_no) +
                           ":" + std::to_string(e.column) + ": " + e.what);
    }
    if (nl == text.size()) break;
  }
  return trace;
}

Result<Trace> ParseTraceFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::Error(path + ":0:0: cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseTrace(ss.str(), path);
}

Result<uint64_t> ParseLength(std::string_view text) {
  try {
    return ParseLen(Token{text, 1});
  } catch (const ParseError& e) {
    return Status::Error(e.what);
  }
}

uint64_t DefaultWriteValue(uint64_t line, uint64_t pid, uint64_t addr) {
  uint64_t z = line * 0x9E3779B97F4A7C15ULL + pid * 0xBF58476D1CE4E5B9ULL +
               (addr >> kPageShift);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z = z ^ (z >> 31);
  return z == 0 ? 1 : z;
}

}  // namespace rmaplab
