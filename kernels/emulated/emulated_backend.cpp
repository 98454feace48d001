#include "kernels/emulated/emulated_backend.hpp"

#include <stdexcept>

#include "kernels/weights.hpp"

namespace alpaserve::kernels {

void emulated_backend::load(const shard_spec& shard, const load_options& options) {
  unload();
  shard.validate();
  if (options.stage_latency_s.empty())
    throw std::runtime_error("emulated backend: model '" + shard.model.name +
                             "' needs profiled stage latencies (load_options.stage_latency_s)");
  for (double s : options.stage_latency_s)
    if (!(s >= 0.0))
      throw std::runtime_error("emulated backend: model '" + shard.model.name +
                               "' has a negative or NaN stage latency");
  const size_t wb = options.emulated_weight_bytes
                        ? options.emulated_weight_bytes
                        : shard_parameter_count(shard) * 2;  // fp16 on a GPU
  check_memory_budget(shard, wb, activation_bytes(shard, options.max_batch, 2),
                      options.memory_budget_bytes, "emulated device");
  shard_ = shard;
  latency_s_ = options.stage_latency_s;
  weight_bytes_ = wb;
  loaded_ = true;
}

double emulated_backend::emulated_stage_seconds(int batch) const {
  if (!loaded_) throw std::logic_error("emulated backend: not loaded");
  if (batch < 1) throw std::invalid_argument("batch size must be >= 1");
  const size_t n = latency_s_.size();
  if (static_cast<size_t>(batch) <= n) return latency_s_[batch - 1];
  if (n == 1) return latency_s_[0] * batch;
  const double slope = latency_s_[n - 1] - latency_s_[n - 2];
  return latency_s_[n - 1] + slope * static_cast<double>(batch - static_cast<int>(n));
}

tensor emulated_backend::run(const tensor& input, const allreduce_fn&) {
  if (!loaded_) throw std::logic_error("emulated backend: run before load");
  if (input.rank() < 1 || input.dim(0) < 1)
    throw std::invalid_argument("emulated backend: input " + shape_string(input.shape) +
                                " has no batch dimension");
  return tensor({input.dim(0), 1});
}

void emulated_backend::unload() {
  latency_s_.clear();
  weight_bytes_ = 0;
  loaded_ = false;
}

}  // namespace alpaserve::kernels
