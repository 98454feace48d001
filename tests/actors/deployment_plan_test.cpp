#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "actors/deployment_plan.hpp"
#include "actors/real_stage.hpp"
#include "planner/profile/model_zoo.hpp"
#include "planner/profile/reference_profiles.hpp"

using namespace alpaserve;
using actors::pipeline_link;

namespace {

planner::model_data model(const std::string& type, const std::string& name) {
  planner::model_data m;
  m.name = name;
  m.profile = *planner::reference_test_profiles().find(type);
  m.slo = 1.0;
  return m;
}

actors::node_devices node(const std::string& name, int devices) {
  return {name, devices, 13.0 * planner::gib, "emulated-v100"};
}

std::vector<actors::group_layout> layouts(std::vector<planner::parallel_config> configs,
                                          std::vector<std::vector<int>> models,
                                          const std::vector<actors::node_devices>& nodes,
                                          int first_group_id = 0) {
  planner::placement p;
  p.group_configs = std::move(configs);
  p.group_models = std::move(models);
  auto out = actors::layout_groups(p, nodes);
  for (auto& g : out) g.group += first_group_id;  // as the controller numbers generations
  return out;
}

const std::vector<double>& latency(const planner::model_data& m, planner::parallel_config c) {
  return m.profile.find(c)->stage_latency(1);
}

bool same_links(const std::vector<pipeline_link>& a, const std::vector<pipeline_link>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].group_index != b[i].group_index || a[i].from_stage != b[i].from_stage ||
        a[i].to_stage != b[i].to_stage)
      return false;
  return true;
}

}  // namespace

TEST_CASE("deployment plan: two groups on two nodes, one pipeline spanning them") {
  const std::vector<actors::node_devices> nodes = {node("n0", 1), node("n1", 2)};
  const std::vector<planner::model_data> models = {model("test-2GB-100ms", "a"),
                                                   model("test-4GB-150ms", "b")};
  const auto groups = layouts({{1, 1, 2}, {1, 1, 1}}, {{0, 1}, {1}}, nodes, 10);
  const auto plan = actors::plan_deployment(groups, nodes, models, {});

  CHECK(plan.backend == "emulated");
  REQUIRE(plan.groups.size() == 2);
  const auto& spanning = plan.groups[0];
  CHECK(spanning.group == 10);
  CHECK(spanning.description == "(1,1,2) on n0:0 | n1:0");
  CHECK(spanning.models == std::vector<int>{0, 1});
  CHECK(spanning.failed_models.empty());
  REQUIRE(spanning.stages.size() == 2);
  for (int k = 0; k < 2; ++k) {
    const auto& st = spanning.stages[static_cast<size_t>(k)];
    CHECK(st.node == k);
    CHECK(st.node_name == nodes[static_cast<size_t>(k)].name);
    CHECK(st.devices == std::vector<int>{0});
    CHECK(st.stage == k);
    CHECK(st.num_stages == 2);
    CHECK_FALSE(st.recv_over_nccl);  // emulated devices: activations are bytes
    CHECK_FALSE(st.send_over_nccl);
    CHECK(st.next_op == 0);
    REQUIRE(st.shards.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      const auto& shard = st.shards[i];
      CHECK(shard.model == models[i].name);
      CHECK(shard.latency_s == latency(models[i], {1, 1, 2})[static_cast<size_t>(k)]);
      CHECK(shard.weight_bytes ==
            models[i].profile.find({1, 1, 2})->weight_mem[static_cast<size_t>(k)]);
      CHECK(shard.architecture.empty());  // emulated: no layers to split
      CHECK(shard.layer_end == 0);
    }
  }
  CHECK(spanning.stages[0].shards[1].latency_s > spanning.stages[0].shards[0].latency_s);

  const auto& single = plan.groups[1];
  CHECK(single.group == 11);
  REQUIRE(single.stages.size() == 1);
  CHECK(single.stages[0].node_name == "n1");
  CHECK(single.stages[0].devices == std::vector<int>{1});
  REQUIRE(single.stages[0].shards.size() == 1);
  CHECK(single.stages[0].shards[0].model == "b");
  CHECK(single.stages[0].shards[0].latency_s == latency(models[1], {1, 1, 1})[0]);

  const int mgr = pipeline_link::to_group_manager;
  CHECK(same_links(plan.wiring, {{0, 0, 1}, {0, 1, mgr}, {1, 0, mgr}}));
  CHECK(plan.retire.empty());  // no previous generation given
}

