// graph_test.cc: structure pictures (rmaplab/graph.h, ReverseMap::Describe).
// Every design, on one small fork + COW trace, draws a picture whose edges
// all end at nodes, whose every mapping is reachable from its page over the
// design's own edges, and which changes nothing; then each design's picture
// holds the objects that design must have.  The trace:
//
//      0x100000000  0x100001000
//   1  A            B            (mmap 8K, write both; fork 2)
//   2  A            C            (2 writes the second page: COW copy C)
#include "rmaplab/graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/kernel_test_util.h"  // DesignTestName, StatsMap
#include "rmaplab/rmap.h"
#include "rmaplab/sim.h"
#include "rmaplab/trace.h"

namespace rmaplab {
namespace {

constexpr char kForkCow[] =
    "1 mmap 0x100000000 8K rw\n"
    "1 write 0x100000000 8K\n"
    "1 fork 2\n"
    "2 write 0x100001000 =0x2\n";
constexpr uint64_t kA = 0x100000000, kB = 0x100001000;

// A simulator after the trace's first `lines` lines, and its picture.
struct Picture {
  std::unique_ptr<Simulator> sim;
  GraphSink g;
};

std::unique_ptr<Picture> Draw(const std::string& design, int lines = 99) {
  auto p = std::make_unique<Picture>();
  Result<std::unique_ptr<Simulator>> sim =
      Simulator::Create(SimOptions{.design = design, .check = true});
  EXPECT_TRUE(sim.ok()) << design;
  p->sim = std::move(sim.value());
  Result<Trace> trace = ParseTrace(kForkCow, "fork-cow.trace");
  EXPECT_TRUE(trace.ok());
  trace.value().ops.resize(std::min<size_t>(lines, trace.value().ops.size()));
  std::ostringstream out;
  ReplayResult r = Replay(trace.value(), *p->sim, out);
  EXPECT_TRUE(r.ok()) << design << ": " << r.check.message() << out.str();
  p->sim->DescribeRmap(p->g);
  return p;
}

// The kind and label of node `id`; "none" if there is no such node.
std::string KindOf(const GraphSink& g, GraphId id) {
  for (const GraphNode& n : g.nodes())
    if (n.id == id) return n.kind;
  return "none";
}
std::string LabelOf(const GraphSink& g, GraphId id) {
  for (const GraphNode& n : g.nodes())
    if (n.id == id) return n.label;
  return "none";
}

int Count(const GraphSink& g, const std::string& kind) {
  return std::count_if(g.nodes().begin(), g.nodes().end(),
                       [&](const GraphNode& n) { return n.kind == kind; });
}

// The design's edges out of `from` whose label contains `label`.
std::vector<GraphEdge> Out(const GraphSink& g, GraphId from,
                           const std::string& label = "") {
  std::vector<GraphEdge> out;
  for (const GraphEdge& e : g.edges())
    if (!e.core && e.from == from && e.label.find(label) != std::string::npos)
      out.push_back(e);
  return out;
}

const Mm& MmOf(const GraphSink& g, uint32_t pid) {
  for (const Mm* mm : g.mms())
    if (mm->pid == pid) return *mm;
  ADD_FAILURE() << "no mm " << pid;
  return *g.mms().front();
}

GraphId VmaOf(const GraphSink& g, uint32_t pid) {
  return GraphId::Of(*MmOf(g, pid).vmas.begin()->second);
}

// The page pid maps at addr (the core's PTE edge says which).
GraphId PageAt(const GraphSink& g, uint32_t pid, uint64_t addr) {
  for (const GraphEdge& e : g.edges())
    if (e.core && e.from == VmaOf(g, pid) &&
        e.label.rfind("pte " + GraphHex(addr), 0) == 0)
      return e.to;
  ADD_FAILURE() << "pid " << pid << " maps nothing at " << GraphHex(addr);
  return {};
}

// The one node `from`'s design edge labelled `label` leads to.
GraphId To(const GraphSink& g, GraphId from, const std::string& label) {
  std::vector<GraphEdge> e = Out(g, from, label);
  EXPECT_EQ(e.size(), 1u) << label;
  return e.empty() ? GraphId{} : e[0].to;
}

// --- every design ----------------------------------------------------------

class GraphAllDesigns : public testing::TestWithParam<std::string> {};

TEST_P(GraphAllDesigns, EdgesEndAtNodesAndEveryPageHasItsObject) {
  auto p = Draw(GetParam());
  EXPECT_TRUE(p->g.Check().ok()) << p->g.Check().message();
  EXPECT_EQ(p->g.mms().size(), 2u);
  EXPECT_EQ(p->g.pages().size(), 3u);  // A, B, C
  for (const GraphPage& page : p->g.pages())
    EXPECT_FALSE(Out(p->g, GraphId::OfPage(page.pfn)).empty())
        << "pfn " << page.pfn << " points at nothing";
  EXPECT_TRUE(p->g.notes().empty()) << p->g.notes()[0];
}

// The walk's completeness, as the picture shows it: from each page, the
// design's edges (either way) reach every vma that maps it, or its mm.
TEST_P(GraphAllDesigns, EveryMappingIsReachableOverTheDesignsEdges) {
  auto p = Draw(GetParam());
  std::map<GraphId, std::vector<GraphId>> adj;
  for (const GraphEdge& e : p->g.edges())
    if (!e.core) {
      adj[e.from].push_back(e.to);
      adj[e.to].push_back(e.from);
    }
  for (const GraphEdge& pte : p->g.edges()) {
    if (!pte.core || pte.to.space != GraphId::Space::kPage) continue;
    std::set<GraphId> seen = {pte.to};
    std::vector<GraphId> todo = {pte.to};
    while (!todo.empty()) {
      GraphId at = todo.back();
      todo.pop_back();
      for (GraphId next : adj[at])
        if (seen.insert(next).second) todo.push_back(next);
    }
    const Vma* vma = reinterpret_cast<const Vma*>(pte.from.key);
    EXPECT_TRUE(seen.count(pte.from) || seen.count(GraphId::Of(*vma->mm)))
        << pte.label << " of pid " << vma->mm->pid << " unreachable";
  }
}

TEST_P(GraphAllDesigns, DescribeChangesNothingAndRepeatsItself) {
  auto p = Draw(GetParam());
  Stats before = p->sim->Stats();
  GraphSink again;
  p->sim->DescribeRmap(again);
  EXPECT_EQ(StatsMap(p->sim->Stats()), StatsMap(before));
  EXPECT_TRUE(p->sim->Check().ok());
  ASSERT_EQ(again.nodes().size(), p->g.nodes().size());
  for (size_t i = 0; i < again.nodes().size(); ++i)
    EXPECT_EQ(again.nodes()[i].label, p->g.nodes()[i].label);
  ASSERT_EQ(again.edges().size(), p->g.edges().size());
}

std::vector<std::string> DesignsAndExhibit() {
  std::vector<std::string> d = DesignNames();
  d.push_back("cow_context-poc");
  return d;
}
INSTANTIATE_TEST_SUITE_P(AllDesigns, GraphAllDesigns,
                         testing::ValuesIn(DesignsAndExhibit()),
                         DesignTestName);

// --- what each design must draw ---------------------------------------------

TEST(GraphSink, SecondNodeForAnIdIsIgnoredAndDanglingEdgesAreNamed) {
  GraphSink g;
  int a = 0, b = 0;
  g.Node(GraphId::Object(&a), "x", "first");
  g.Node(GraphId::Object(&a), "x", "second");
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0].label, "first");
  g.Edge(GraphId::Object(&a), GraphId::Object(&a), "loop");
  EXPECT_TRUE(g.Check().ok());
  g.Edge(GraphId::Object(&a), GraphId::Object(&b), "dangles");
  EXPECT_NE(g.Check().message().find("'dangles'"), std::string::npos);
}

