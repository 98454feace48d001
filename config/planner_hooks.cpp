#include "config/planner_hooks.hpp"

#include "planner/policy/policy_registry.hpp"
#include "planner/profile/model_zoo.hpp"
#include "planner/profile/reference_profiles.hpp"

namespace alpaserve::config {

const planner::model_profile* reference_type_profile(const std::string& type) {
  static const planner::profile_db db = planner::reference_test_profiles();
  return db.find(type);
}

std::string effective_policy(const std::string& configured) {
  return planner::is_known_policy(configured) ? configured : std::string("mp-search-sep");
}

std::string effective_device_preset(const cluster_config& cfg) {
  if (!cfg.planner.device_preset.empty()) return cfg.planner.device_preset;
  constexpr std::string_view prefix = "emulated-";
  for (const auto& n : cfg.nodes)
    for (const auto& g : n.devices)
      if (g.kind.compare(0, prefix.size(), prefix) == 0) return g.kind.substr(prefix.size());
  return "v100";
}

validation_hooks planner_validation_hooks() {
  validation_hooks hooks;
  hooks.model_type_known = [](const std::string& type) {
    return planner::find_zoo_model(type) != nullptr || reference_type_profile(type) != nullptr;
  };
  hooks.policy_known = [](const std::string& policy) {
    return policy == "ours" || planner::is_known_policy(policy);
  };
  hooks.model_weight_bytes = [](const model_config& m) -> std::optional<double> {
    if (const auto* arch = planner::find_zoo_model(m.type))
      return 2.0 * planner::parameter_count(*arch);  // fp16 weights
    if (const auto* prof = reference_type_profile(m.type)) {
      if (const auto* c = prof->find({1, 1, 1})) {
        double sum = 0;
        for (double w : c->weight_mem) sum += w;
        return sum;
      }
    }
    return std::nullopt;  // profile files are checked when loaded
  };
  return hooks;
}

}  // namespace alpaserve::config
