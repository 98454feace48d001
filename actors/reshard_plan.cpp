#include "actors/reshard_plan.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace alpaserve::actors {

namespace {
constexpr double gib = 1024.0 * 1024.0 * 1024.0;
using device_key = std::pair<std::string, int>;
}  // namespace

std::map<device_key, std::map<size_t, double>> device_weight_bytes(const deployment_plan& plan) {
  std::map<device_key, std::map<size_t, double>> out;
  for (size_t g = 0; g < plan.groups.size(); ++g)
    for (const auto& stage : plan.groups[g].stages) {
      double bytes = 0;
      for (const auto& sh : stage.shards) bytes += sh.weight_bytes;
      for (int d : stage.devices) out[{stage.node_name, d}][g] += bytes;
    }
  return out;
}

room_plan make_room(const deployment_plan& running, const deployment_plan& next,
                    const std::map<std::string, double>& memory_by_node,
                    const std::set<size_t>& keep) {
  room_plan out;
  const auto held = device_weight_bytes(running);
  std::map<device_key, double> needed;
  for (const auto& [key, groups] : device_weight_bytes(next))
    for (const auto& [g, bytes] : groups) needed[key] += bytes;
  auto capacity = [&](const device_key& key) {
    auto it = memory_by_node.find(key.first);
    return it == memory_by_node.end() ? 0.0 : it->second;
  };
  std::set<size_t> withdrawn;
  auto staying = [&](const device_key& key) {
    double sum = 0;
    auto it = held.find(key);
    if (it != held.end())
      for (const auto& [g, bytes] : it->second)
        if (withdrawn.count(g) == 0) sum += bytes;
    return sum;
  };
  // The same one-byte-per-GiB tolerance as the node's ledger (actors/device_ledger.cpp).
  auto over = [&](const device_key& key, double cap) {
    return cap > 0 && staying(key) + needed[key] > cap * (1 + 1e-9) + 1;
  };
  for (const auto& [key, bytes] : needed) {
    const double cap = capacity(key);
    if (!over(key, cap)) continue;
    out.overfull.push_back(fmt::format(
        "{}:{} holds {:.3f} GiB, the new placement needs {:.3f} GiB more, has {:.3f} GiB",
        key.first, key.second, staying(key) / gib, bytes / gib, cap / gib));
    auto it = held.find(key);
    while (over(key, cap) && it != held.end()) {
      size_t best = 0;
      double most = -1;
      for (const auto& [g, b] : it->second)
        if (withdrawn.count(g) == 0 && keep.count(g) == 0 && b > most) {
          best = g;
          most = b;
        }
      if (most < 0) break;  // nothing left to withdraw here: the new plan alone is over
      withdrawn.insert(best);
    }
  }
  out.withdraw.assign(withdrawn.begin(), withdrawn.end());
  return out;
}

}  // namespace alpaserve::actors
