#include <catch2/catch.hpp>

#include <stdexcept>

#include "actors/deployment.hpp"
#include "planner/reference_profiles.hpp"

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

  planner::placement op2;
  op2.group_configs = {{1, 2, 1}};  // two intra-op devices on n0 (1 device) + n1: straddles
  op2.group_models = {{0}};
  CHECK_THROWS_AS(actors::layout_groups(op2, nodes), std::invalid_argument);
}

TEST_CASE("spanning_pipeline_placement replicates models while memory allows") {
  std::vector<planner::model_data> models = {
      model("alpa/bert-2.6b", "a"), model("alpa/bert-1.3b", "b"), model("test-4GB-150ms", "c")};
  planner::cluster_env env;
  env.num_devices = 5;
  env.mem_budget = 4.0 * planner::gib;
  auto p = actors::spanning_pipeline_placement(models, env, 2);
  REQUIRE(p.num_groups() == 3);  // 2 + 2 + 1 devices
  CHECK(p.group_configs[2].pp == 1);
  CHECK(planner::placement_problems(p, models, env).empty());
  // Every model placed at least once, and on the first group it fits in.
  for (int m = 0; m < 3; ++m) {
    int replicas = 0;
    for (const auto& g : p.group_models)
      replicas += static_cast<int>(std::count(g.begin(), g.end(), m));
    CHECK(replicas >= 1);
  }
  // Deterministic.
  CHECK(actors::spanning_pipeline_placement(models, env, 2) == p);
  const auto& lat =
      actors::group_stage_latency(actors::group_layout{0, {1, 1, 2}, {}, {}}, models[1]);
  CHECK(lat == std::vector<double>{0.051, 0.052});
}
