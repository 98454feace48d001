#pragma once
// "sr-search" (SelectiveReplicationSearch): one (1,1,1) group per device, filled by beam search
// over replica additions (planner/policy/beam_replica_search.hpp), beam 3.

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

class policy_sr_search final : public placement_policy {
 public:
  explicit policy_sr_search(policy_options options = {}, int beam_size = 3)
      : options_(options), beam_size_(beam_size) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  policy_options options_;
  int beam_size_;
};

}  // namespace alpaserve::planner