// A design without its own Describe says so under the picture.
TEST(GraphSink, DefaultDescribeNotesThatTheDesignDrawsNothing) {
  std::unique_ptr<ReverseMap> d = CreateDesign("anon_vma_chain");
  GraphSink g;
  d->ReverseMap::Describe(g);
  ASSERT_EQ(g.notes().size(), 1u);
  EXPECT_EQ(g.notes()[0],
            "design anon_vma_chain draws none of its own objects");
  EXPECT_TRUE(g.nodes().empty());
}

TEST(GraphDesign, AnonVmaChainLinksTheChildToItsParentsAnonVma) {
  auto p = Draw("anon_vma_chain");
  const GraphSink& g = p->g;
  EXPECT_EQ(Count(g, "anon_vma"), 2);
  EXPECT_EQ(Count(g, "avc"), 3);
  GraphId parent_av = To(g, VmaOf(g, 1), "anon_vma");
  GraphId child_av = To(g, VmaOf(g, 2), "anon_vma");
  EXPECT_NE(parent_av, child_av);
  EXPECT_EQ(To(g, child_av, "parent"), parent_av);
  // vma -> avc -> anon_vma: the child is on both anon_vmas' trees.
  std::set<GraphId> child_chain, parent_chain;
  for (const GraphEdge& e : Out(g, VmaOf(g, 2)))
    if (KindOf(g, e.to) == "avc") child_chain.insert(To(g, e.to, ""));
  for (const GraphEdge& e : Out(g, VmaOf(g, 1)))
    if (KindOf(g, e.to) == "avc") parent_chain.insert(To(g, e.to, ""));
  EXPECT_EQ(child_chain, (std::set<GraphId>{parent_av, child_av}));
  EXPECT_EQ(parent_chain, std::set<GraphId>{parent_av});
  EXPECT_EQ(To(g, PageAt(g, 1, kA), "mapping"), parent_av);
  EXPECT_EQ(To(g, PageAt(g, 1, kB), "mapping"), parent_av);
  EXPECT_EQ(To(g, PageAt(g, 2, kB), "mapping"), child_av);
}

