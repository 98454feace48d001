#include "actors/device_ledger.hpp"

#include <fmt/format.h>

namespace alpaserve::actors {

namespace {
constexpr double gib = 1024.0 * 1024.0 * 1024.0;
}

std::optional<std::string> device_ledger::reserve(int32_t group,
                                                  const std::vector<int32_t>& devices,
                                                  double bytes) {
  if (memory_bytes_ > 0) {
    for (int32_t d : devices) {
      const double have = used(d);
      // A tolerance of one byte per GiB: profiles round, and the planner packs to the limit.
      if (have + bytes > memory_bytes_ * (1 + 1e-9) + 1) {
        std::vector<std::string> holders;
        auto it = held_.find(d);
        if (it != held_.end())
          for (const auto& [g, b] : it->second) holders.push_back(fmt::format("group {}", g));
        return fmt::format(
            "device {} holds {:.3f} GiB ({}); group {} needs {:.3f} GiB more, over its {:.3f} GiB",
            d, have / gib,
            holders.empty() ? "nothing" : fmt::format("{}", fmt::join(holders, ", ")), group,
            bytes / gib, memory_bytes_ / gib);
      }
    }
  }
  for (int32_t d : devices) held_[d][group] += bytes;
  return std::nullopt;
}

void device_ledger::release(int32_t group) {
  for (auto it = held_.begin(); it != held_.end();) {
    it->second.erase(group);
    it = it->second.empty() ? held_.erase(it) : std::next(it);
  }
}

double device_ledger::used(int32_t device) const {
  auto it = held_.find(device);
  if (it == held_.end()) return 0;
  double sum = 0;
  for (const auto& [g, b] : it->second) sum += b;
  return sum;
}

}  // namespace alpaserve::actors
