#include "planner/policy/placement.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace alpaserve::planner {

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