TEST(GraphDesign, PteChainHasAnEntryPerMappingOfASharedPage) {
  auto p = Draw("pte_chain");
  const GraphSink& g = p->g;
  GraphId block = To(g, PageAt(g, 1, kA), "pte_chain");
  EXPECT_EQ(KindOf(g, block), "pte_chain");
  std::set<GraphId> entries;
  for (const GraphEdge& e : Out(g, block, "pte " + GraphHex(kA)))
    entries.insert(e.to);
  EXPECT_EQ(entries, (std::set<GraphId>{VmaOf(g, 1), VmaOf(g, 2)}));
  EXPECT_EQ(To(g, PageAt(g, 1, kB), "PG_direct"), VmaOf(g, 1));
  EXPECT_EQ(To(g, PageAt(g, 2, kB), "PG_direct"), VmaOf(g, 2));
  EXPECT_EQ(Count(g, "pte_chain"), 1);
}

TEST(GraphDesign, AnonMmIsOneGroupOfBothMmsIndexedByAddress) {
  for (const char* design : {"anonmm-chains", "anonmm-copy"}) {
    auto p = Draw(design);
    const GraphSink& g = p->g;
    EXPECT_EQ(Count(g, "anonmm"), 1) << design;
    GraphId group = To(g, PageAt(g, 2, kB), "mapping, address " + GraphHex(kB));
    std::set<GraphId> mms;
    for (const GraphEdge& e : Out(g, group, "mm")) mms.insert(e.to);
    EXPECT_EQ(mms, (std::set<GraphId>{GraphId::Of(MmOf(g, 1)),
                                      GraphId::Of(MmOf(g, 2))}))
        << design;
  }
}

TEST(GraphDesign, AnonVmaListsBothVmasAndDirectPagesPointAtTheirVma) {
  for (const char* design : {"anon_vma", "anon_vma-direct"}) {
    auto p = Draw(design);
    const GraphSink& g = p->g;
    EXPECT_EQ(Count(g, "anon_vma"), 1) << design;
    GraphId av = To(g, PageAt(g, 2, kB), "mapping");
    std::set<GraphId> head;
    for (const GraphEdge& e : Out(g, av, "head")) head.insert(e.to);
    EXPECT_EQ(head, (std::set<GraphId>{VmaOf(g, 1), VmaOf(g, 2)}));
    bool direct = std::string(design) == "anon_vma-direct";
    EXPECT_EQ(Out(g, PageAt(g, 2, kB), "PageDirect").size(), direct ? 1u : 0u);
    EXPECT_TRUE(Out(g, PageAt(g, 1, kA), "PageDirect").empty());  // shared
  }
}

