#pragma once
// Greedy replica filling: the reference's replica_placement_fast_greedy
// (../shared/reference/alpaserve.md section 5.1), the workhorse of sr-greedy, mp-greedy,
// mp-search and Clockwork++. Group configs are fixed; each step simulates the current placement,
// then adds one replica: the first group in ascending order of routed requests that can take a
// model, and the model with the most unserved requests that fits there. It stops only when no
// (group, model) pair fits, so memory is filled even after every model is fully served.
//
// Tie rules (reproduced, not "fixed"): unserved[m] = n * (1 - good / (n + 1e-6)) evaluated in
// float64 in that order; model order = numpy argsort(unserved)[::-1]; group order = numpy
// argsort(group_num_requests); both with numpy's unstable introsort
// (planner/core/numpy_argsort.hpp). Memory check: sum of per-device weights <= budget. After each
// addition the placement is normalized.

#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/policy/placement_problem.hpp"

namespace alpaserve::planner {

// Returns the filled placement (local model ids of `problem`); `init` keeps its groups and models.
[[nodiscard]] placement greedy_replica_fill(placement init, const placement_problem& problem);

// One fill per (inits[i], *problems[i]), run in lockstep: each round takes the stats of every
// unfinished fill's placement from one evaluator call, so their simulations can interleave
// (planner/sim/component_kernel.hpp). Each result equals greedy_replica_fill(inits[i],
// *problems[i]). All problems must share one evaluator (std::invalid_argument otherwise).
[[nodiscard]] std::vector<placement> greedy_replica_fill_many(
    std::vector<placement> inits, const std::vector<const placement_problem*>& problems);

// The (group, model) the greedy adds next given the current stats, or {-1, -1} when nothing fits.
// Exposed so tests can check the tie rules without a simulator.
struct replica_choice {
  int group = -1;
  int model = -1;
};
[[nodiscard]] replica_choice greedy_next_replica(const placement& sol,
                                                 const placement_problem& problem,
                                                 const placement_stats& stats);

}  // namespace alpaserve::planner
