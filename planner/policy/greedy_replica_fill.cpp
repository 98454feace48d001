#include "planner/policy/greedy_replica_fill.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "planner/core/numpy_argsort.hpp"

namespace alpaserve::planner {

namespace {

// Working memory of next_replica(), reused across the steps of the fills.
struct next_scratch {
  std::vector<double> unserved;
  std::vector<uint8_t> hosted;  // per model: hosted by the group being checked
};

replica_choice next_replica(const placement& sol, const placement_problem& problem,
                            const placement_stats& stats, next_scratch& s) {
  const int num_models = problem.num_models();
  s.unserved.resize(static_cast<size_t>(num_models));
  for (int m = 0; m < num_models; ++m) {
    const double n = static_cast<double>(stats.model_num_requests[m]);
    const double goodput = static_cast<double>(stats.model_num_good[m]) / (n + 1e-6);
    s.unserved[m] = n * (1.0 - goodput);
  }
  const std::vector<int> model_order = numpy_argsort_descending(s.unserved);
  const std::vector<int> group_order = numpy_argsort(stats.group_num_requests);
  s.hosted.assign(static_cast<size_t>(num_models), 0);
  for (int g : group_order) {
    const auto& cfg = sol.group_configs[g];
    const auto& hosted = sol.group_models[g];
    // The config's weight row once per group (weight() searches the configs on every call).
    const double* w = problem.weights_of(cfg);
    auto weight = [&](int m) { return w != nullptr ? w[m] : problem.weight(m, cfg); };
    double used = 0;
    for (int m : hosted) used += weight(m);
    for (int m : hosted) s.hosted[m] = 1;
    replica_choice found;
    for (int m : model_order) {
      if (s.hosted[m]) continue;
      if (used + weight(m) <= problem.mem_budget()) {
        found = {g, m};
        break;
      }
    }
    for (int m : hosted) s.hosted[m] = 0;
    if (found.group >= 0) return found;
  }
  return {};
}

}  // namespace

replica_choice greedy_next_replica(const placement& sol, const placement_problem& problem,
                                   const placement_stats& stats) {
  next_scratch s;
  return next_replica(sol, problem, stats, s);
}

placement greedy_replica_fill(placement init, const placement_problem& problem) {
  placement sol = std::move(init);
  next_scratch scratch;
  for (;;) {
    const placement_stats stats = problem.stats(sol);
    const replica_choice next = next_replica(sol, problem, stats, scratch);
    if (next.group < 0) return sol;
    sol.group_models[next.group].push_back(next.model);  // add_model() without a copy
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
  // Each round's global placements are written over the previous round's (their buffers are
  // reused: converting and freeing them was a tenth of the time outside the simulations).
  std::vector<placement> global(sols.size());
  next_scratch scratch;
  while (!live.empty()) {
    global.resize(live.size());
    for (size_t k = 0; k < live.size(); ++k) problems[live[k]]->to_global(sols[live[k]], global[k]);
    std::vector<placement_stats> stats = evaluator.stats_many(global);
    std::vector<size_t> still;
    for (size_t k = 0; k < live.size(); ++k) {
      const size_t i = live[k];
      const placement_problem& problem = *problems[i];
      const replica_choice next =
          next_replica(sols[i], problem, problem.localize(std::move(stats[k])), scratch);
      if (next.group < 0) continue;
      sols[i].group_models[next.group].push_back(next.model);  // add_model() without a copy
      sols[i].normalize();
      still.push_back(i);
    }
    live = std::move(still);
  }
  return sols;
}

}  // namespace alpaserve::planner
