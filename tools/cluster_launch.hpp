#pragma once
// From the cluster config file to what one node process runs: the models with their profiles
// and SLOs, the placement (a placement file, or the built-in spanning-pipeline placement until
// the planner's policy registry is wired in), and the node's own settings.

#include <string>
#include <vector>

#include "actors/node_runtime.hpp"
#include "config/cluster_config.hpp"
#include "config/config_parser.hpp"

namespace alpaserve::tools {

// Hooks for the config parser: model types the runtime can profile, policy names it accepts.
[[nodiscard]] config::validation_hooks runtime_validation_hooks();

// Loads `path`, or the built-in demo config when path is empty. Throws config_error.
[[nodiscard]] config::cluster_config load_config_or_demo(const std::string& path);

// Every configured model with its profile and absolute SLO. Throws input_error.
[[nodiscard]] std::vector<planner::model_data> resolve_models(const config::cluster_config& cfg);

// Everything node `name` needs to run. `placement_file` may be empty. Throws input_error.
[[nodiscard]] actors::node_launch make_node_launch(const config::cluster_config& cfg,
                                                   const std::string& name,
                                                   const std::string& placement_file);

// The device backend the cluster's worker nodes run ("cpu", "cuda" or "emulated"); throws
// input_error when worker nodes mix real and emulated devices.
[[nodiscard]] std::string cluster_backend(const config::cluster_config& cfg);

// The runtime's CAF settings from the config's [caf] table, for `node`.
[[nodiscard]] net::runtime_settings caf_settings(const config::cluster_config& cfg,
                                                 const std::string& node_name);

// Client-side CAF settings (few threads, no profiling) and the controller's endpoint.
[[nodiscard]] net::runtime_settings client_caf_settings(const config::cluster_config& cfg);

}  // namespace alpaserve::tools
