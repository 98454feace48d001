// `alpaserve node --config F --name N`: run one node of the cluster in this process.

#include "tools/cli_checks.hpp"
#include "tools/cluster_launch.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

struct node_args {
  std::string config;
  std::string name;
  std::string placement;
  double startup_timeout_s = 60;
  std::string profile_scheduler;
};

void add_node(CLI::App& app, run_fn& run) {
  auto args = std::make_shared<node_args>();
  auto* sub = app.add_subcommand(
      "node",
      "Run one node of a cluster: its node agent (devices, stage workers) and, on the controller "
      "node, the controller and the dispatcher. Runs until SIGINT/SIGTERM.");
  sub->add_option("--config", args->config, "cluster config file (TOML); default: built-in demo");
  sub->add_option("--name", args->name, "this node's name in the config")->required();
  sub->add_option("--placement", args->placement,
                  "placement file (JSON, docs/placement-format.md) the controller realizes "
                  "instead of running a policy");
  sub->add_option("--startup-timeout", args->startup_timeout_s,
                  "seconds a worker waits for the controller to come up, and looks it up "
                  "again after losing it before it gives up")
      ->check(finite_positive)
      ->capture_default_str();
  sub->add_option("--profile-scheduler", args->profile_scheduler,
                  "write CAF's scheduler profile (per-worker and per-actor CPU and memory "
                  "samples) to this file; {node} becomes the node name (overrides "
                  "caf.profiling_output_file)");
  sub->callback([&run, args] {
    run = [args] {
      // A worker-only node never reads a model folder (its stages get the definition from the
      // controller, the weights from the file or over CAF), so it may run where the folders are
      // not: their checks are left to the nodes that read them.
      auto cfg = load_config_or_demo(args->config, /*check_model_folders=*/false);
      const config::node_config* me = nullptr;
      for (const auto& n : cfg.nodes)
        if (n.name == args->name) me = &n;
      if (me == nullptr || me->is_controller() || &cfg.dispatcher_node() == me)
        cfg = load_config_or_demo(args->config);
      if (!args->profile_scheduler.empty()) cfg.caf.profiling_output_file = args->profile_scheduler;
      auto launch = make_node_launch(cfg, args->name, args->placement);
      launch.startup_timeout_s = args->startup_timeout_s;
      return actors::run_node(launch);
    };
  });
}

const command_registration registration{"node", 50, &add_node};

}  // namespace
}  // namespace alpaserve::tools
