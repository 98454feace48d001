#pragma once
// How a re-shard of real weights makes room (docs/runtime.md "Re-sharding real models"): the new
// generation loads beside the running one when every device can hold both (make before break);
// otherwise the running groups that stand in its way are drained and unloaded first, and only
// then does the new generation load beside the rest. No CAF.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/deployment_plan.hpp"

namespace alpaserve::actors {

struct room_plan {
  // Indices into the running plan's groups to drain and unload before the new one loads; empty:
  // both fit side by side.
  std::vector<size_t> withdraw;
  // Each device that would have gone over its memory with both loaded, for the logs:
  // "n1:0 holds 0.80 GiB, the new placement needs 0.70 GiB more, has 1.00 GiB".
  std::vector<std::string> overfull;
};

// The weight bytes each device (node name, local ordinal) holds under `plan`, by group index.
[[nodiscard]] std::map<std::pair<std::string, int>, std::map<size_t, double>> device_weight_bytes(
    const deployment_plan& plan);

// Chooses the running groups to withdraw so that, per device, what stays plus what the new
// plan loads fits in the node's device memory (`memory_by_node`: bytes per device; absent or 0 =
// unlimited). Greedy: while a device is over, withdraw the running group holding the most on it.
// Running groups in `keep` (the new placement keeps them running) are never withdrawn.
[[nodiscard]] room_plan make_room(const deployment_plan& running, const deployment_plan& next,
                                  const std::map<std::string, double>& memory_by_node,
                                  const std::set<size_t>& keep = {});

}  // namespace alpaserve::actors
