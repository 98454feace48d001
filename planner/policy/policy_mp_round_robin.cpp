#include "planner/policy/policy_mp_round_robin.hpp"

#include <algorithm>

#include "planner/policy/group_config_enumeration.hpp"

namespace alpaserve::planner {

std::string policy_mp_round_robin::name() const {
  return "mp-round-robin";
}

policy_result policy_mp_round_robin::solve(const std::vector<model_data>& models,
                                           const cluster_env& cluster, const workload* train,
                                           const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  std::vector<parallel_config> configs(static_cast<size_t>(cluster.num_devices / 4),
                                       parallel_config{1, 1, 4});
  for (int s : binary_decomposition(cluster.num_devices % 4)) configs.push_back({1, 1, s});
  placement sol = empty_placement(configs);
  std::vector<double> used(configs.size(), 0.0);
  const int num_groups = static_cast<int>(configs.size());
  int g = 0;
  for (bool added = true; added;) {
    added = false;
    for (size_t m = 0; m < models.size(); ++m) {
      auto& hosted = sol.group_models[g];
      const double w = models[m].profile.weight_per_device(configs[g]);
      if (std::find(hosted.begin(), hosted.end(), static_cast<int>(m)) == hosted.end() &&
          used[g] + w <= cluster.mem_budget) {
        hosted.push_back(static_cast<int>(m));
        used[g] += w;
        g = (g + 1) % num_groups;
        added = true;
      }
    }
  }
  report(progress, 1, 1, "done");
  policy_result r;
  const workload w = train_or_generate(models, train);
  placement_evaluator evaluator(models, w, options_.evaluator);
  r.train_score = evaluator.score(sol);
  r.debug = "replicas: " + std::to_string(sol.num_replicas()) + "\n";
  r.solution = std::move(sol);
  return r;
}

}  // namespace alpaserve::planner
