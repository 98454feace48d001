#pragma once
// "mp-round-robin" (ModelParallelismRR, the ablation's "Round robin"): floor(D/4) groups of (1,1,4)
// plus one (1,1,s) group per power of two s in D mod 4 (ascending); models are dealt round robin:
// passes over models 0..N-1, each model that is not yet in the current group and fits (<= budget)
// goes there and the group pointer advances (only on success); stops after a pass that adds
// nothing. Ignores the train workload (used only to report a score). Not normalized.

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

class policy_mp_round_robin final : public placement_policy {
 public:
  explicit policy_mp_round_robin(policy_options options = {}) : options_(options) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  policy_options options_;
};

}  // namespace alpaserve::planner
