#pragma once
// "mp-search" and "mp-search-sep", the paper's AlpaServe (ModelParallelismSearch;
// ../shared/reference/alpaserve.md section 5.5):
// * group partitioning: every candidate group list of enumerate_group_configs_uneven is filled by
//   the greedy replica search and the best-scoring one is kept (first on ties);
// * with separation ("-sep"): models are bucketed by latency (planner/policy/model_bucketing.hpp),
// each
//   bucket is solved the same way on its share of the devices for every kept device split, the
//   per-bucket solutions are concatenated, and the best split replaces the plain solution only if
//   it scores strictly higher.
// Faster than the reference without changing its answer: a bucket's solution depends only on
// (bucket, devices), so each is solved once however many splits use it; the evaluator re-simulates
// only the part of the placement a step changed; with one thread all candidates (of every
// sub-problem) are filled in lockstep so the evaluator interleaves their simulations; with
// threads > 1 candidates and sub-problems are solved concurrently (the same results either way).

#include "planner/core/thread_pool.hpp"
#include "planner/policy/group_config_enumeration.hpp"
#include "planner/policy/placement_policy.hpp"
#include "planner/policy/placement_problem.hpp"

namespace alpaserve::planner {

// solve_one_eco: the best greedy-filled candidate of the group partition enumeration.
// `pool` may be null (sequential). Returns an empty placement when there is no candidate.
[[nodiscard]] placement solve_group_partition(const placement_problem& problem,
                                              const cluster_env& cluster,
                                              const group_enumeration_limits& limits,
                                              thread_pool* pool);

// solve_group_partition for several problems (sharing one evaluator) at once, on this thread:
// all their candidates are filled in lockstep (greedy_replica_fill_many). Same results.
[[nodiscard]] std::vector<placement> solve_group_partitions(
    const std::vector<const placement_problem*>& problems, const std::vector<cluster_env>& clusters,
    const group_enumeration_limits& limits);

class policy_mp_search final : public placement_policy {
 public:
  explicit policy_mp_search(bool use_separation, policy_options options = {},
                            group_enumeration_limits limits = {})
      : use_separation_(use_separation), options_(options), limits_(limits) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  bool use_separation_;
  policy_options options_;
  group_enumeration_limits limits_;
};

}  // namespace alpaserve::planner
