#include "planner/policy/policy_sr_search.hpp"

#include "planner/policy/beam_replica_search.hpp"
#include "planner/policy/group_config_enumeration.hpp"

namespace alpaserve::planner {

std::string policy_sr_search::name() const {
  return "sr-search";
}

policy_result policy_sr_search::solve(const std::vector<model_data>& models,
                                      const cluster_env& cluster, const workload* train,
                                      const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  const workload w = train_or_generate(models, train);
  placement_evaluator evaluator(models, w, options_.evaluator);
  placement_problem problem(models, cluster.mem_budget, evaluator);
  report(progress, 0, 1, "beam search");
  const std::vector<parallel_config> configs(static_cast<size_t>(cluster.num_devices),
                                             parallel_config{1, 1, 1});
  placement sol = beam_replica_search(empty_placement(configs), problem, beam_size_);
  report(progress, 1, 1, "done");
  policy_result r;
  r.train_score = evaluator.score(sol);
  const auto c = evaluator.counters();
  r.debug = "replicas: " + std::to_string(sol.num_replicas()) +
            "\nscored candidates: " + std::to_string(c.evaluations) +
            "\ncomponent simulations: " + std::to_string(c.component_sims) +
            "\nrequests simulated: " + std::to_string(c.requests_simulated) + "\n";
  r.solution = std::move(sol);
  return r;
}

}  // namespace alpaserve::planner
