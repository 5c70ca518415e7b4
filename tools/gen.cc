// gen.cc: `rmaplab gen`: the command line over GenerateTrace
// (rmaplab/gen.h).
#include "rmaplab/gen.h"

#include <memory>

#include "cli.h"

namespace rmaplab::cli {
namespace {

constexpr char kGenFooter[] =
    R"(Prints a random, valid trace: N ops on at most P live processes, then maps
and pagemap of every live process.  The same arguments always print the same
trace.  Profiles: default, fork (fork/COW heavy, with exec), vma (split/merge/mremap
heavy), pins (pin/dmawrite/dontneed heavy), swap (default plus pageout,
cold, swapoff, migrate to node 0), all (swap plus reclaim, ksm and
mergeable; native reclaim picks among the workers' own pages too, so it
rarely agrees).

Exit status: 0 the trace was printed; 2 bad usage.)";

}  // namespace

Run SetupGen(CLI::App& app, Io io) {
  auto opts = std::make_shared<GenOptions>();
  CLI::App* sub = app.add_subcommand(
      "gen", "print a random, valid trace (deterministic in its arguments)");
  sub->footer(kGenFooter);
  sub->add_option("--seed", opts->seed, "the random seed")
      ->type_name("S")
      ->required();
  sub->add_option("--ops", opts->ops, "ops before the final dumps")
      ->type_name("N")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_option("--procs", opts->procs, "at most this many live processes")
      ->type_name("P")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub->add_option("--profile", opts->profile, "which ops to favour")
      ->type_name("PROFILE")
      ->check(CLI::IsMember(GenProfiles()))
      ->capture_default_str();
  return [opts, io] {
    Result<std::string> text = GenerateTrace(*opts);
    if (!text.ok()) {
      *io.err << "rmaplab gen: " << text.status().message() << '\n';
      return 2;
    }
    *io.out << text.value();
    return 0;
  };
}

}  // namespace rmaplab::cli
