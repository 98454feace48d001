#include "planner/policy/policy_mp_search.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/model_bucketing.hpp"

namespace alpaserve::planner {

placement solve_group_partition(const placement_problem& problem, const cluster_env& cluster,
                                const group_enumeration_limits& limits, thread_pool* pool) {
  if (pool == nullptr) return solve_group_partitions({&problem}, {cluster}, limits).front();
  const auto candidates = enumerate_group_configs_uneven(cluster, limits);
  if (candidates.empty()) return {};
  std::vector<placement> filled(candidates.size());
  pool->parallel_for(candidates.size(), [&](size_t i) {
    filled[i] = greedy_replica_fill(empty_placement(candidates[i]), problem);
  });
  const std::vector<double> scores = problem.scores(filled);
  size_t best = 0;
  for (size_t i = 1; i < scores.size(); ++i)
    if (scores[i] > scores[best]) best = i;
  return filled[best];
}

std::vector<placement> solve_group_partitions(const std::vector<const placement_problem*>& problems,
                                              const std::vector<cluster_env>& clusters,
                                              const group_enumeration_limits& limits) {
  // Every candidate of every problem is filled in one lockstep run.
  std::vector<std::vector<std::vector<parallel_config>>> lists(problems.size());
  size_t num_inits = 0;
  for (size_t j = 0; j < problems.size(); ++j) {
    lists[j] = enumerate_group_configs_uneven(clusters.at(j), limits);
    num_inits += lists[j].size();
  }
  // Reserved: growing a vector of ~1500 placements made malloc consolidate its free chunks.
  std::vector<placement> inits;
  inits.reserve(num_inits);
  std::vector<const placement_problem*> owners;
  owners.reserve(num_inits);
  std::vector<size_t> first(problems.size() + 1, 0);
  for (size_t j = 0; j < problems.size(); ++j) {
    for (const auto& configs : lists[j]) {
      inits.push_back(empty_placement(configs));
      owners.push_back(problems[j]);
    }
    first[j + 1] = inits.size();
  }
  const std::vector<placement> filled = greedy_replica_fill_many(std::move(inits), owners);
  std::vector<placement> out(problems.size());
  for (size_t j = 0; j < problems.size(); ++j) {
    if (first[j] == first[j + 1]) continue;
    const std::vector<placement> mine(filled.begin() + static_cast<std::ptrdiff_t>(first[j]),
                                      filled.begin() + static_cast<std::ptrdiff_t>(first[j + 1]));
    const std::vector<double> scores = problems[j]->scores(mine);
    size_t best = 0;
    for (size_t i = 1; i < scores.size(); ++i)
      if (scores[i] > scores[best]) best = i;
    out[j] = mine[best];
  }
  return out;
}

std::string policy_mp_search::name() const {
  return use_separation_ ? "mp-search-sep" : "mp-search";
}

policy_result policy_mp_search::solve(const std::vector<model_data>& models,
                                      const cluster_env& cluster, const workload* train,
                                      const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  const workload w = train_or_generate(models, train);
  placement_evaluator evaluator(models, w, options_.evaluator);
  std::unique_ptr<thread_pool> pool;
  if (options_.evaluator.threads > 1)
    pool = std::make_unique<thread_pool>(options_.evaluator.threads);
  placement_problem whole(models, cluster.mem_budget, evaluator);

  separation_set seps;
  if (use_separation_) seps = enumerate_separations(models, cluster);
  const size_t total = 1 + seps.separations.size();
  report(progress, 0, total, "group partitioning");
  placement best = solve_group_partition(whole, cluster, limits_, pool.get());
  double best_score = evaluator.score(best);
  std::string debug = "plain search score: " + std::to_string(best_score) + "\n";
  report(progress, 1, total, "separations");

  if (use_separation_ && !seps.separations.empty()) {
    // Each (bucket, devices) sub-problem is solved once, whichever splits share it.
    std::map<std::pair<size_t, int>, placement> solved;
    std::vector<std::pair<size_t, int>> todo;
    for (const auto& s : seps.separations)
      for (size_t b = 0; b < s.parts.size(); ++b)
        if (solved.emplace(std::make_pair(b, s.parts[b]), placement{}).second)
          todo.emplace_back(b, s.parts[b]);
    std::vector<placement> sub_solutions(todo.size());
    std::mutex progress_mutex;
    size_t done = 0;
    auto solve_sub = [&](size_t i) {
      const auto [b, devices] = todo[i];
      std::vector<model_data> sub_models;
      for (int m : seps.buckets[b]) sub_models.push_back(models[m]);
      placement_problem sub(std::move(sub_models), cluster.mem_budget, evaluator, seps.buckets[b]);
      cluster_env env = cluster;
      env.num_devices = devices;
      sub_solutions[i] = sub.to_global(solve_group_partition(sub, env, limits_, nullptr));
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
    };
    if (pool != nullptr) {
      pool->parallel_for(todo.size(), solve_sub);
    } else {
      // One thread: the sub-problems' fills run in lockstep, up to 128 sub-problems (~1500
      // fills) at a time: many fills per round keep the interleaved kernels' lanes full (fewer
      // lone tail simulations); the bound keeps the per-round working set moderate.
      constexpr size_t per_batch = 128;
      // One problem per bucket, shared by its device counts (copying the models' profiles per
      // sub-problem was a visible cost).
      std::vector<std::unique_ptr<placement_problem>> bucket_problem(seps.buckets.size());
      for (size_t at = 0; at < todo.size(); at += per_batch) {
        const size_t count = std::min(per_batch, todo.size() - at);
        std::vector<const placement_problem*> problems;
        std::vector<cluster_env> envs;
        for (size_t i = at; i < at + count; ++i) {
          const auto [b, devices] = todo[i];
          if (!bucket_problem[b]) {
            std::vector<model_data> sub_models;
            for (int m : seps.buckets[b]) sub_models.push_back(models[m]);
            bucket_problem[b] = std::make_unique<placement_problem>(
                std::move(sub_models), cluster.mem_budget, evaluator, seps.buckets[b]);
          }
          problems.push_back(bucket_problem[b].get());
          envs.push_back(cluster);
          envs.back().num_devices = devices;
        }
        const std::vector<placement> local = solve_group_partitions(problems, envs, limits_);
        for (size_t k = 0; k < count; ++k) sub_solutions[at + k] = problems[k]->to_global(local[k]);
        report(progress, 1 + ((at + count) * seps.separations.size()) / todo.size(), total,
               "bucket sub-problems");
      }
    }
    for (size_t i = 0; i < todo.size(); ++i) solved[todo[i]] = std::move(sub_solutions[i]);

    std::vector<placement> candidates;
    for (const auto& s : seps.separations) {
      placement joined;
      for (size_t b = 0; b < s.parts.size(); ++b) {
        const placement& part = solved.at({b, s.parts[b]});
        joined.group_configs.insert(joined.group_configs.end(), part.group_configs.begin(),
                                    part.group_configs.end());
        joined.group_models.insert(joined.group_models.end(), part.group_models.begin(),
                                   part.group_models.end());
      }
      candidates.push_back(std::move(joined));
    }
    const std::vector<double> scores = evaluator.scores(candidates);
    size_t arg = 0;
    for (size_t i = 1; i < scores.size(); ++i)
      if (scores[i] > scores[arg]) arg = i;
    debug += "buckets: " + std::to_string(seps.buckets.size()) +
             ", separations: " + std::to_string(seps.separations.size()) +
             ", sub-problems solved: " + std::to_string(todo.size()) +
             "\nbest separation score: " + std::to_string(scores[arg]) + "\n";
    if (scores[arg] > best_score) {
      best = std::move(candidates[arg]);
      best_score = scores[arg];
      debug += "chosen: separation";
      for (int p : seps.separations[arg].parts) debug += " " + std::to_string(p);
      debug += "\n";
    } else {
      debug += "chosen: plain search\n";
    }
  }
  report(progress, total, total, "done");
  const auto c = evaluator.counters();
  debug += "component simulations: " + std::to_string(c.component_sims) +
           ", cache hits: " + std::to_string(c.component_hits) +
           ", requests simulated: " + std::to_string(c.requests_simulated) + "\n";
  policy_result r;
  r.train_score = best_score;
  r.debug = std::move(debug);
  r.solution = std::move(best);
  return r;
}

}  // namespace alpaserve::planner
