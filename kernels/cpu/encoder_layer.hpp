#pragma once
// Forward pass of one post-LN encoder layer on the CPU (docs/models.md):
//   x = LN1(x + out_proj(attention(qkv(x))))
//   x = LN2(x + fc2(gelu(fc1(x))))       or, in an MoE layer, x = LN2(x + moe(x))
// With op_size > 1 the layer holds whole heads / an ffn slice; `allreduce` sums the partial
// outputs of out_proj and fc2 (Megatron), and the replicated biases are added after it.

#include <vector>

#include "kernels/allreduce.hpp"
#include "kernels/cpu/layer_weights.hpp"

namespace alpaserve::kernels::cpu {

// Scratch buffers, reused across calls (grown on demand).
struct layer_workspace {
  std::vector<float> qkv, scores, ctx, proj, hidden, routed;
};

// x: [batch * seq, hidden], updated in place.
void encoder_layer_forward(const layer_weights& w, float* x, int batch, int seq,
                           layer_workspace& ws, const allreduce_fn& allreduce);

// The attention half (x = LN1(x + attention)).
void attention_block(const layer_weights& w, float* x, int batch, int seq, layer_workspace& ws,
                     const allreduce_fn& allreduce);
// The dense feed-forward half (x = LN2(x + ffn)).
void ffn_block(const layer_weights& w, float* x, int tokens, layer_workspace& ws,
               const allreduce_fn& allreduce);

}  // namespace alpaserve::kernels::cpu
