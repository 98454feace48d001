#pragma once
// Views of one encoder layer's (local, possibly op-sliced) weights inside a weight_map.

#include <vector>

#include "kernels/model_spec.hpp"
#include "kernels/weights.hpp"

namespace alpaserve::kernels::cpu {

struct ffn_weights {
  const float* fc1_w = nullptr;  // [ffn_local, hidden]
  const float* fc1_b = nullptr;  // [ffn_local]
  const float* fc2_w = nullptr;  // [hidden, ffn_local]
  const float* fc2_b = nullptr;  // [hidden], added once after the all-reduce
};

struct layer_weights {
  int hidden = 0;
  int heads_local = 0;  // heads held by this op rank
  int head_dim = 0;
  int ffn_local = 0;  // ffn width held by this op rank
  int op_size = 1;
  float norm_eps = 1e-5f;        // model_spec::norm_eps
  bool gelu_erf = false;         // model_spec::activation
  const float* qkv_w = nullptr;  // [3 * heads_local * head_dim, hidden], rows q | k | v
  const float* qkv_b = nullptr;
  const float* out_w = nullptr;  // [hidden, heads_local * head_dim]
  const float* out_b = nullptr;  // [hidden]
  const float* norm1_g = nullptr;
  const float* norm1_b = nullptr;
  bool moe = false;
  ffn_weights ffn;                   // dense layers
  const float* gate_w = nullptr;     // MoE: [num_experts, hidden], replicated
  std::vector<ffn_weights> experts;  // MoE: num_experts, each op-sliced like ffn
  int top_k = 0;
  const float* norm2_g = nullptr;
  const float* norm2_b = nullptr;
};

// Views into `weights` (which must outlive the result) for global layer index `layer`.
[[nodiscard]] layer_weights bind_layer(const shard_spec& shard, int layer,
                                       const weight_map& weights);

}  // namespace alpaserve::kernels::cpu
