#include "planner/greedy_replica_fill.hpp"

#include <algorithm>

#include "planner/numpy_argsort.hpp"

namespace alpaserve::planner {

replica_choice greedy_next_replica(const placement& sol, const placement_problem& problem,
                                   const placement_stats& stats) {
  const int num_models = problem.num_models();
  std::vector<double> unserved(static_cast<size_t>(num_models));
  for (int m = 0; m < num_models; ++m) {
    const double n = static_cast<double>(stats.model_num_requests[m]);
    const double goodput = static_cast<double>(stats.model_num_good[m]) / (n + 1e-6);
    unserved[m] = n * (1.0 - goodput);
  }
  const std::vector<int> model_order = numpy_argsort_descending(unserved);
  const std::vector<int> group_order = numpy_argsort(stats.group_num_requests);
  for (int g : group_order) {
    const auto& cfg = sol.group_configs[g];
    const auto& hosted = sol.group_models[g];
    double used = 0;
    for (int m : hosted) used += problem.weight(m, cfg);
    for (int m : model_order) {
      if (std::find(hosted.begin(), hosted.end(), m) != hosted.end()) continue;
      if (used + problem.weight(m, cfg) <= problem.mem_budget()) return {g, m};
    }
  }
  return {};
}

placement greedy_replica_fill(placement init, const placement_problem& problem) {
  placement sol = std::move(init);
  for (;;) {
    const placement_stats stats = problem.stats(sol);
    const replica_choice next = greedy_next_replica(sol, problem, stats);
    if (next.group < 0) return sol;
    sol = sol.add_model(next.group, next.model);
    sol.normalize();
  }
}

}  // namespace alpaserve::planner
