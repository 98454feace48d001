#include "kernels/device_backend.hpp"

#include <cstdio>
#include <stdexcept>

#include "kernels/cpu/cpu_backend.hpp"
#include "kernels/cuda_device.hpp"
#include "kernels/emulated/emulated_backend.hpp"
#ifdef ALPASERVE_HAVE_CUDA
#include "kernels/cuda/cuda_backend.hpp"
#endif

namespace alpaserve::kernels {

stage_backend::~stage_backend() = default;

double stage_backend::emulated_stage_seconds(int) const {
  throw std::logic_error("emulated_stage_seconds called on the real backend '" + kind() + "'");
}

tensor stage_backend::run_device(const tensor&, const device_allreduce&) {
  throw std::logic_error("backend '" + kind() + "' takes no device all-reduce");
}

tensor stage_backend::run_linked(const tensor&, const allreduce_fn&, const device_allreduce*,
                                 const device_link&) {
  throw std::logic_error("backend '" + kind() + "' takes no device link");
}

std::unique_ptr<stage_backend> make_backend(const std::string& kind) {
  if (kind == "cpu") return std::make_unique<cpu::cpu_backend>();
  if (kind == "emulated") return std::make_unique<emulated_backend>();
  if (kind == "cuda") {
#ifdef ALPASERVE_HAVE_CUDA
    return std::make_unique<cuda::cuda_backend>();
#else
    throw std::runtime_error("backend 'cuda': this build has no CUDA support (nvcc not found)");
#endif
  }
  throw std::invalid_argument("unknown backend '" + kind + "' (expected cpu, cuda or emulated)");
}

#ifndef ALPASERVE_HAVE_CUDA
int cuda_device_count() noexcept {
  return 0;
}
#endif

size_t activation_bytes(const shard_spec& shard, int max_batch, size_t bytes_per_value) {
  const model_spec& m = shard.model;
  const size_t tokens = static_cast<size_t>(max_batch > 0 ? max_batch : 1) * m.seq_len;
  const size_t width = static_cast<size_t>(m.hidden) / shard.op_size;
  size_t per_token = 2 * m.hidden + 4 * width + m.ffn_dim() / shard.op_size;
  if (m.kind == model_kind::moe) per_token += static_cast<size_t>(m.top_k) * m.hidden;
  size_t values = tokens * per_token + static_cast<size_t>(m.seq_len) * m.seq_len;
  if (shard.has_head) values += static_cast<size_t>(max_batch) * m.vocab;
  return values * bytes_per_value;
}

void check_memory_budget(const shard_spec& shard, size_t weight_bytes, size_t act_bytes,
                         size_t budget, const std::string& device) {
  const size_t need = weight_bytes + act_bytes;
  if (budget == 0 || need <= budget) return;
  auto mib = [](size_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1 << 20));
    return std::string(buf);
  };
  throw std::runtime_error(
      "model '" + shard.model.name + "' stage layers [" + std::to_string(shard.layer_begin) + ", " +
      std::to_string(shard.layer_end) + ") op rank " + std::to_string(shard.op_rank) + "/" +
      std::to_string(shard.op_size) + " needs " + mib(need) + " (" + mib(weight_bytes) +
      " weights + " + mib(act_bytes) + " activations) but the " + device + " budget is " +
      mib(budget));
}

}  // namespace alpaserve::kernels
