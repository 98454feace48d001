// `alpaserve inspect`: every actor of a running cluster, node by node, found through each
// node's registry (node agent) and asked for its status.

#include <iostream>

#include <fmt/format.h>

#include "tools/cluster_launch.hpp"
#include "tools/command_registry.hpp"
#include "tools/endpoint_options.hpp"

namespace alpaserve::tools {
namespace {

struct inspect_args {
  std::string config;
  bool shards = true;
};

int run_inspect(const inspect_args& a) {
  const auto cfg = load_config_or_demo(a.config);
  net::client_options o;
  o.connect_dispatcher = false;
  o.caf = client_caf_settings(cfg);
  net::client c(o);
  int unreachable = 0;
  for (const auto& node : cfg.nodes) {
    std::cout << fmt::format("== {} ({}:{})\n", node.name, node.host, node.port);
    net::cluster_status st;
    try {
      st = c.node_status(node.host, node.port);
    } catch (const std::exception& e) {
      std::cout << "   unreachable: " << e.what() << "\n";
      ++unreachable;
      continue;
    }
    for (const auto& act : st.actors) {
      std::string counters;
      for (const auto& cv : act.counters)
        counters += fmt::format("{}{}={:g}", counters.empty() ? "" : " ", cv.name, cv.value);
      std::cout << fmt::format("   {:<14} {:<44} state={:<10} queue={:<4} {}\n", act.role, act.name,
                               act.state, act.queue_length, counters);
      if (a.shards)
        for (const auto& s : act.shards) std::cout << "      shard " << s << "\n";
    }
  }
  return unreachable == 0 ? 0 : 1;
}

void add_inspect(CLI::App& app, run_fn& run) {
  auto args = std::make_shared<inspect_args>();
  auto* sub = app.add_subcommand(
      "inspect",
      "List every actor of a running cluster (node, role, state, queue length, loaded shards, "
      "counters), looked up through each node's registry. Exit 1 if a node is unreachable.");
  sub->add_option("--config", args->config, "cluster config; default: built-in demo");
  sub->add_flag("!--no-shards", args->shards, "do not list the loaded shards");
  sub->callback([&run, args] { run = [args] { return run_inspect(*args); }; });
}

const command_registration registration{"inspect", 80, &add_inspect};

}  // namespace
}  // namespace alpaserve::tools
