#pragma once
// "mp-equal-<pp>-<op>" (ModelParallelismEqual, figures' "(pp,op)"): floor(D/(op*pp)) groups of
// (1,op,pp); group i holds only model i (models beyond the group count are not placed).

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

class policy_mp_equal final : public placement_policy {
 public:
  policy_mp_equal(int pp, int op, policy_options options = {})
      : pp_(pp), op_(op), options_(options) {}
  [[nodiscard]] std::string name() const override;
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;

 private:
  int pp_;
  int op_;
  policy_options options_;
};

}  // namespace alpaserve::planner
