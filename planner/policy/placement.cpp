#include "planner/policy/placement.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

namespace alpaserve::planner {

size_t window_at(const std::vector<double>& starts, double t) noexcept {
  // The first start with starts[s] > t, over starts[1..]; the window before it is in force.
  if (starts.size() < 2) return 0;
  const auto it = std::upper_bound(starts.begin() + 1, starts.end(), t);
  return static_cast<size_t>(it - starts.begin()) - 1;
}

double next_window_start(const std::vector<double>& starts, double t) noexcept {
  const size_t s = window_at(starts, t);
  return s + 1 < starts.size() ? starts[s + 1] : std::numeric_limits<double>::infinity();
}

std::vector<std::string> schedule_problems(const placement_with_replacement& s) {
  std::vector<std::string> out;
  if (s.placements.empty()) out.emplace_back("a schedule needs at least one window");
  if (s.start_times.size() != s.placements.size())
    out.push_back("the schedule has " + std::to_string(s.start_times.size()) + " starts for " +
                  std::to_string(s.placements.size()) + " placements");
  for (size_t i = 0; i < s.start_times.size(); ++i) {
    if (!std::isfinite(s.start_times[i]))
      out.push_back("window " + std::to_string(i) + " starts at a non-finite time");
    else if (i > 0 && !(s.start_times[i] > s.start_times[i - 1]))
      out.push_back("window " + std::to_string(i) + " does not start after window " +
                    std::to_string(i - 1));
  }
  return out;
}

int placement::num_devices() const noexcept {
  int n = 0;
  for (const auto& c : group_configs) n += c.num_devices();
  return n;
}

int placement::num_replicas() const noexcept {
  int n = 0;
  for (const auto& g : group_models) n += static_cast<int>(g.size());
  return n;
}

placement placement::add_model(int g, int m) const {
  placement out = *this;
  out.group_models[g].push_back(m);
  return out;
}

void placement::normalize() {
  for (auto& g : group_models)
    if (!std::is_sorted(g.begin(), g.end())) std::sort(g.begin(), g.end());
  // Searches normalize after every one-replica change, mostly of placements already in order.
  if (std::is_sorted(group_models.begin(), group_models.end())) return;
  // Stable insertion sort by model lists, in place: a search's placement has one group out of
  // place, so this is a few swaps of vector headers and allocates nothing.
  for (size_t i = 1; i < group_models.size(); ++i) {
    for (size_t j = i; j > 0 && group_models[j] < group_models[j - 1]; --j) {
      std::swap(group_models[j], group_models[j - 1]);
      std::swap(group_configs[j], group_configs[j - 1]);
    }
  }
}

double group_memory(const placement& p, int g, const std::vector<model_data>& models) {
  double mem = 0;
  for (int m : p.group_models[g]) mem += models[m].profile.weight_per_device(p.group_configs[g]);
  return mem;
}

std::vector<std::string> placement_problems(const placement& p,
                                            const std::vector<model_data>& models,
                                            const cluster_env& cluster) {
  std::vector<std::string> problems;
  if (p.group_configs.size() != p.group_models.size())
    problems.push_back("group_configs and group_models differ in length");
  if (p.num_devices() > cluster.num_devices)
    problems.push_back("placement uses " + std::to_string(p.num_devices()) +
                       " devices but the cluster has " + std::to_string(cluster.num_devices));
  const size_t n = std::min(p.group_configs.size(), p.group_models.size());
  for (size_t g = 0; g < n; ++g) {
    const auto& c = p.group_configs[g];
    const std::string gname = "group " + std::to_string(g) + " " + c.to_string();
    if (c.dp < 1 || c.op < 1 || c.pp < 1) problems.push_back(gname + ": degrees must be >= 1");
    std::set<int> seen;
    bool ids_ok = true;
    for (int m : p.group_models[g]) {
      if (m < 0 || m >= static_cast<int>(models.size())) {
        problems.push_back(gname + ": unknown model id " + std::to_string(m));
        ids_ok = false;
        continue;
      }
      if (!seen.insert(m).second)
        problems.push_back(gname + ": model " + models[m].name + " appears twice");
      if (models[m].profile.find(c) == nullptr)
        problems.push_back(gname + ": model " + models[m].name + " has no profile for this config");
    }
    if (!ids_ok) continue;
    const double mem = group_memory(p, static_cast<int>(g), models);
    if (std::isfinite(mem) && mem > cluster.mem_budget)
      problems.push_back(gname + ": needs " + std::to_string(mem / gib) +
                         " GiB per device, budget is " + std::to_string(cluster.mem_budget / gib) +
                         " GiB");
  }
  return problems;
}

}  // namespace alpaserve::planner
