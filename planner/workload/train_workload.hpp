#pragma once
// The workload a policy is tuned on when it is given none: the reference's gen_train_workload
// (../shared/reference/alpaserve.md section 5.0). Model i gets Gamma(rate_i, cv_i) arrivals with
// seed base_seed + i over max(min_duration, min_samples / sum of rates) seconds, merged.
// Because gamma streams are prefix-consistent, its first seconds equal a test workload generated
// with the same seeds.

#include <cstdint>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

struct train_workload_options {
  uint64_t base_seed = 0;
  double min_duration = 100;   // seconds
  double min_samples = 30000;  // expected requests
};

// Duration the train workload spans for these models.
[[nodiscard]] double train_duration(const std::vector<model_data>& models,
                                    const train_workload_options& options = {});

// Models with rate 0 contribute no request. Throws std::invalid_argument for a negative or
// non-finite rate or cv <= 0.
[[nodiscard]] workload gen_train_workload(const std::vector<model_data>& models,
                                          const train_workload_options& options = {});

}  // namespace alpaserve::planner
