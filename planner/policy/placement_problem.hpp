#pragma once
// What a replica-filling search works on: a list of models (its own ids 0..n-1), the memory
// budget, and the evaluator that scores its placements. A sub-problem (one bucket of
// "mp-search-sep") names which evaluator models its local ids stand for; requests of every other
// model then count as unregistered, exactly as when the reference solves a bucket on the full
// train workload.

#include <utility>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/policy/placement_evaluator.hpp"

namespace alpaserve::planner {

class placement_problem {
 public:
  // global_ids[i] = the evaluator's id of local model i; empty means the identity.
  placement_problem(std::vector<model_data> models, double mem_budget,
                    const placement_evaluator& evaluator, std::vector<int> global_ids = {});

  [[nodiscard]] const std::vector<model_data>& models() const noexcept { return models_; }
  [[nodiscard]] int num_models() const noexcept { return static_cast<int>(models_.size()); }
  [[nodiscard]] double mem_budget() const noexcept { return mem_budget_; }
  [[nodiscard]] const placement_evaluator& evaluator() const noexcept { return *evaluator_; }

  // Memory one device of a group with config c needs for local model m (+inf: unprofiled).
  // From a table of every profiled config (the searches ask for it per group and model).
  [[nodiscard]] double weight(int m, const parallel_config& c) const noexcept {
    for (const auto& [config, weights] : weights_)
      if (config == c) return weights[static_cast<size_t>(m)];
    return models_[m].profile.weight_per_device(c);
  }
  // weight(m, c) of every local model m, or nullptr when c is profiled by no model (then
  // weight() answers +inf or the profile's value itself). Lets a search look the config up once
  // per group.
  [[nodiscard]] const double* weights_of(const parallel_config& c) const noexcept {
    for (const auto& [config, weights] : weights_)
      if (config == c) return weights.data();
    return nullptr;
  }
  // The same placement in the evaluator's model ids.
  [[nodiscard]] placement to_global(const placement& local) const;
  // The same, written into `out` (reusing its buffers: the lockstep fills convert every
  // placement every round).
  void to_global(const placement& local, placement& out) const;
  // fast_stats with per-model arrays indexed by local id (group arrays by group).
  [[nodiscard]] placement_stats stats(const placement& local) const;
  // Stats of to_global(local) from the evaluator, re-indexed by local model id.
  [[nodiscard]] placement_stats localize(placement_stats global) const;
  [[nodiscard]] std::vector<double> scores(const std::vector<placement>& local) const;
  [[nodiscard]] double score(const placement& local) const;

 private:
  std::vector<model_data> models_;
  double mem_budget_;
  const placement_evaluator* evaluator_;
  std::vector<int> global_ids_;
  // Per config profiled by some model: weight_per_device of every model.
  std::vector<std::pair<parallel_config, std::vector<double>>> weights_;
};

}  // namespace alpaserve::planner
