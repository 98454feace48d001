#include "planner/policy/group_config_enumeration.hpp"

namespace alpaserve::planner {

std::vector<int> binary_decomposition(int n) {
  std::vector<int> parts;
  for (int bit = 1; n > 0 && bit > 0; bit <<= 1) {
    if (n & bit) {
      parts.push_back(bit);
      n &= ~bit;
    }
  }
  return parts;
}

std::vector<std::vector<parallel_config>> enumerate_group_configs_uneven(
    const cluster_env& cluster, const group_enumeration_limits& limits) {
  std::vector<std::vector<parallel_config>> candidates;
  const int d = cluster.num_devices;
  for (int s = 1; s <= d; s *= 2) {
    // The reference skips sizes above one node that do not fill whole nodes; powers of two
    // never trigger this, but a non-power-of-two node size could.
    if (s > cluster.devices_per_node && s % cluster.devices_per_node != 0) continue;
    const int n = d / s;
    const std::vector<int> rest = binary_decomposition(d % s);
    for (int pp = 1; pp <= s; ++pp) {
      if (s % pp != 0) continue;
      const int op = s / pp;
      if (pp > limits.max_pp || op > limits.max_op) continue;
      // A stage's op devices share a node (its all-reduce stays inside one). The reference
      // never meets this: its op is at most 4 on 8-device nodes.
      if (op > cluster.devices_per_node) continue;
      std::vector<parallel_config> configs(static_cast<size_t>(n), parallel_config{1, op, pp});
      for (int r : rest) configs.push_back(parallel_config{1, 1, r});
      candidates.push_back(std::move(configs));
    }
  }
  return candidates;
}

placement empty_placement(const std::vector<parallel_config>& configs) {
  placement p;
  p.group_configs = configs;
  p.group_models.assign(configs.size(), {});
  return p;
}

}  // namespace alpaserve::planner
