#include "planner/profile/layer_costs.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace alpaserve::planner {

namespace {

constexpr double fp16 = 2.0;  // bytes per value

// Memory-bound traffic per token of one encoder layer, in units of hidden-size values:
// two layer norms (read + write) and two residual adds (2 reads + 1 write) act on the full hidden
// vector on every device; the GELU (read + write) acts on the device's 4h/op slice.
constexpr double replicated_elementwise_values = 2 * 2 + 2 * 3;
constexpr double gelu_values = 2 * 4;
// Softmax over attention scores: write scores, read + write probabilities, read again for A*V.
constexpr double softmax_passes = 4;

struct shape {
  double b, s, h, heads, p, m;  // batch, seq, hidden, local heads, op degree, tokens b*s
};

// Attention block: QKV, scores, softmax, A*V, output projection, its all-reduce; plus layer norm
// and residual traffic for the whole layer.
layer_cost attention_block(const model_architecture& a, const device_spec& d, const shape& x) {
  layer_cost c;
  const double head_dim = a.head_dim();
  const double attn_batches = x.b * x.heads;
  c.latency += gemm_time(d, x.m, 3 * x.h / x.p, x.h);
  c.latency += gemm_time(d, a.seq_len, a.seq_len, head_dim, attn_batches);
  c.latency += memory_time(d, attn_batches * x.s * x.s * fp16 * softmax_passes);
  c.latency += gemm_time(d, a.seq_len, head_dim, a.seq_len, attn_batches);
  c.latency += gemm_time(d, x.m, x.h, x.h / x.p);
  c.latency += 4 * memory_time(d, x.m * x.h * fp16 * replicated_elementwise_values / 4);
  c.latency += all_reduce_time(d, x.m * x.h * fp16, static_cast<int>(x.p));
  c.flops += 2 * x.m * x.h * x.h * 4 / x.p + 4 * x.b * x.s * x.s * x.h / x.p;
  return c;
}

}  // namespace

bool op_degree_supported(const model_architecture& a, int op) noexcept {
  if (op < 1 || a.heads % op != 0 || a.hidden % op != 0) return false;
  if (a.type == model_architecture::kind::moe && a.num_experts % op != 0) return false;
  return true;
}

double gemm_efficiency(const device_spec& d, double m, double n, double k, double count) noexcept {
  const double g = std::cbrt(count * m * n * k);
  // Narrow GEMMs leave tensor-core tile lanes idle; libraries switch to GEMV-like kernels before
  // the waste exceeds 8x, hence the floor.
  const double fill = std::clamp(std::min({m, n, k}) / d.tile_dim, 1.0 / 8, 1.0);
  return d.kernel_efficiency * g / (g + d.gemm_half_size) * fill;
}

double gemm_time(const device_spec& d, double m, double n, double k, double count) noexcept {
  const double flops = 2 * m * n * k * count;
  const double bytes = fp16 * count * (m * k + k * n + m * n);
  return std::max(flops / (d.peak_flops * gemm_efficiency(d, m, n, k, count)),
                  bytes / d.memory_bandwidth) +
         d.kernel_launch;
}

double memory_time(const device_spec& d, double bytes) noexcept {
  return bytes / d.memory_bandwidth + d.kernel_launch;
}

double all_reduce_time(const device_spec& d, double bytes, int op) noexcept {
  if (op <= 1) return 0;
  const double steps = 2.0 * (op - 1);
  return steps / op * bytes / d.interconnect_bandwidth + steps * d.collective_latency;
}

