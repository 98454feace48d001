#pragma once
// When the controller re-plans (docs/runtime.md "Re-planning"): the traffic the dispatcher
// observed over a window is compared with the rates and CVs the running placement was planned
// for; on drift the models are re-planned for the observed traffic, and the new placement is
// installed only when it predicts a clearly higher score on that traffic than the running one
// (re-sharding has a cost, and a placement that is as good is not worth it). Plain functions.

#include <optional>
#include <string>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/workload/traffic_meter.hpp"

namespace alpaserve::planner {

struct replan_thresholds {
  double rate_change = 0.5;     // relative change of a model's rate that counts as drift
  double min_rate_delta = 0.5;  // ... and it must also move by at least this many requests/s
  double cv_change = 0.5;       // relative change of a model's CV that counts as drift
  int64_t min_requests = 20;    // a model's CV is judged only with this many arrivals
  // A rate change must also exceed this many standard deviations of the planned arrival
  // count (about cv * sqrt(count) for a renewal process), so short windows are not noise.
  double noise_sigmas = 4;
  double min_gain = 0.01;    // predicted score gain needed to switch placements
  double rate_floor = 0.01;  // requests/s assumed for a model that did not arrive at all
};

// Why the observed window drifted from the planned models (one line naming the models), or
// nullopt when it did not. A window shorter than a second is never drift.
[[nodiscard]] std::optional<std::string> detect_drift(const std::vector<model_data>& planned,
                                                      const traffic_window& observed,
                                                      const replan_thresholds& t = {});

// The planned models with the observed rates (and CVs where enough arrivals were seen).
[[nodiscard]] std::vector<model_data> with_observed_traffic(const std::vector<model_data>& planned,
                                                            const traffic_window& observed,
                                                            const replan_thresholds& t = {});

[[nodiscard]] inline bool worth_switching(double running_score, double new_score,
                                          const replan_thresholds& t = {}) {
  return new_score > running_score + t.min_gain;
}

}  // namespace alpaserve::planner
