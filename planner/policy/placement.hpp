#pragma once
// Which groups exist (their parallel configs) and which models each holds
// (the reference's ModelPlacement; ../shared/reference/alpaserve.md section 1.3).

#include <string>
#include <vector>

#include "planner/profile/parallel_config.hpp"
#include "planner/profile/profile.hpp"

namespace alpaserve::planner {

// The devices and memory the planner may use.
struct cluster_env {
  int num_devices = 0;
  double mem_budget = 13.0 * gib;  // bytes per device
  int devices_per_node = 8;
};

// One model to serve: its SLO, the traffic expected for it, and its profile.
struct model_data {
  std::string name;
  double slo = 0;   // seconds
  double rate = 0;  // expected requests per second
  double cv = 1;    // expected coefficient of variation of inter-arrival gaps
  model_profile profile;
};

struct placement {
  std::vector<parallel_config> group_configs;
  std::vector<std::vector<int>> group_models;  // model ids = indices into the model list

  [[nodiscard]] size_t num_groups() const noexcept { return group_configs.size(); }
  [[nodiscard]] int num_devices() const noexcept;
  [[nodiscard]] int num_replicas() const noexcept;
  // Copy with model m appended to group g.
  [[nodiscard]] placement add_model(int g, int m) const;
  // Sorts ids inside each group, then orders groups by their id tuples (stable), configs along.
  void normalize();

  friend bool operator==(const placement& a, const placement& b) {
    return a.group_configs == b.group_configs && a.group_models == b.group_models;
  }
};

// A time-segmented sequence of placements (Clockwork++): placements[i] is in force from
// start_times[i] until start_times[i + 1]. The first start is not used: placement 0 is in force
// from the beginning (docs/placement-format.md). The event simulator and the runtime switch at
// each start (docs/runtime.md "Time windows (Clockwork++)").
struct placement_with_replacement {
  std::vector<double> start_times;
  std::vector<placement> placements;
};

// The window in force at time t under window starts `starts` (increasing): the last s >= 1 with
// starts[s] <= t, else 0 (also for an empty list). One rule for the event simulator, the
// runtime's controller and `bench`'s per-window report.
[[nodiscard]] size_t window_at(const std::vector<double>& starts, double t) noexcept;
// When the window after the one in force at t starts; +infinity when t is in the last one.
[[nodiscard]] double next_window_start(const std::vector<double>& starts, double t) noexcept;
// Why a schedule cannot be run: no window, as many starts as placements, starts increasing and
// finite. Empty when it is fine.
[[nodiscard]] std::vector<std::string> schedule_problems(const placement_with_replacement& s);

// Memory group g needs on each of its devices.
[[nodiscard]] double group_memory(const placement& p, int g, const std::vector<model_data>& models);

// Every reason the placement cannot run (over memory, duplicate model in a group, unknown model id,
// more devices than the cluster has, an unprofiled config); empty when it is valid.
[[nodiscard]] std::vector<std::string> placement_problems(const placement& p,
                                                          const std::vector<model_data>& models,
                                                          const cluster_env& cluster);

}  // namespace alpaserve::planner