TEST_CASE("deployment plan: a real backend leaves out a model without an architecture") {
  const std::vector<actors::node_devices> nodes = {node("n0", 2)};
  std::vector<planner::model_data> models = {model("test-2GB-100ms", "good"),
                                             model("test-2GB-100ms", "bare"),
                                             model("test-2GB-100ms", "typo")};
  actors::deployment_backend cpu;
  cpu.name = "cpu";
  cpu.real_models["good"] = {"bert-tiny", 7, "/weights/good.safetensors", ""};
  cpu.real_models["typo"] = {"bert-tinyy", 1, "", ""};
  const auto groups = layouts({{1, 1, 2}}, {{0, 1, 2}}, nodes);
  auto plan = actors::plan_deployment(groups, nodes, models, cpu);

  REQUIRE(plan.groups.size() == 1);
  const auto& g = plan.groups[0];
  REQUIRE(g.failed_models.size() == 2);
  CHECK(g.failed_models.at("bare") == "model 'bare' has no real architecture for the cpu backend");
  CHECK_THAT(g.failed_models.at("typo"),
             Catch::Contains("has no real architecture for the cpu backend") &&
                 Catch::Contains("unknown architecture 'bert-tinyy'"));
  const int layers = planner::find_zoo_model("bert-tiny")->layers;
  const auto even = actors::real_stage_boundaries(nullptr, layers, 2);
  REQUIRE(g.stages.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    REQUIRE(g.stages[k].shards.size() == 1);  // the group serves its other model
    const auto& shard = g.stages[k].shards[0];
    CHECK(shard.model == "good");
    CHECK(shard.architecture == "bert-tiny");
    CHECK(shard.seed == 7);
    CHECK(shard.weights_path == "/weights/good.safetensors");
    CHECK(shard.layer_begin == even[k]);
    CHECK(shard.layer_end == even[k + 1]);
  }
  CHECK(g.stages[0].shards[0].layer_begin == 0);
  CHECK(g.stages[0].shards[0].layer_end == g.stages[1].shards[0].layer_begin);
  CHECK(g.stages[1].shards[0].layer_end == layers);

  // Measured boundaries in the profile win over the even split.
  models[0].profile.configs[{1, 1, 2}].boundaries = {0, 3, layers};
  plan = actors::plan_deployment(groups, nodes, models, cpu);
  CHECK(plan.groups[0].stages[0].shards[0].layer_end == 3);
  CHECK(plan.groups[0].stages[1].shards[0].layer_begin == 3);

  // Emulated devices need no architecture: every model is placed.
  plan = actors::plan_deployment(groups, nodes, models, {});
  CHECK(plan.groups[0].failed_models.empty());
  CHECK(plan.groups[0].stages[0].shards.size() == 3);

  // More stages than the architecture has layers: that model fails, not the plan.
  std::vector<actors::node_devices> eight = {node("n0", 8)};
  std::vector<planner::model_data> big = {model("alpa/bert-1.3b", "good")};
  plan = actors::plan_deployment(layouts({{1, 1, 8}}, {{0}}, eight), eight, big, cpu);
  CHECK_THAT(plan.groups[0].failed_models.at("good"), Catch::Contains("cannot split 4 layers"));
  CHECK(plan.groups[0].stages[3].shards.empty());
}

TEST_CASE("deployment plan: NCCL activation links only for cuda stages in a build with NCCL") {
  // A (1,2,2) group on two nodes of two devices: each stage holds one node's two devices.
  planner::model_data m;
  m.name = "tp";
  m.slo = 1;
  m.profile.configs[{1, 2, 2}].add_result(1, {0.05, 0.06}, {1e9, 1e9});
  const std::vector<planner::model_data> models = {m};
  const std::vector<actors::node_devices> nodes = {node("n0", 2), node("n1", 2)};
  const auto groups = layouts({{1, 2, 2}}, {{0}}, nodes);

  actors::deployment_backend b;
  b.real_models["tp"] = {"bert-tiny", 1, "", ""};
  b.name = "cuda";
  b.have_nccl = true;
  auto plan = actors::plan_deployment(groups, nodes, models, b);
  auto stages = plan.groups.at(0).stages;
  REQUIRE(stages.size() == 2);
  CHECK(stages[0].devices == std::vector<int>{0, 1});
  CHECK(stages[1].node_name == "n1");
  CHECK(stages[0].send_over_nccl);
  CHECK(stages[0].next_op == 2);  // the leader sends to both ranks of stage 1
  CHECK_FALSE(stages[0].recv_over_nccl);
  CHECK(stages[1].recv_over_nccl);
  CHECK_FALSE(stages[1].send_over_nccl);  // the last stage answers through the actors
  CHECK(stages[1].next_op == 0);

  const std::vector<std::pair<std::string, bool>> host_only = {
      {"cpu", true}, {"cuda", false} /* a build without NCCL */, {"emulated", true}};
  for (const auto& [backend, nccl] : host_only) {
    INFO(backend << " nccl " << nccl);
    b.name = backend;
    b.have_nccl = nccl;
    plan = actors::plan_deployment(groups, nodes, models, b);
    for (const auto& st : plan.groups.at(0).stages) {
      CHECK_FALSE(st.send_over_nccl);
      CHECK_FALSE(st.recv_over_nccl);
      CHECK(st.next_op == 0);
      CHECK(st.shards.size() == 1);
    }
  }
}

