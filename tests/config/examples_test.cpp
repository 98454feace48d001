// The built-in demo cluster and the files in examples/ parse with the strict parser and describe
// what docs/config.md says they do.

#include <fstream>
#include <set>
#include <sstream>

#include "config/default_config.hpp"
#include "tests/config/test_support.hpp"

using namespace alpaserve::config;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string examples = std::string(ALPASERVE_SOURCE_DIR) + "/examples/";

// What the model zoo will answer for the paper's models (fp16 weights, reference Table "bert"),
// so the examples are also checked against the zoo-dependent rules.
validation_hooks zoo_like_hooks() {
  validation_hooks hooks;
  const std::set<std::string> zoo = {"bert-1.3b", "bert-2.6b", "bert-6.7b",
                                     "moe-1.3b",  "moe-2.4b",  "moe-5.3b"};
  hooks.model_type_known = [zoo](const std::string& t) { return zoo.count(t) > 0; };
  hooks.policy_known = [](const std::string& p) { return p == "ours"; };
  return hooks;
}

}  // namespace

TEST_CASE("examples/local-demo.toml is byte-identical to the built-in demo config") {
  CHECK(read_file(examples + "local-demo.toml") == std::string(default_cluster_toml()));
}

TEST_CASE("the built-in demo parses strictly and is the documented local cluster") {
  auto hooks = zoo_like_hooks();
  hooks.model_weight_bytes = [](const model_config& m) -> std::optional<double> {
    return (m.type == "bert-1.3b" ? 2.6 : 5.2) * (1 << 30);
  };
  const auto cfg = default_cluster_config(hooks);
  CHECK(cfg.warnings.empty());
  CHECK(cfg.source_file == std::string(default_cluster_source_name()));
  REQUIRE(cfg.nodes.size() == 3);
  CHECK(cfg.total_devices() == 8);
  CHECK(cfg.controller_node().name == "node-0");
  CHECK(cfg.controller_node().is_worker());
  for (size_t i = 0; i < cfg.nodes.size(); ++i) {
    const auto& n = cfg.nodes[i];
    CHECK(n.host == "127.0.0.1");
    CHECK(n.port == 24710 + static_cast<int>(i));
    for (const auto& g : n.devices) {
      CHECK(g.kind == "emulated-v100");
      CHECK(g.memory_bytes == 13.0 * (1 << 30));
    }
  }
  REQUIRE(cfg.models.size() == 8);
  int small = 0;
  for (const auto& m : cfg.models) {
    CHECK(m.slo_scale == 5);
    CHECK(m.rate > 0);
    CHECK(m.rate <= 2);
    small += m.type == "bert-1.3b";
  }
  CHECK(small == 4);
  // Every node of the demo lives on this machine.
  CHECK(cfg.nodes_on_this_host({}).size() == 3);
}

TEST_CASE("examples/local-demo.toml parses from its file like the built-in text") {
  const auto cfg = load_cluster_config(examples + "local-demo.toml", zoo_like_hooks());
  CHECK(cfg.source_file == examples + "local-demo.toml");
  CHECK(cfg.nodes.size() == 3);
  CHECK(cfg.models.size() == 8);
}

TEST_CASE("examples/multi-node.toml parses strictly: 4 hosts x 8 devices, controller first") {
  const auto cfg = load_cluster_config(examples + "multi-node.toml", zoo_like_hooks());
  CHECK(cfg.warnings.empty());
  REQUIRE(cfg.nodes.size() == 4);
  CHECK(cfg.total_devices() == 32);
  CHECK(cfg.controller_node().name == "ctrl-0");
  CHECK(&cfg.controller_node() == &cfg.nodes[0]);
  for (size_t i = 0; i < cfg.nodes.size(); ++i) {
    CHECK(cfg.nodes[i].host == "10.0.0." + std::to_string(i + 1));
    CHECK(cfg.nodes[i].num_devices() == 8);
  }
  // The [[nodes.devices]] spelling of worker-3 reads the same as the inline arrays.
  CHECK(cfg.nodes[3].devices.size() == 1);
  CHECK(cfg.nodes[3].devices[0].kind == "cuda");
  // Only the machine whose address is 10.0.0.3 runs worker-2.
  const auto here = cfg.nodes_on_this_host({"10.0.0.3", "gpu-box-3"});
  REQUIRE(here.size() == 1);
  CHECK(here[0]->name == "worker-2");
  // Relative profile paths are resolved against examples/.
  const auto* custom = cfg.find_model("custom-encoder");
  REQUIRE(custom != nullptr);
  CHECK(custom->profile_file == examples + "profiles/custom-encoder.json");
  CHECK(cfg.caf.profiling_enabled());
  CHECK(cfg.caf.profiling_file_for("worker-2") == "/var/log/alpaserve/caf-profile-worker-2.txt");
  CHECK(!cfg.tls.enabled);
}
