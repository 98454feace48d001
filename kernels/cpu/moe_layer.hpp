#pragma once
// Mixture-of-experts feed-forward on the CPU: softmax gating, top-k experts per token (ties go
// to the lower expert index), the k gate probabilities renormalized to sum to 1, each expert an
// ffn (fc1, gelu, fc2), outputs combined with those weights (docs/models.md).

#include <vector>

#include "kernels/allreduce.hpp"
#include "kernels/cpu/encoder_layer.hpp"

namespace alpaserve::kernels::cpu {

struct moe_routing {
  int tokens = 0;
  int top_k = 0;
  std::vector<int> expert;    // [tokens * top_k], best first
  std::vector<float> weight;  // [tokens * top_k], renormalized gate probabilities
};

// Routing from gate logits [tokens, experts].
[[nodiscard]] moe_routing route_tokens(const float* logits, int tokens, int experts, int top_k);

// The MoE half of an MoE layer (x = LN2(x + moe(x))); x: [tokens, hidden] in place.
void moe_block(const layer_weights& w, float* x, int tokens, layer_workspace& ws,
               const allreduce_fn& allreduce);

}  // namespace alpaserve::kernels::cpu
