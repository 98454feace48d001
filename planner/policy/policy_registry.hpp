#pragma once
// Policy names -> policy objects. Names (docs/policies.md):
//   sr-greedy, sr-search, sr-replace-<seconds>, mp-greedy-<stages>, mp-round-robin,
//   mp-equal-<pp>-<op>, mp-search, mp-search-sep

#include <memory>
#include <string>
#include <vector>

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

// Throws input_error("policy", name, problem listing the valid names) for an unknown or
// malformed name (e.g. "mp-greedy-0", "sr-replace-x").
[[nodiscard]] std::unique_ptr<placement_policy> make_policy(const std::string& name,
                                                            const policy_options& options = {});
// The name patterns, for help texts and errors.
[[nodiscard]] std::vector<std::string> policy_names();
[[nodiscard]] bool is_known_policy(const std::string& name);

}  // namespace alpaserve::planner