TEST_CASE("deployment plan: the previous generation's retire list names its own nodes") {
  const std::vector<planner::model_data> models = {model("test-2GB-100ms", "a")};
  actors::generation_layout old;
  old.nodes = {node("n0", 1), node("n1", 3)};
  old.groups = layouts({{1, 1, 2}, {1, 1, 2}}, {{0}, {0}}, old.nodes);  // n0|n1 and n1|n1
  // n0 was lost: the new generation lives on n1 alone, where n1 is node index 0.
  const std::vector<actors::node_devices> alive = {node("n1", 3)};
  const auto next = layouts({{1, 1, 2}}, {{0}}, alive, 2);
  const auto plan = actors::plan_deployment(next, alive, models, {}, &old);

  REQUIRE(plan.groups.size() == 1);
  CHECK(plan.groups[0].group == 2);
  REQUIRE(plan.retire.size() == 2);
  CHECK(plan.retire[0].group == 0);
  CHECK(plan.retire[0].nodes == std::vector<std::string>{"n0", "n1"});
  CHECK(plan.retire[1].group == 1);
  CHECK(plan.retire[1].nodes == std::vector<std::string>{"n1"});  // each agent told once

  // An abandoned new generation retires the same way.
  const auto abandoned = actors::retirements({next, alive});
  REQUIRE(abandoned.size() == 1);
  CHECK(abandoned[0].group == 2);
  CHECK(abandoned[0].nodes == std::vector<std::string>{"n1"});

  actors::generation_layout broken = old;
  broken.nodes.pop_back();  // group 0's stage 1 now points past the node list
  CHECK_THROWS_WITH(actors::retirements(broken), Catch::Contains("node index 1 is out of range"));
}

TEST_CASE("deployment plan: bad layouts are refused before anything is sent") {
  const std::vector<actors::node_devices> nodes = {node("n0", 4)};
  const std::vector<planner::model_data> models = {model("alpa/bert-2.6b", "big")};
  // bert-2.6b has no (1,1,4) profile.
  CHECK_THROWS_WITH(actors::plan_deployment(layouts({{1, 1, 4}}, {{0}}, nodes), nodes, models, {}),
                    Catch::Contains("'big'") && Catch::Contains("(1,1,4)"));
  CHECK_THROWS_WITH(actors::plan_deployment(layouts({{1, 1, 2}}, {{3}}, nodes), nodes, models, {}),
                    Catch::Contains("model id 3 is out of range"));
  auto twice = layouts({{1, 1, 2}, {1, 1, 2}}, {{0}, {0}}, nodes);
  twice[1].group = twice[0].group;
  CHECK_THROWS_WITH(actors::plan_deployment(twice, nodes, models, {}),
                    Catch::Contains("used twice"));
  // A profile whose stage count disagrees with the layout.
  std::vector<planner::model_data> odd = models;
  odd[0].profile.configs[{1, 1, 2}].weight_mem.push_back(1);
  CHECK_THROWS_WITH(actors::plan_deployment(layouts({{1, 1, 2}}, {{0}}, nodes), nodes, odd, {}),
                    Catch::Contains("profiled with 3 stages"));
}

TEST_CASE(
    "deployment plan: a model folder's definition gives the layers and travels to the shards") {
  const std::vector<actors::node_devices> nodes = {node("n0", 2)};
  std::vector<planner::model_data> models = {model("test-2GB-100ms", "mine"),
                                             model("test-2GB-100ms", "broken")};
  actors::deployment_backend cpu;
  cpu.name = "cpu";
  const std::string def =
      R"({"kind": "bert", "hidden": 64, "heads": 4, "layers": 6, "vocab": 10, "seq_len": 8})";
  cpu.real_models["mine"] = {"", 0, "/m/model.safetensors", def};
  cpu.real_models["broken"] = {"", 0, "/b/model.safetensors", R"({"kind": "bert"})"};
  const auto groups = layouts({{1, 1, 2}}, {{0, 1}}, nodes);
  const auto plan = actors::plan_deployment(groups, nodes, models, cpu);
  const auto& g = plan.groups.at(0);
  CHECK_THAT(g.failed_models.at("broken"), Catch::Contains("key 'hidden': missing required key"));
  REQUIRE(g.stages.size() == 2);
  const auto& s0 = g.stages[0].shards.at(0);
  const auto& s1 = g.stages[1].shards.at(0);
  CHECK(s0.definition == def);
  CHECK(s0.weights_path == "/m/model.safetensors");
  CHECK(s0.layer_begin == 0);
  CHECK(s0.layer_end == 3);  // 6 layers from the definition, split evenly
  CHECK(s1.layer_end == 6);
  CHECK(actors::real_model_spec_of("", def, 0, "mine").layers == 6);
}
