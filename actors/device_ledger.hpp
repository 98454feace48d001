#pragma once
// What each local device of a node holds: the weight bytes of every stage loaded on it, by group.
// The node agent refuses a stage that would take a device past its memory (real backends), so a
// re-shard that does not fit beside the running generation fails loudly instead of swapping.
// No CAF; docs/runtime.md "Re-sharding real models".

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace alpaserve::actors {

class device_ledger {
 public:
  // memory_bytes: each device's capacity; 0 = unlimited (nothing is ever refused).
  explicit device_ledger(double memory_bytes = 0) : memory_bytes_(memory_bytes) {}

  // Reserves `bytes` on each of `devices` for `group`. Returns why not (naming the device, what
  // it holds and for which groups, and what was asked) and reserves nothing when a device would
  // go over its memory.
  [[nodiscard]] std::optional<std::string> reserve(int32_t group,
                                                   const std::vector<int32_t>& devices,
                                                   double bytes);
  // Frees everything `group` holds on this node.
  void release(int32_t group);
  // Bytes held on `device`.
  [[nodiscard]] double used(int32_t device) const;

 private:
  double memory_bytes_;
  std::map<int32_t, std::map<int32_t, double>> held_;  // device -> group -> bytes
};

}  // namespace alpaserve::actors
