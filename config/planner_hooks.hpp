#pragma once
// Validation hooks backed by the planner: model types are zoo architectures or the reference's
// test profiles (`alpa/bert-1.3b`, `test-2GB-100ms`, ...), a model's weight is its fp16
// parameter bytes (zoo) or its profiled weight memory (reference), and policies are those of the
// policy registry (planner/policy/policy_registry.hpp; "ours" is the default).

#include <string>

#include "config/config_parser.hpp"
#include "planner/profile/profile.hpp"

namespace alpaserve::config {

[[nodiscard]] validation_hooks planner_validation_hooks();

// The reference test profile a config `type` names: "alpa/bert-1.3b", "test-2GB-100ms", ...
// Null when `type` is not one (zoo types are resolved by the calibrated cost model instead).
[[nodiscard]] const planner::model_profile* reference_type_profile(const std::string& type);

// The placement policy the runtime runs for the configured name: the name itself when the
// registry knows it, else "mp-search-sep" (a policy name a newer config may use).
[[nodiscard]] std::string effective_policy(const std::string& configured);

// "v100", "a100" or "h100": planner.device_preset, else derived from the first emulated device
// kind ("emulated-a100" -> "a100"), else "v100".
[[nodiscard]] std::string effective_device_preset(const cluster_config& cfg);

}  // namespace alpaserve::config
