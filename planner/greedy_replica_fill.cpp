#include "planner/greedy_replica_fill.hpp"

#include <algorithm>
#include <stdexcept>

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

std::vector<placement> greedy_replica_fill_many(
    std::vector<placement> inits, const std::vector<const placement_problem*>& problems) {
  if (inits.size() != problems.size())
    throw std::invalid_argument("greedy_replica_fill_many: one problem per placement");
  if (problems.empty()) return inits;
  const placement_evaluator& evaluator = problems.front()->evaluator();
  for (const placement_problem* p : problems)
    if (&p->evaluator() != &evaluator)
      throw std::invalid_argument("greedy_replica_fill_many: problems use different evaluators");
  std::vector<placement> sols = std::move(inits);
  std::vector<size_t> live(sols.size());
  for (size_t i = 0; i < live.size(); ++i) live[i] = i;
  while (!live.empty()) {
    std::vector<placement> global;
    global.reserve(live.size());
    for (size_t i : live) global.push_back(problems[i]->to_global(sols[i]));
    std::vector<placement_stats> stats = evaluator.stats_many(global);
    std::vector<size_t> still;
    for (size_t k = 0; k < live.size(); ++k) {
      const size_t i = live[k];
      const placement_problem& problem = *problems[i];
      const replica_choice next =
          greedy_next_replica(sols[i], problem, problem.localize(std::move(stats[k])));
      if (next.group < 0) continue;
      sols[i] = sols[i].add_model(next.group, next.model);
      sols[i].normalize();
      still.push_back(i);
    }
    live = std::move(still);
  }
  return sols;
}

}  // namespace alpaserve::planner
