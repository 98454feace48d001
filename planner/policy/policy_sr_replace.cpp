#include "planner/policy/policy_sr_replace.hpp"

#include "planner/core/input_error.hpp"
#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/group_config_enumeration.hpp"
#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/sim_stats.hpp"
#include "planner/workload/workload_gen.hpp"

namespace alpaserve::planner {

std::string policy_sr_replace::name() const {
  std::string s = std::to_string(interval_);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return "sr-replace-" + s;
}

policy_result policy_sr_replace::solve(const std::vector<model_data>& models,
                                       const cluster_env& cluster, const workload* train,
                                       const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  if (!(interval_ > 0))
    throw input_error("policy " + name(), "interval", "the replacement interval must be > 0");
  const workload w = train_or_generate(models, train);
  const std::vector<workload> windows = split_time_interval(w, interval_);
  const std::vector<parallel_config> configs(static_cast<size_t>(cluster.num_devices),
                                             parallel_config{1, 1, 1});
  placement_with_replacement out;
  for (size_t i = 0; i < windows.size(); ++i) {
    report(progress, i, windows.size(), "window " + std::to_string(i + 1));
    placement_evaluator evaluator(models, windows[i], options_.evaluator);
    placement_problem problem(models, cluster.mem_budget, evaluator);
    out.start_times.push_back(windows[i].arrivals.front());
    out.placements.push_back(greedy_replica_fill(empty_placement(configs), problem));
  }
  if (out.placements.empty()) {  // no request at all: one empty-traffic greedy placement
    placement_evaluator evaluator(models, w, options_.evaluator);
    placement_problem problem(models, cluster.mem_budget, evaluator);
    out.start_times.push_back(0.0);
    out.placements.push_back(greedy_replica_fill(empty_placement(configs), problem));
  }
  report(progress, windows.size(), windows.size(), "done");
  policy_result r;
  // Score of the whole schedule on the whole train workload; replicas summed over segments.
  const approx_simulator sim(models, w);
  const sim_summary s = sim.run_summary(out);
  int replicas = 0;
  for (const auto& p : out.placements) replicas += p.num_replicas();
  r.train_score = placement_score(s.goodput(), s.latency_mean(), replicas);
  r.debug = "windows: " + std::to_string(out.placements.size()) + "\n";
  r.solution = std::move(out);
  return r;
}

}  // namespace alpaserve::planner
