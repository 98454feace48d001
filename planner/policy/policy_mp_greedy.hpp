#pragma once
// "mp-greedy-<k>" (ModelParallelismGreedy, "Pipeline Parallelism (#stage=k)"): D/k groups of
// (1,1,k) filled by the greedy replica search. D must be a multiple of k.

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

class policy_mp_greedy final : public placement_policy {
 public:
  explicit policy_mp_greedy(int stages, policy_options options = {})
      : stages_(stages), options_(options) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  int stages_;
  policy_options options_;
};

}  // namespace alpaserve::planner
