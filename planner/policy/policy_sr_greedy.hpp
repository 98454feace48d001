#pragma once
// "sr-greedy", the paper's SR baseline (SelectiveReplicationGreedy): one (1,1,1) group per
// device, filled by the greedy replica search (planner/policy/greedy_replica_fill.hpp).

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

class policy_sr_greedy final : public placement_policy {
 public:
  explicit policy_sr_greedy(policy_options options = {}) : options_(options) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  policy_options options_;
};

}  // namespace alpaserve::planner
