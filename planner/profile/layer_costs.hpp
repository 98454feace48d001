#pragma once
// The analytic cost model: latency, weight and activation bytes of each piece of a zoo model
// (embedding, every encoder / MoE layer, output head) on one device of an op-way tensor-parallel
// stage. Formulas and calibration: docs/profiles.md, "Cost model".

#include <vector>

#include "planner/profile/device_model.hpp"
#include "planner/profile/model_zoo.hpp"

namespace alpaserve::planner {

// Costs of one piece, per device of an op-way group.
struct layer_cost {
  double latency = 0;           // seconds, compute + memory-bound ops + collectives
  double flops = 0;             // floating-point operations this device performs
  double weight_bytes = 0;      // fp16 weights this device holds
  double activation_bytes = 0;  // peak live intermediate tensors on this device
  double output_bytes = 0;      // bytes handed to the next piece (to the next stage at a boundary)
};

struct model_costs {
  layer_cost embedding;
  std::vector<layer_cost> layers;  // one per encoder layer
  layer_cost head;
};

// Throws std::invalid_argument when batch_size < 1, op < 1 or op does not divide the heads,
// hidden size, and (MoE) the number of experts.
[[nodiscard]] model_costs layer_costs(const model_architecture& arch, const device_spec& device,
                                      int batch_size, int op);
// True when op-way tensor parallelism can split this architecture evenly.
[[nodiscard]] bool op_degree_supported(const model_architecture& arch, int op) noexcept;

// Building blocks, exposed for tests and for other cost estimates.
// kernel_efficiency * g / (g + gemm_half_size) * clamp(min(m, n, k) / tile_dim, 1/8, 1),
// g = cbrt(count * m * n * k).
[[nodiscard]] double gemm_efficiency(const device_spec& d, double m, double n, double k,
                                     double count = 1) noexcept;
// count independent (m x k) * (k x n) fp16 GEMMs: roofline max(compute, memory) + one launch.
[[nodiscard]] double gemm_time(const device_spec& d, double m, double n, double k,
                               double count = 1) noexcept;
// A memory-bound kernel moving `bytes` through device memory, plus one launch.
[[nodiscard]] double memory_time(const device_spec& d, double bytes) noexcept;
// Ring all-reduce of `bytes` over op devices: 2(op-1)/op * bytes / bandwidth + 2(op-1) * alpha.
[[nodiscard]] double all_reduce_time(const device_spec& d, double bytes, int op) noexcept;

}  // namespace alpaserve::planner
