#pragma once
// The EMULATED backend, for cluster-scale runs on a small machine: it holds no weights and does
// no compute. A stage "occupies its device" for its profiled latency: the actor asks
// emulated_stage_seconds(batch) and schedules a delayed message instead of blocking a thread.
// run() returns a zero placeholder of the right batch size. Always reported as kind "emulated".

#include <vector>

#include "kernels/device_backend.hpp"

namespace alpaserve::kernels {

class emulated_backend final : public stage_backend {
 public:
  // Needs options.stage_latency_s (non-empty, all >= 0); checks the memory budget against the
  // shard's weights at 2 bytes/parameter (or options.emulated_weight_bytes).
  void load(const shard_spec& shard, const load_options& options) override;
  // Placeholder [batch, 1] zeros; checks only that input has a batch dimension.
  [[nodiscard]] tensor run(const tensor& input, const allreduce_fn& allreduce) override;
  void unload() override;
  [[nodiscard]] std::string kind() const override { return "emulated"; }
  [[nodiscard]] size_t weight_bytes() const override { return weight_bytes_; }
  [[nodiscard]] bool is_emulated() const override { return true; }
  // latency[batch - 1]; beyond the profiled sizes, linear extrapolation from the last two
  // (or proportional to batch with one point). Throws std::invalid_argument for batch < 1.
  [[nodiscard]] double emulated_stage_seconds(int batch) const override;
  [[nodiscard]] bool loaded() const override { return loaded_; }

 private:
  shard_spec shard_;               // what is "loaded"
  std::vector<double> latency_s_;  // [b - 1] = seconds at batch b
  size_t weight_bytes_ = 0;        // what the shard would hold
  bool loaded_ = false;
};

}  // namespace alpaserve::kernels
