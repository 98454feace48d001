#include "config/planner_hooks.hpp"

#include "planner/model_zoo.hpp"

namespace alpaserve::config {

validation_hooks planner_validation_hooks() {
  validation_hooks hooks;
  hooks.model_type_known = [](const std::string& type) {
    return planner::find_zoo_model(type) != nullptr;
  };
  hooks.model_weight_bytes = [](const model_config& m) -> std::optional<double> {
    const auto* arch = planner::find_zoo_model(m.type);
    if (arch == nullptr) return std::nullopt;  // profile files are checked when loaded
    return 2.0 * planner::parameter_count(*arch);  // fp16 weights
  };
  return hooks;
}

}  // namespace alpaserve::config
