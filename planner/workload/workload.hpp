#pragma once
// A workload: requests in arrival order, each naming a model
// (the reference's Workload; ../shared/reference/alpaserve.md section 2).
// Stored as parallel arrays so 10M requests take 12 bytes each.

#include <cstdint>
#include <string>
#include <vector>

namespace alpaserve::planner {

struct workload {
  std::vector<double> arrivals;          // seconds, non-decreasing
  std::vector<int32_t> model;            // index into model_names, per request
  std::vector<std::string> model_names;  // the models this workload names

  [[nodiscard]] size_t size() const noexcept { return arrivals.size(); }
  [[nodiscard]] bool empty() const noexcept { return arrivals.empty(); }
};

}  // namespace alpaserve::planner
