#pragma once
// From the cluster config file to what one node process runs: the models with their profiles
// and SLOs (zoo types on the config's device preset, the reference's test profiles, or profile
// files), the placement (a placement file, or the configured policy of the planner's registry
// solved on a train workload from the configured rates), and the node's own settings.

#include <optional>
#include <string>
#include <vector>

#include "actors/node_runtime.hpp"
#include "config/cluster_config.hpp"
#include "config/config_parser.hpp"

namespace alpaserve::tools {

// Hooks for the config parser: model types the runtime can profile, policy names it accepts.
[[nodiscard]] config::validation_hooks runtime_validation_hooks();
// What is wrong with a model folder (model.json unreadable or invalid, weights file missing, a
// tensor missing / mis-shaped / of an unsupported dtype), or nullopt when it can be served.
[[nodiscard]] std::optional<std::string> model_folder_problem(const std::string& folder);

// Loads `path`, or the built-in demo config when path is empty. Throws config_error.
[[nodiscard]] config::cluster_config load_config_or_demo(const std::string& path,
                                                        bool check_model_folders = true);

// Profiles of every `type` of the config, named by type: zoo types computed on the device
// preset (config::effective_device_preset), reference test profiles as they are.
[[nodiscard]] planner::profile_db type_profiles(const config::cluster_config& cfg);

// Every configured model with its profile and absolute SLO. Throws input_error.
[[nodiscard]] std::vector<planner::model_data> resolve_models(const config::cluster_config& cfg);

// `policy_name`'s placement of `models` on `cluster`, tuned on gen_train_workload(models)
// (the models' configured rates and CVs). Throws input_error. For a time-segmented policy
// (sr-replace-<s>) this is the first window's: what recovery re-places with.
[[nodiscard]] planner::placement solve_placement(const std::string& policy_name,
                                                 const std::vector<planner::model_data>& models,
                                                 const planner::cluster_env& cluster);
// The policy's whole result: its windows (sr-replace-<s>, Clockwork++) or one window starting at
// 0. The controller's first placement comes from here (docs/runtime.md "Time windows").
[[nodiscard]] planner::placement_with_replacement solve_schedule(
    const std::string& policy_name, const std::vector<planner::model_data>& models,
    const planner::cluster_env& cluster);
// Where the controller of the config at `config_path` writes the schedule a time-segmented
// policy computed (a placement file with segments, for `simulate`): <stem>.windows.json next to
// the config.
[[nodiscard]] std::string windows_file_path(const std::string& config_path);

// Everything node `name` needs to run. `placement_file` (the --placement flag) overrides
// the config's planner.placement_file; both may be empty. Throws input_error.
[[nodiscard]] actors::node_launch make_node_launch(const config::cluster_config& cfg,
                                                   const std::string& name,
                                                   const std::string& placement_file);

// The device backend the cluster's worker nodes run ("cpu", "cuda" or "emulated"); throws
// input_error when worker nodes mix real and emulated devices.
[[nodiscard]] std::string cluster_backend(const config::cluster_config& cfg);

// The runtime's CAF settings from the config's [caf] table, for `node`, with the node's TLS
// material when tls.enabled (validated: throws planner::input_error naming the file).
[[nodiscard]] net::runtime_settings caf_settings(const config::cluster_config& cfg,
                                                 const std::string& node_name);

// With tls.enabled, checks the TLS material of `nodes` (and of clients when `client`) as they
// will at start, so `up` fails before any child starts. Throws planner::input_error naming the
// files at fault.
void require_transport_material(const config::cluster_config& cfg,
                                const std::vector<const config::node_config*>& nodes, bool client);

// Client-side CAF settings (few threads, no profiling; the client TLS material when
// tls.enabled, validated: throws planner::input_error).
[[nodiscard]] net::runtime_settings client_caf_settings(const config::cluster_config& cfg);

}  // namespace alpaserve::tools
