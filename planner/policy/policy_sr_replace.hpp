#pragma once
// "sr-replace-<interval>", the paper's Clockwork++ (SelectiveReplicationReplacement): the train
// workload is split into windows of `interval` seconds (split_time_interval) and each window gets
// its own sr-greedy placement, tuned on that window only. The result switches placements at each
// window's first arrival with zero swap cost.

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

class policy_sr_replace final : public placement_policy {
 public:
  explicit policy_sr_replace(double interval, policy_options options = {})
      : interval_(interval), options_(options) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  double interval_;  // seconds
  policy_options options_;
};

}  // namespace alpaserve::planner
