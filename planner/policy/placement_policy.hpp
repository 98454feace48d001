#pragma once
// The interface every placement policy implements (the reference's BasePlacementPolicy;
// ../shared/reference/alpaserve.md section 5). One policy per file (policy_*.hpp); names are
// parsed by planner/policy/policy_registry.hpp. Policies: docs/policies.md.
//
// Concurrency: solve() is const and keeps its state on the stack, so one policy object may solve
// several problems at once from different threads. The progress callback is called from the
// thread that called solve().

#include <cstddef>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/policy/placement_evaluator.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

// Progress of a long search: `done` of `total` units (candidates, separations, windows).
using policy_progress = std::function<void(size_t done, size_t total, const std::string& message)>;

// Settings every policy shares.
struct policy_options {
  evaluator_options evaluator;  // threads, decomposition, memoisation of the scorer
};

struct policy_result {
  std::variant<placement, placement_with_replacement> solution;
  double train_score = 0;  // placement score (section 4.4) on the train workload
  std::string debug;       // what the search did, one fact per line

  [[nodiscard]] bool has_replacement() const noexcept {
    return std::holds_alternative<placement_with_replacement>(solution);
  }
  // The placement (the first segment's for a replacement solution).
  [[nodiscard]] const placement& first_placement() const;
};

class placement_policy {
 public:
  virtual ~placement_policy() = default;
  // The registry name, e.g. "mp-search-sep".
  [[nodiscard]] virtual std::string name() const = 0;
  // Places `models` on `cluster`. `train` may be null: gen_train_workload(models) is used then.
  // Throws input_error when the problem cannot be solved as posed (no devices, a device count
  // the policy's group size does not divide).
  [[nodiscard]] virtual policy_result solve(const std::vector<model_data>& models,
                                            const cluster_env& cluster, const workload* train,
                                            const policy_progress& progress) const = 0;
};

// The train workload to use: *train, or gen_train_workload(models) when null.
[[nodiscard]] workload train_or_generate(const std::vector<model_data>& models,
                                         const workload* train);

// Throws input_error naming the policy when the cluster has no device or no model is given.
void check_solvable(const std::string& policy, const std::vector<model_data>& models,
                    const cluster_env& cluster);

// Models that fit in no group of `configs` even alone (per-device weight > budget or no profile
// for every config): a placement built on these groups can never serve them.
[[nodiscard]] std::vector<int> models_fitting_nowhere(const std::vector<model_data>& models,
                                                      const std::vector<parallel_config>& configs,
                                                      double mem_budget);

// Calls progress when it is set.
inline void report(const policy_progress& progress, size_t done, size_t total,
                   const std::string& message) {
  if (progress) progress(done, total, message);
}

}  // namespace alpaserve::planner
