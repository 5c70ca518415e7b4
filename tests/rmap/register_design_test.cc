// register_design_test.cc: RegisterDesign() adds a design from outside the
// tree (tests/external/global_list_design.cc, built against the public
// headers only) to the registry, where the simulator and every AllDesigns
// suite (the contract suite among them) find it; bad registrations are
// refused with a message.
#include <gtest/gtest.h>

#include <algorithm>

#include "rmaplab/rmap.h"
#include "rmaplab/sim.h"

bool GlobalListDesignRegistered();

namespace rmaplab {
namespace {

TEST(RegisterDesign, ExternalDesignIsRegisteredAndRuns) {
  ASSERT_TRUE(GlobalListDesignRegistered());
  std::vector<std::string> names = DesignNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "global_list"), names.end());
  std::unique_ptr<ReverseMap> d = CreateDesign("global_list");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->name(), "global_list");
  SimOptions opts;
  opts.design = "global_list";
  opts.check = true;
  EXPECT_TRUE(Simulator::Create(opts).ok());
}

TEST(RegisterDesign, RefusesTakenEmptyOrIncompleteEntries) {
  auto create = [] { return CreateDesign("anon_vma_chain"); };
  Status taken = RegisterDesign({"anon_vma_chain", "again", create});
  EXPECT_NE(taken.message().find("already registered"), std::string::npos);
  EXPECT_FALSE(RegisterDesign({"", "no name", create}).ok());
  EXPECT_FALSE(RegisterDesign({"no_create", "", nullptr}).ok());
  EXPECT_EQ(CreateDesign("no_create"), nullptr);
}

}  // namespace
}  // namespace rmaplab
