#include "planner/policy/policy_sr_greedy.hpp"

#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/group_config_enumeration.hpp"

namespace alpaserve::planner {

std::string policy_sr_greedy::name() const {
  return "sr-greedy";
}

policy_result policy_sr_greedy::solve(const std::vector<model_data>& models,
                                      const cluster_env& cluster, const workload* train,
                                      const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  const workload w = train_or_generate(models, train);
  placement_evaluator evaluator(models, w, options_.evaluator);
  placement_problem problem(models, cluster.mem_budget, evaluator);
  report(progress, 0, 1, "greedy replica filling");
  const std::vector<parallel_config> configs(static_cast<size_t>(cluster.num_devices),
                                             parallel_config{1, 1, 1});
  placement sol = greedy_replica_fill(empty_placement(configs), problem);
  report(progress, 1, 1, "done");
  policy_result r;
  r.train_score = evaluator.score(sol);
  r.debug = "replicas: " + std::to_string(sol.num_replicas()) + "\n";
  r.solution = std::move(sol);
  return r;
}

}  // namespace alpaserve::planner
