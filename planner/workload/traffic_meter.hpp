#pragma once
// Per-model arrival statistics over a window: what the dispatcher observed since the controller
// last asked, for the re-planning rule (planner/policy/replan_rule.hpp). Plain C++, no CAF.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace alpaserve::planner {

struct model_traffic {
  std::string model;
  int64_t count = 0;  // arrivals in the window (admitted or not)
  double rate = 0;    // count / window
  double cv = 0;      // CV of the inter-arrival gaps; 0 with fewer than three arrivals
};

struct traffic_window {
  double seconds = 0;                 // window length
  std::vector<model_traffic> models;  // models that arrived at least once, by name
};

class traffic_meter {
 public:
  explicit traffic_meter(double start = 0) : start_(start) {}
  // One arrival of `model` at time t (seconds, non-decreasing per model).
  void record(const std::string& model, double t);
  // The window [start, now) and a fresh window from now.
  [[nodiscard]] traffic_window take(double now);

 private:
  struct accumulator {
    int64_t count = 0;
    double last = 0;
    int64_t gaps = 0;
    double gap_mean = 0;  // Welford: stable over long windows
    double gap_m2 = 0;
  };
  double start_;
  std::unordered_map<std::string, accumulator> models_;
};

}  // namespace alpaserve::planner
