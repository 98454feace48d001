// The planner-backed validation hooks and the runtime's policy / device-preset choices.

#include <catch2/catch.hpp>

#include "config/planner_hooks.hpp"
#include "planner/policy/policy_registry.hpp"
#include "tests/config/test_support.hpp"

using namespace alpaserve::config;

TEST_CASE("planner hooks know the registry's policies and ours, nothing else") {
  const auto hooks = planner_validation_hooks();
  CHECK(hooks.policy_known("ours"));
  CHECK(hooks.policy_known("mp-search-sep"));
  CHECK(hooks.policy_known("sr-greedy"));
  CHECK_FALSE(hooks.policy_known("mp-nonsense"));
  const auto text = std::string(testing::valid_cluster) + "[planner]\npolicy = \"fastest\"\n";
  testing::require_issue(testing::issues_of(text, hooks), 27, "planner.policy",
                         "unknown placement policy");
}

TEST_CASE("the runtime falls back to mp-search-sep only for an unregistered policy") {
  CHECK(effective_policy("sr-greedy") == "sr-greedy");
  CHECK(effective_policy("ours") ==
        (alpaserve::planner::is_known_policy("ours") ? "ours" : "mp-search-sep"));
}

TEST_CASE("planner hooks know zoo types and the reference's test profiles") {
  const auto hooks = planner_validation_hooks();
  CHECK(hooks.model_type_known("bert-1.3b"));
  CHECK(hooks.model_type_known("moe-2.4b"));
  CHECK(hooks.model_type_known("alpa/bert-2.6b"));
  CHECK(hooks.model_type_known("test-2GB-100ms"));
  CHECK_FALSE(hooks.model_type_known("bert-1.3"));
  model_config m;
  m.type = "test-2GB-100ms";
  REQUIRE(hooks.model_weight_bytes(m).has_value());
  CHECK(*hooks.model_weight_bytes(m) == Approx(2.0 * (1 << 30)));
  m.type = "bert-1.3b";
  CHECK(*hooks.model_weight_bytes(m) > 2.0e9);
  REQUIRE(reference_type_profile("alpa/bert-1.3b") != nullptr);
  CHECK(reference_type_profile("bert-1.3b") == nullptr);  // the zoo's, not the reference's
}

TEST_CASE("the device preset comes from the config or the emulated device kind") {
  cluster_config cfg;
  node_config n;
  n.devices.push_back({"emulated-a100", 2, 1e9});
  cfg.nodes.push_back(n);
  CHECK(effective_device_preset(cfg) == "a100");
  cfg.planner.device_preset = "h100";
  CHECK(effective_device_preset(cfg) == "h100");
  cfg.planner.device_preset.clear();
  cfg.nodes[0].devices[0].kind = "cpu";
  CHECK(effective_device_preset(cfg) == "v100");
}
