#include "planner/policy/placement_policy.hpp"

#include <stdexcept>

#include "planner/core/input_error.hpp"
#include "planner/workload/train_workload.hpp"

namespace alpaserve::planner {

const placement& policy_result::first_placement() const {
  if (const auto* p = std::get_if<placement>(&solution)) return *p;
  const auto& r = std::get<placement_with_replacement>(solution);
  if (r.placements.empty()) throw std::logic_error("replacement solution without segments");
  return r.placements.front();
}

workload train_or_generate(const std::vector<model_data>& models, const workload* train) {
  return train != nullptr ? *train : gen_train_workload(models);
}

void check_solvable(const std::string& policy, const std::vector<model_data>& models,
                    const cluster_env& cluster) {
  if (cluster.num_devices <= 0)
    throw input_error("policy " + policy, "devices",
                      "the cluster has " + std::to_string(cluster.num_devices) +
                          " devices; at least one is needed");
  if (models.empty()) throw input_error("policy " + policy, "models", "no model to place");
  if (!(cluster.mem_budget > 0))
    throw input_error("policy " + policy, "mem_budget", "the memory budget must be positive");
}

std::vector<int> models_fitting_nowhere(const std::vector<model_data>& models,
                                        const std::vector<parallel_config>& configs,
                                        double mem_budget) {
  std::vector<int> out;
  for (size_t m = 0; m < models.size(); ++m) {
    bool fits = false;
    for (const auto& c : configs)
      fits = fits || models[m].profile.weight_per_device(c) <= mem_budget;
    if (!fits) out.push_back(static_cast<int>(m));
  }
  return out;
}

}  // namespace alpaserve::planner
