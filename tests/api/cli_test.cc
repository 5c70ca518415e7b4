// cli_test.cc: the command line (tools/cli.h): one --help listing every
// subcommand, and exit status 2 with a message for bad usage everywhere.
#include "cli.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace rmaplab {
namespace {

struct Ran {
  int status;
  std::string out, err;
};

Ran Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int rc = cli::Main(args, cli::Io{&out, &err});
  return {rc, out.str(), err.str()};
}

const std::vector<std::string> kCommands = {"replay", "designs", "compare",
                                            "gen",    "native",  "diff"};

TEST(Cli, HelpListsEveryCommand) {
  Ran r = Cli({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const std::string& c : kCommands)
    EXPECT_NE(r.out.find("\n  " + c + " "), std::string::npos) << c << r.out;
}

TEST(Cli, EveryCommandTakesHelp) {
  for (const std::string& c : kCommands) {
    Ran r = Cli({c, "--help"});
    EXPECT_EQ(r.status, 0) << c << r.err;
    if (c == "compare") continue;  // prints to std::cout itself (SetupRaw)
    EXPECT_NE(r.out.find("rmaplab " + c), std::string::npos) << c << r.out;
  }
}

TEST(Cli, BadUsageExitsTwoWithAMessage) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"bogus"},
      {"replay"},  // no trace
      {"replay", "--bogus", "t"},
      {"replay", "--mem", "3x", "t"},
      {"replay", "--numa-nodes", "0", "t"},
      {"replay", "a.trace", "b.trace"},
      {"designs", "--bogus"},
      {"gen", "--ops", "5"},  // no seed
      {"gen", "--seed", "x"},
      {"gen", "--seed", "1", "--profile", "nope"},
      {"native", "--bogus", "t"},
      {"diff"},
      {"compare", "--bogus"},
  };
  for (const auto& args : bad) {
    Ran r = Cli(args);
    std::string cmd = args.empty() ? "" : args[0];
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.out << r.err;
    if (cmd != "compare") {
      EXPECT_FALSE(r.err.empty()) << cmd;
    }
  }
}

TEST(Cli, ReplayPrintsAndExitsByResult) {
  char path[] = "/tmp/rmaplab-cli-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "1 mmap 0x100000000 4K rw\n1 read 0x200000000\n1 maps\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), (ssize_t)text.size());
  close(fd);
  Ran stop = Cli({"replay", path});
  EXPECT_EQ(stop.status, 1);
  EXPECT_EQ(stop.out, "error line=2 op=read errno=EFAULT\n");
  Ran go = Cli({"replay", "--keep-going", "--stats", path});
  EXPECT_EQ(go.status, 1);
  EXPECT_NE(go.out.find("# stats design=anon_vma_chain end\n"),
            std::string::npos);
  unlink(path);
}

}  // namespace
}  // namespace rmaplab
