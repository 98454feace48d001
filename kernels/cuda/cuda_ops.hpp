#pragma once
// Launchers for the CUDA backend's own kernels (cuda_ops.cu). All pointers are device pointers,
// matrices row-major; every launcher is asynchronous on `stream`.

#include <cuda_runtime_api.h>

#include <cstddef>

namespace alpaserve::kernels::cuda {

enum class storage { fp32, fp16, bf16 };

// out[i] = (half or bfloat16) in[i]
void cast_from_f32(const float* in, void* out, size_t n, storage to, cudaStream_t stream);
// out[t, :] = tokens[ids[t], :] + positions[t % seq, :]
void embed(const int* ids, const float* token_table, const float* position_table, float* out,
           int tokens, int seq, int hidden, cudaStream_t stream);
// out = layer_norm(in + residual + bias) row-wise; residual and bias may be null; in may equal out.
void layer_norm(const float* in, const float* residual, const float* bias, const float* gamma,
                const float* beta, float* out, int rows, int cols, float eps, cudaStream_t stream);
// x[r, c] += bias[c]
void add_bias(float* x, const float* bias, int rows, int cols, cudaStream_t stream);
// x[r, c] = gelu(x[r, c] + bias[c]) (tanh form, as the CPU backend)
// erf_form: 0.5 x (1 + erf(x / sqrt 2)) (model_spec::activation gelu_erf), else the tanh form.
void add_bias_gelu(float* x, const float* bias, int rows, int cols, cudaStream_t stream,
                   bool erf_form = false);
// Multi-head attention for every (batch, head, query): qkv [batch * seq, 3 * width] with column
// blocks q | k | v (width = heads * head_dim); ctx [batch * seq, width].
void attention(const float* qkv, float* ctx, int batch, int seq, int heads, int head_dim,
               float scale, cudaStream_t stream);
// Per token: softmax over experts, top-k (ties to the lower index), renormalized weights.
void moe_gate(const float* logits, int tokens, int experts, int top_k, int* expert, float* weight,
              cudaStream_t stream);
// dst[i, :] = src[rows[i], :]
void gather_rows(const float* src, const int* rows, int n, int cols, float* dst,
                 cudaStream_t stream);
// dst[rows[i], :] = src[i, :]
void scatter_rows(const float* src, const int* rows, int n, int cols, float* dst,
                  cudaStream_t stream);
// out[t, :] = sum_s weight[t, s] * routed[t * k + s, :]
void moe_combine(const float* routed, const float* weight, int tokens, int top_k, int cols,
                 float* out, cudaStream_t stream);
// out[t, :] += sum_s weight[t, s] * biases[expert[t, s], :]
void moe_add_expert_bias(float* out, const int* expert, const float* weight, const float* biases,
                         int tokens, int top_k, int cols, cudaStream_t stream);

}  // namespace alpaserve::kernels::cuda
