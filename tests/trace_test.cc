// trace_test.cc: the parser accepts the spec's language and rejects
// malformed lines with FILE:LINE:COLUMN messages.
#include "rmaplab/trace.h"

#include <gtest/gtest.h>

namespace rmaplab {
namespace {

TEST(ParseTrace, ParsesEveryOpKind) {
  Result<Trace> t = ParseTrace(
      "# comment\n"
      "1 mmap 0x100000000 64K rw-\n"
      "1 mmap 0x200000000 8K r shared\n"
      "\n"
      "1 write 0x100000000 8K =0x1f  # trailing comment\n"
      "1 write 0x100000000\n"
      "1 mremap 0x100000000 64K 128K 0x300000000\n"
      "1 madvise 0x100000000 4K wipeonfork\n"
      "1 fork 2\n"
      "* ksm full\n"
      "* reclaim 10\n"
      "* stats\n",
      "t.trace");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto& ops = t.value().ops;
  ASSERT_EQ(ops.size(), 10u);
  EXPECT_EQ(ops[0].kind, OpKind::kMmap);
  EXPECT_EQ(ops[0].len, 65536u);
  EXPECT_EQ(ops[0].prot, kProtRead | kProtWrite);
  EXPECT_EQ(ops[0].line, 2);
  EXPECT_TRUE(ops[1].shared);
  EXPECT_EQ(ops[1].prot, kProtRead);
  EXPECT_TRUE(ops[2].has_value);
  EXPECT_EQ(ops[2].value, 0x1fu);
  EXPECT_EQ(ops[2].len, 8192u);
  EXPECT_FALSE(ops[3].has_value);
  EXPECT_EQ(ops[3].len, 4096u);
  EXPECT_TRUE(ops[4].has_new_addr);
  EXPECT_EQ(ops[4].new_len, 131072u);
  EXPECT_EQ(ops[5].advice, Advice::kWipeonfork);
  EXPECT_EQ(ops[6].child, 2u);
  EXPECT_TRUE(ops[7].ksm_full);
  EXPECT_EQ(ops[8].pages, 10u);
  EXPECT_EQ(ops[9].pid, 0u);
}

struct BadCase {
  const char* text;
  const char* message;  // expected "FILE:LINE:COLUMN: ..." prefix
};

class ParseTraceBad : public testing::TestWithParam<BadCase> {};

TEST_P(ParseTraceBad, RejectsWithPosition) {
  Result<Trace> t = ParseTrace(GetParam().text, "bad.trace");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().rfind(GetParam().message, 0), 0u)
      << t.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseTraceBad,
    testing::Values(
        BadCase{"1 mmap 0x100000001 4K rw", "bad.trace:1:8: address"},
        BadCase{"1 mmap 0x100000000 0 rw", "bad.trace:1:20: a length of 0"},
        BadCase{"1 mmap 0x100000000 100 rw", "bad.trace:1:20: length"},
        BadCase{"1 mmap 0x100000000 4K rwz", "bad.trace:1:23: bad protection"},
        BadCase{"1 frobnicate", "bad.trace:1:3: unknown op"},
        BadCase{"\n\n0 exit",
                "bad.trace:3:1: an actor (a pid or '*') '0' is outside"},
        BadCase{"* mmap 0x100000000 4K rw", "bad.trace:1:1: op 'mmap' needs"},
        BadCase{"1 stats", "bad.trace:1:1: op 'stats' is system-wide"},
        BadCase{"1 expect 0x100000000", "bad.trace:1:21: missing =VALUE"},
        BadCase{"1 write 0x100000000 4K =zz",
                "bad.trace:1:25: expected a value"},
        BadCase{"1 mmap 0x1000 4K rw",
                "bad.trace:1:8: address '0x1000' is outside"},
        BadCase{"1 mmap 0x7fffffffe000 8K rw",
                "bad.trace:1:8: range ends beyond"},
        BadCase{"1 exit now", "bad.trace:1:8: unexpected argument"},
        BadCase{"1 fork 0", "bad.trace:1:8: a child pid"},
        BadCase{"1 madvise 0x100000000 4K sleep",
                "bad.trace:1:26: unknown advice"},
        BadCase{"1 read 0x100000000 99999999999999999999",
                "bad.trace:1:20: a length"},
        BadCase{"1", "bad.trace:1:2: missing op"},
        BadCase{"* thp 8K always", "bad.trace:1:7: folio size '8K' is not"},
        BadCase{"* thp 4M always", "bad.trace:1:7: folio size '4M' is not"},
        BadCase{"* thp 48K always", "bad.trace:1:7: folio size '48K' is not"},
        BadCase{"* thp 2M inherit",
                "bad.trace:1:10: 'inherit' is not a policy for 2M"},
        BadCase{"* thp 64K sometimes", "bad.trace:1:11: unknown THP policy"},
        BadCase{"* thp 64K", "bad.trace:1:10: missing MODE"},
        BadCase{"1 thp 64K always", "bad.trace:1:1: op 'thp' is system-wide"}));

TEST(ParseTrace, ParsesTheThpOpAndAdvice) {
  Result<Trace> t = ParseTrace(
      "* thp 16K always\n"
      "* thp 0x10000 inherit\n"
      "* thp 2M never\n"
      "* thp 1M madvise\n"
      "1 madvise 0x100000000 2M hugepage\n"
      "1 madvise 0x100000000 2M nohugepage\n"
      "1 madvise 0x100000000 2M collapse\n",
      "t.trace");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto& ops = t.value().ops;
  ASSERT_EQ(ops.size(), 7u);
  EXPECT_EQ(ops[0].kind, OpKind::kThp);
  EXPECT_EQ(ops[0].pid, 0u);
  EXPECT_EQ(ops[0].thp_order, 2);
  EXPECT_EQ(ops[0].thp_mode, ThpMode::kAlways);
  EXPECT_EQ(ops[1].thp_order, 4);
  EXPECT_EQ(ops[1].thp_mode, ThpMode::kInherit);
  EXPECT_EQ(ops[2].thp_order, kPmdOrder);
  EXPECT_EQ(ops[2].thp_mode, ThpMode::kNever);
  EXPECT_EQ(ops[3].thp_order, 8);
  EXPECT_EQ(ops[3].thp_mode, ThpMode::kMadvise);
  EXPECT_EQ(ops[4].advice, Advice::kHugepage);
  EXPECT_EQ(ops[5].advice, Advice::kNohugepage);
  EXPECT_EQ(ops[6].advice, Advice::kCollapse);
}

TEST(DefaultWriteValue, MatchesSpecFormula) {
  // Computed by hand from the spec's formula for L=1, P=1, A=0x100000000.
  uint64_t z =
      1 * 0x9E3779B97F4A7C15ULL + 1 * 0xBF58476D1CE4E5B9ULL + 0x100000ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z = z ^ (z >> 31);
  EXPECT_EQ(DefaultWriteValue(1, 1, 0x100000000), z);
  EXPECT_NE(DefaultWriteValue(1, 1, 0x100000000),
            DefaultWriteValue(2, 1, 0x100000000));
  EXPECT_NE(DefaultWriteValue(1, 1, 0x100000000),
            DefaultWriteValue(1, 2, 0x100000000));
}

}  // namespace
}  // namespace rmaplab

namespace rmaplab {
namespace {

TEST(ParseLength, AcceptsTheTraceLanguagesLengths) {
  ASSERT_TRUE(ParseLength("64K").ok());
  EXPECT_EQ(ParseLength("64K").value(), 65536u);
  EXPECT_EQ(ParseLength("0x2000").value(), 8192u);
  EXPECT_EQ(ParseLength("1G").value(), 1ULL << 30);
  EXPECT_FALSE(ParseLength("0").ok());
  EXPECT_FALSE(ParseLength("5K").ok());
  EXPECT_NE(ParseLength("zz").status().message().find("expected a length"),
            std::string::npos);
}

}  // namespace
}  // namespace rmaplab
