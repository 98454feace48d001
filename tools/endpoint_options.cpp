#include "tools/endpoint_options.hpp"

#include "tools/cli_checks.hpp"
#include "tools/cluster_launch.hpp"

namespace alpaserve::tools {

void endpoint_options::add_to(CLI::App* sub) {
  sub->add_option("--config", config,
                  "cluster config (the dispatcher's node is contacted); default: built-in demo");
  sub->add_option("--host", host, "the dispatcher's node host (overrides --config)");
  sub->add_option("--port", port, "the dispatcher's node port (overrides --config)")
      ->check(CLI::Range(1, 65535));
  sub->add_option("--timeout", timeout_s, "seconds before a request fails on the client side")
      ->check(finite_positive)
      ->capture_default_str();
}

net::client_options endpoint_options::client() const {
  net::client_options o;
  o.request_timeout_s = timeout_s;
  if (!host.empty() && port > 0 && config.empty()) {  // no config: plain text
    o.host = host;
    o.port = port;
    return o;
  }
  const auto cfg = load_config_or_demo(config);
  o.host = host.empty() ? cfg.dispatcher_node().host : host;
  o.port = port > 0 ? port : cfg.dispatcher_node().port;
  o.caf = client_caf_settings(cfg);
  return o;
}

}  // namespace alpaserve::tools