TEST(GraphDesign, AnonInodeMapsEveryVmaAndGivesTheCowCopyABackPointer) {
  auto p = Draw("anon_inode");
  const GraphSink& g = p->g;
  EXPECT_EQ(Count(g, "anon_inode"), 1);
  GraphId inode = To(g, PageAt(g, 1, kA), "mapping, range 1 pgoff 0x100000");
  std::set<GraphId> i_mmap;
  for (const GraphEdge& e : Out(g, inode, "i_mmap")) i_mmap.insert(e.to);
  EXPECT_EQ(i_mmap, (std::set<GraphId>{VmaOf(g, 1), VmaOf(g, 2)}));
  EXPECT_EQ(To(g, PageAt(g, 2, kB), "stray back pointer"), VmaOf(g, 2));
  EXPECT_EQ(To(g, VmaOf(g, 1), "anon_vma"), To(g, VmaOf(g, 2), "anon_vma"));
}

TEST(GraphDesign, CowContextsFormTheForkTree) {
  for (const char* design : {"cow_context", "cow_context-poc"}) {
    auto p = Draw(design);
    const GraphSink& g = p->g;
    EXPECT_EQ(Count(g, "cow_context"), 2) << design;
    GraphId parent = To(g, PageAt(g, 1, kA), "mapping");
    GraphId child = To(g, PageAt(g, 2, kB), "mapping");
    EXPECT_EQ(To(g, child, "parent"), parent);
    EXPECT_EQ(To(g, parent, "mm"), GraphId::Of(MmOf(g, 1)));
    EXPECT_EQ(To(g, child, "mm"), GraphId::Of(MmOf(g, 2)));
    EXPECT_EQ(To(g, PageAt(g, 1, kB), "mapping"), parent);
  }
}

TEST(GraphDesign, AnonVmaLazyIsLazyUntilTheFork) {
  auto before = Draw("anon_vma_lazy", 2);
  const GraphSink& g = before->g;
  EXPECT_EQ(Count(g, "anon_vma"), 0);
  EXPECT_EQ(Count(g, "avc"), 0);
  GraphId node = To(g, PageAt(g, 1, kA), "mapping (PG_lazy)");
  EXPECT_EQ(KindOf(g, node), "lazy");
  EXPECT_EQ(To(g, node, "vma"), VmaOf(g, 1));
  EXPECT_EQ(To(g, PageAt(g, 1, kB), "PG_lazy"), node);
  EXPECT_EQ(LabelOf(g, To(g, VmaOf(g, 1), "anon_vma")), "LAZY marker");

  auto after = Draw("anon_vma_lazy");
  const GraphSink& h = after->g;
  EXPECT_EQ(Count(h, "lazy"), 0);
  EXPECT_GE(Count(h, "anon_vma"), 1);
  EXPECT_EQ(KindOf(h, To(h, PageAt(h, 1, kA), "mapping")), "anon_vma");
  EXPECT_EQ(KindOf(h, To(h, PageAt(h, 2, kB), "mapping")), "anon_vma");
}

TEST(GraphDesign, ExternalGlobalListListsEveryVma) {
  auto p = Draw("global_list");
  const GraphSink& g = p->g;
  GraphId list = To(g, PageAt(g, 2, kB), "mapping");
  EXPECT_EQ(KindOf(g, list), "global_list");
  std::set<GraphId> vmas;
  for (const GraphEdge& e : Out(g, list, "list")) vmas.insert(e.to);
  EXPECT_EQ(vmas, (std::set<GraphId>{VmaOf(g, 1), VmaOf(g, 2)}));
}

}  // namespace
}  // namespace rmaplab
