#include "planner/policy/policy_mp_equal.hpp"

#include "planner/core/input_error.hpp"
#include "planner/policy/group_config_enumeration.hpp"

namespace alpaserve::planner {

std::string policy_mp_equal::name() const {
  return "mp-equal-" + std::to_string(pp_) + "-" + std::to_string(op_);
}

policy_result policy_mp_equal::solve(const std::vector<model_data>& models,
                                     const cluster_env& cluster, const workload* train,
                                     const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  const int group_size = pp_ * op_;
  if (pp_ < 1 || op_ < 1 || cluster.num_devices < group_size)
    throw input_error("policy " + name(), "devices",
                      "a group needs " + std::to_string(group_size) +
                          " devices but the cluster has " + std::to_string(cluster.num_devices));
  const parallel_config config{1, op_, pp_};
  placement sol = empty_placement(
      std::vector<parallel_config>(static_cast<size_t>(cluster.num_devices / group_size), config));
  std::string debug;
  for (size_t g = 0; g < sol.num_groups() && g < models.size(); ++g) {
    if (models[g].profile.weight_per_device(config) <= cluster.mem_budget)
      sol.group_models[g].push_back(static_cast<int>(g));
    else
      debug += "model " + models[g].name + " does not fit a " + config.to_string() + " group\n";
  }
  report(progress, 1, 1, "done");
  policy_result r;
  const workload w = train_or_generate(models, train);
  placement_evaluator evaluator(models, w, options_.evaluator);
  r.train_score = evaluator.score(sol);
  r.debug = debug + "replicas: " + std::to_string(sol.num_replicas()) + "\n";
  r.solution = std::move(sol);
  return r;
}

}  // namespace alpaserve::planner
