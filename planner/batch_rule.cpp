#include "planner/batch_rule.hpp"

namespace alpaserve::planner {

batch_latency_table batch_latency_table::of(const config_profile* profile) noexcept {
  batch_latency_table t;
  if (profile == nullptr) return t;
  for (int s = 0; s < num_batch_slots; ++s) {
    auto it = profile->latency.find(supported_batch_sizes[s]);
    if (it != profile->latency.end()) t.by_slot[static_cast<size_t>(s)] = &it->second;
  }
  return t;
}

int batch_latency_table::largest_size() const noexcept {
  for (int s = num_batch_slots; s-- > 0;)
    if (by_slot[static_cast<size_t>(s)] != nullptr) return supported_batch_sizes[s];
  return 0;
}

int batch_slot(int bs) noexcept {
  int slot = 0;
  while (slot + 1 < num_batch_slots && supported_batch_sizes[slot + 1] <= bs) ++slot;
  return slot;
}

double batch_finish(double now, const std::vector<double>& stage_latency,
                    const dispatch_overheads& overheads) noexcept {
  double t = now + overheads.after_last_stage;
  for (double x : stage_latency) t += x;
  if (!stage_latency.empty())
    t += overheads.per_stage_hop * static_cast<double>(stage_latency.size() - 1);
  return t;
}

}  // namespace alpaserve::planner