model_costs layer_costs(const model_architecture& a, const device_spec& d, int batch_size, int op) {
  if (batch_size < 1) throw std::invalid_argument("batch size must be >= 1");
  if (!op_degree_supported(a, op))
    throw std::invalid_argument("op degree " + std::to_string(op) + " does not divide " + a.name);
  const shape x{static_cast<double>(batch_size), static_cast<double>(a.seq_len),
                static_cast<double>(a.hidden),   static_cast<double>(a.heads) / op,
                static_cast<double>(op),         static_cast<double>(batch_size) * a.seq_len};
  const double hidden_state = x.m * x.h * fp16;
  model_costs out;

  // Embedding: vocabulary-parallel word table (all-reduce of the looked-up rows when op > 1),
  // replicated position table; a gather and an add, memory bound.
  {
    layer_cost& c = out.embedding;
    const double word = static_cast<double>(a.vocab) * x.h;
    c.weight_bytes = (word / x.p + embedding_parameters(a) - word) * fp16;
    c.latency = memory_time(d, 3 * hidden_state) + memory_time(d, 3 * hidden_state) +
                all_reduce_time(d, hidden_state, op);
    c.activation_bytes = 2 * hidden_state;
    c.output_bytes = hidden_state;
  }

  for (int i = 0; i < a.layers; ++i) {
    layer_cost c = attention_block(a, d, x);
    const double h = x.h;
    const double norms = 4 * h;
    const double ffn_params = 8 * h * h + 5 * h;
    const double attention_params = 4 * h * h + 4 * h;
    if (!a.is_moe_layer(i)) {
      // Megatron-style FFN: column-parallel h -> 4h, row-parallel 4h -> h, one all-reduce.
      c.latency += gemm_time(d, x.m, 4 * h / x.p, h);
      c.latency += memory_time(d, x.m * h * fp16 * gelu_values / x.p);
      c.latency += gemm_time(d, x.m, h, 4 * h / x.p);
      c.latency += all_reduce_time(d, hidden_state, op);
      c.flops += 2 * x.m * h * 4 * h * 2 / x.p;
      c.weight_bytes = ((attention_params + ffn_params) / x.p + norms) * fp16;
      c.activation_bytes = 2 * hidden_state +
                           std::max(x.b * x.heads * x.s * x.s * fp16, x.m * 4 * h / x.p * fp16) +
                           x.m * 3 * h / x.p * fp16;
    } else {
      // Expert parallelism: tokens are replicated after the attention all-reduce, so each device
      // routes them to its num_experts/op local experts without a dispatch exchange; the combined
      // outputs are summed with one all-reduce.
      const double experts = a.num_experts;
      const double local_experts = experts / x.p;
      const double capacity =
          std::ceil(a.capacity_factor * a.top_k * x.m / experts);            // tokens per expert
      c.latency += gemm_time(d, x.m, experts, h);                            // gate (replicated)
      c.latency += memory_time(d, x.m * experts * fp16 * 3);                 // gate softmax + top-k
      c.latency += memory_time(d, 2 * local_experts * capacity * h * fp16);  // dispatch gather
      c.latency += gemm_time(d, capacity, 4 * h, h, local_experts);
      c.latency += memory_time(d, local_experts * capacity * h * fp16 * gelu_values);
      c.latency += gemm_time(d, capacity, h, 4 * h, local_experts);
      c.latency += memory_time(d, 2 * local_experts * capacity * h * fp16);  // combine scatter
      c.latency += all_reduce_time(d, hidden_state, op);
      c.flops += 2 * x.m * h * experts + 2 * local_experts * capacity * h * 4 * h * 2;
      c.weight_bytes =
          ((attention_params + experts * ffn_params) / x.p + norms + h * experts) * fp16;
      c.activation_bytes = 2 * hidden_state +
                           std::max(x.b * x.heads * x.s * x.s * fp16, x.m * 3 * h / x.p * fp16) +
                           local_experts * capacity * 5 * h * fp16;
    }
    c.output_bytes = hidden_state;
    out.layers.push_back(c);
  }

  // Sequence-classification head on the first token: pooler + classifier, replicated.
  {
    layer_cost& c = out.head;
    c.latency = gemm_time(d, x.b, x.h, x.h) + gemm_time(d, x.b, a.num_labels, x.h);
    c.flops = 2 * x.b * x.h * (x.h + a.num_labels);
    c.weight_bytes = head_parameters(a) * fp16;
    c.activation_bytes = x.b * x.h * fp16 * 2;
    c.output_bytes = x.b * a.num_labels * 4;  // fp32 logits
  }
  return out;
}

}  // namespace alpaserve::planner
