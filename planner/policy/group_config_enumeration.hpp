#pragma once
// Group partitioning enumeration of the reference's ModelParallelismSearch
// (enumerate_group_configs_uneven; ../shared/reference/alpaserve.md section 5.5): for each power
// of two S <= D, floor(D/S) groups of S devices for every (op, pp) with op*pp = S, pp <= 8,
// op <= 4, followed by one pure-pipeline (1,1,r) group per power of two r in D mod S.

#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/profile/parallel_config.hpp"

namespace alpaserve::planner {

struct group_enumeration_limits {
  int max_pp = 8;
  int max_op = 4;
};

// Powers of two that sum to n, ascending (6 -> {2, 4}); empty for n <= 0.
[[nodiscard]] std::vector<int> binary_decomposition(int n);

// Every candidate list of empty-group configs, in the reference's order (S ascending, then pp
// ascending). Each candidate uses all devices.
[[nodiscard]] std::vector<std::vector<parallel_config>> enumerate_group_configs_uneven(
    const cluster_env& cluster, const group_enumeration_limits& limits = {});

// A placement with these groups, all empty.
[[nodiscard]] placement empty_placement(const std::vector<parallel_config>& configs);

}  // namespace alpaserve::planner
