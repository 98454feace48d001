#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "actors/deployment.hpp"
#include "planner/profile/reference_profiles.hpp"

using namespace alpaserve;

namespace {

planner::model_data model(const std::string& type, const std::string& name) {
  planner::model_data m;
  m.name = name;
  m.profile = *planner::reference_test_profiles().find(type);
  m.slo = 1.0;
  return m;
}

}  // namespace

TEST_CASE("layout_groups walks devices in node order so groups span nodes") {
  std::vector<actors::node_devices> nodes = {{"n0", 1, 13.0 * planner::gib, "emulated-v100"},
                                             {"n1", 2, 13.0 * planner::gib, "emulated-v100"},
                                             {"n2", 1, 13.0 * planner::gib, "emulated-v100"}};
  planner::placement p;
  p.group_configs = {{1, 1, 2}, {1, 1, 2}};
  p.group_models = {{0}, {0}};
  auto layout = actors::layout_groups(p, nodes);
  REQUIRE(layout.size() == 2);
  CHECK(layout[0].stages[0].node == 0);
  CHECK(layout[0].stages[1].node == 1);
  CHECK(layout[1].stages[0].node == 1);
  CHECK(layout[1].stages[0].local_devices == std::vector<int>{1});
  CHECK(layout[1].stages[1].node == 2);
  CHECK(actors::describe_group(layout[1], nodes) == "(1,1,2) on n1:1 | n2:0");

  p.group_configs.push_back({1, 1, 1});
  p.group_models.push_back({0});
  CHECK_THROWS_AS(actors::layout_groups(p, nodes), std::invalid_argument);  // 5 devices > 4

  planner::placement op4;
  op4.group_configs = {{1, 4, 1}};  // four intra-op devices: no node has four
  op4.group_models = {{0}};
  CHECK_THROWS_AS(actors::layout_groups(op4, nodes), std::invalid_argument);
}

TEST_CASE("layout_groups packs stages when device order would split intra-op devices") {
  std::vector<actors::node_devices> nodes = {{"n0", 1, 13.0 * planner::gib, "emulated-v100"},
                                             {"n1", 2, 13.0 * planner::gib, "emulated-v100"},
                                             {"n2", 1, 13.0 * planner::gib, "emulated-v100"}};
  planner::placement op2;
  op2.group_configs = {{1, 2, 1}};  // device order would give n0:0 + n1:0
  op2.group_models = {{0}};
  auto layout = actors::layout_groups(op2, nodes);
  REQUIRE(layout.size() == 1);
  CHECK(layout[0].stages[0].node == 1);
  CHECK(actors::describe_group(layout[0], nodes) == "(1,2,1) on n1:0,1");

  // 4 nodes x 4 devices; a (1,1,1) first pushes the (1,2,2) and (1,4,1) groups off alignment.
  std::vector<actors::node_devices> four;
  for (int n = 0; n < 4; ++n)
    four.push_back({"n" + std::to_string(n), 4, 13.0 * planner::gib, "emulated-v100"});
  planner::placement p;
  p.group_configs = {{1, 1, 1}, {1, 2, 2}, {1, 4, 1}, {1, 1, 2}, {1, 2, 1}, {1, 1, 3}};
  p.group_models = {{0}, {0}, {0}, {0}, {0}, {0}};
  layout = actors::layout_groups(p, four);
  REQUIRE(layout.size() == 6);
  std::vector<std::vector<int>> used(4);
  for (const auto& g : layout) {
    REQUIRE(static_cast<int>(g.stages.size()) == g.config.pp);
    for (const auto& st : g.stages) {
      CHECK(static_cast<int>(st.local_devices.size()) == g.config.op);
      for (int d : st.local_devices) used[static_cast<size_t>(st.node)].push_back(d);
    }
  }
  for (auto& u : used) {  // every device used at most once
    std::sort(u.begin(), u.end());
    CHECK(std::adjacent_find(u.begin(), u.end()) == u.end());
    for (int d : u) CHECK((d >= 0 && d < 4));
  }
  // The group's second stage stays on its first stage's node when it fits.
  CHECK(layout[1].stages[0].node == layout[1].stages[1].node);
}
