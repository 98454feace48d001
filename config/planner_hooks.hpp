#pragma once
// Validation hooks backed by the planner: model types are zoo architectures, a model's weight
// is its fp16 parameter bytes, and policies are those of the policy registry.

#include "config/config_parser.hpp"

namespace alpaserve::config {

[[nodiscard]] validation_hooks planner_validation_hooks();

}  // namespace alpaserve::config
