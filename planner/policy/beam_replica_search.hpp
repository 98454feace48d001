#pragma once
// Beam search over replica additions: the reference's replica_placement_beam_search
// (../shared/reference/alpaserve.md section 5.2), used by sr-search. Every iteration expands each
// beam member by every (group, model) that fits with a STRICT memory check (sum < budget, unlike
// the greedy's <=), drops placements already seen (by their normalized group_models), scores all
// new candidates and keeps the top beam_size (numpy argsort descending: among equal scores the
// later candidate first). Returns the best placement seen (score strictly greater to replace).

#include "planner/policy/placement.hpp"
#include "planner/policy/placement_problem.hpp"

namespace alpaserve::planner {

[[nodiscard]] placement beam_replica_search(const placement& init, const placement_problem& problem,
                                            int beam_size = 3);

}  // namespace alpaserve::planner
