// The CUDA backend's own kernels: simple and correct first (one block per row / per query),
// checked against the CPU backend in tests/kernels/cuda_backend_test.cpp.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "kernels/cuda/cuda_ops.hpp"

namespace alpaserve::kernels::cuda {
namespace {

constexpr int threads = 256;

unsigned blocks_for(size_t n) {
  const size_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 8192 ? (b > 0 ? b : 1) : 8192);  // grid-stride beyond
}

// Sum over the block; every thread gets the result. blockDim.x must be a multiple of 32.
__device__ float block_sum(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // scratch may still be read by a previous reduction
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) total += scratch[w];
  return total;
}

__device__ float block_max(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) m = fmaxf(m, scratch[w]);
  return m;
}

__device__ float gelu(float x) {
  const float z = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + tanhf(z));
}

__device__ float gelu_erf(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

__device__ void store(__half* p, float v) {
  *p = __float2half_rn(v);
}
__device__ void store(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16_rn(v);
}

template <typename T>
__global__ void cast_kernel(const float* in, T* out, size_t n) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x)
    store(out + i, in[i]);
}

__global__ void embed_kernel(const int* ids, const float* tok, const float* pos, float* out,
                             int tokens, int seq, int hidden) {
  const size_t n = size_t{static_cast<unsigned>(tokens)} * hidden;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x) {
    const size_t t = i / hidden, j = i % hidden;
    out[i] = tok[size_t{static_cast<unsigned>(ids[t])} * hidden + j] + pos[(t % seq) * hidden + j];
  }
}

__global__ void layer_norm_kernel(const float* in, const float* residual, const float* bias,
                                  const float* gamma, const float* beta, float* out, int cols,
                                  float eps) {
  __shared__ float scratch[32];
  const size_t row = blockIdx.x;
  const float* r = in + row * cols;
  const float* res = residual ? residual + row * cols : nullptr;
  float* o = out + row * cols;
  float sum = 0.0f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    const float v = r[j] + (res ? res[j] : 0.0f) + (bias ? bias[j] : 0.0f);
    o[j] = v;  // same thread reads r[j] before writing o[j]: in == out is safe
    sum += v;
  }
  const float mean = block_sum(sum, scratch) / cols;
  float sq = 0.0f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    const float d = o[j] - mean;
    sq += d * d;
  }
  const float inv_std = rsqrtf(block_sum(sq, scratch) / cols + eps);
  for (int j = threadIdx.x; j < cols; j += blockDim.x)
    o[j] = (o[j] - mean) * inv_std * gamma[j] + beta[j];
}

// act: 0 none, 1 gelu (tanh form), 2 gelu (erf form)
__global__ void add_bias_kernel(float* x, const float* bias, size_t n, int cols, int act) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x) {
    const float v = x[i] + bias[i % cols];
    x[i] = act == 1 ? gelu(v) : act == 2 ? gelu_erf(v) : v;
  }
}

// grid (seq, heads, batch); dynamic shared memory: seq scores + head_dim query values.
__global__ void attention_kernel(const float* qkv, float* ctx, int seq, int heads, int dh,
                                 float scale) {
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  float* scores = smem;
  float* q = smem + seq;
  const int i = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int width = heads * dh;
  const size_t ld = 3 * size_t{static_cast<unsigned>(width)};
  const float* base = qkv + size_t{static_cast<unsigned>(b)} * seq * ld;
  for (int d = threadIdx.x; d < dh; d += blockDim.x) q[d] = base[i * ld + h * dh + d];
  __syncthreads();
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < seq; j += blockDim.x) {
    const float* k = base + j * ld + width + h * dh;
    float s = 0.0f;
    for (int d = 0; d < dh; ++d) s += q[d] * k[d];
    s *= scale;
    scores[j] = s;
    mx = fmaxf(mx, s);
  }
  mx = block_max(mx, scratch);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < seq; j += blockDim.x) {
    const float e = expf(scores[j] - mx);
    scores[j] = e;
    sum += e;
  }
  const float inv = 1.0f / block_sum(sum, scratch);  // its barriers publish scores[]
  float* out = ctx + (size_t{static_cast<unsigned>(b)} * seq + i) * width + h * dh;
  for (int d = threadIdx.x; d < dh; d += blockDim.x) {
    const float* v = base + 2 * width + h * dh + d;
    float acc = 0.0f;
    for (int j = 0; j < seq; ++j) acc += scores[j] * v[j * ld];
    out[d] = acc * inv;
  }
}

__global__ void moe_gate_kernel(const float* logits, int tokens, int experts, int k, int* expert,
                                float* weight) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= tokens) return;
  const float* l = logits + size_t{static_cast<unsigned>(t)} * experts;
  float mx = -INFINITY;
  for (int e = 0; e < experts; ++e) mx = fmaxf(mx, l[e]);
  float sum = 0.0f;
  for (int e = 0; e < experts; ++e) sum += expf(l[e] - mx);
  int* ex = expert + size_t{static_cast<unsigned>(t)} * k;
  float* w = weight + size_t{static_cast<unsigned>(t)} * k;
  float chosen = 0.0f;
  for (int s = 0; s < k; ++s) {
    int best = -1;
    float best_logit = -INFINITY;
    for (int e = 0; e < experts; ++e) {
      bool taken = false;
      for (int p = 0; p < s; ++p) taken = taken || ex[p] == e;
      if (!taken && (best < 0 || l[e] > best_logit)) {  // strict: ties keep the lower index
        best = e;
        best_logit = l[e];
      }
    }
    ex[s] = best;
    w[s] = expf(best_logit - mx) / sum;
    chosen += w[s];
  }
  for (int s = 0; s < k; ++s) w[s] /= chosen;
}

__global__ void gather_kernel(const float* src, const int* rows, int n, int cols, float* dst,
                              bool scatter) {
  const size_t total = size_t{static_cast<unsigned>(n)} * cols;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < total;
       i += size_t{gridDim.x} * blockDim.x) {
    const size_t r = i / cols, c = i % cols;
    const size_t other = size_t{static_cast<unsigned>(rows[r])} * cols + c;
    if (scatter)
      dst[other] = src[i];
    else
      dst[i] = src[other];
  }
}

__global__ void moe_combine_kernel(const float* routed, const float* weight, int tokens, int k,
                                   int cols, float* out) {
  const size_t total = size_t{static_cast<unsigned>(tokens)} * cols;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < total;
       i += size_t{gridDim.x} * blockDim.x) {
    const size_t t = i / cols, c = i % cols;
    float acc = 0.0f;
    for (int s = 0; s < k; ++s) acc += weight[t * k + s] * routed[(t * k + s) * cols + c];
    out[i] = acc;
  }
}

__global__ void moe_bias_kernel(float* out, const int* expert, const float* weight,
                                const float* biases, int tokens, int k, int cols) {
  const size_t total = size_t{static_cast<unsigned>(tokens)} * cols;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < total;
       i += size_t{gridDim.x} * blockDim.x) {
    const size_t t = i / cols, c = i % cols;
    float acc = 0.0f;
    for (int s = 0; s < k; ++s)
      acc +=
          weight[t * k + s] * biases[size_t{static_cast<unsigned>(expert[t * k + s])} * cols + c];
    out[i] += acc;
  }
}

}  // namespace

void cast_from_f32(const float* in, void* out, size_t n, storage to, cudaStream_t stream) {
  if (to == storage::fp16)
    cast_kernel<__half><<<blocks_for(n), threads, 0, stream>>>(in, static_cast<__half*>(out), n);
  else if (to == storage::bf16)
    cast_kernel<__nv_bfloat16>
        <<<blocks_for(n), threads, 0, stream>>>(in, static_cast<__nv_bfloat16*>(out), n);
}

void embed(const int* ids, const float* token_table, const float* position_table, float* out,
           int tokens, int seq, int hidden, cudaStream_t stream) {
  embed_kernel<<<blocks_for(size_t(tokens) * hidden), threads, 0, stream>>>(
      ids, token_table, position_table, out, tokens, seq, hidden);
}

void layer_norm(const float* in, const float* residual, const float* bias, const float* gamma,
                const float* beta, float* out, int rows, int cols, float eps, cudaStream_t stream) {
  if (rows > 0)
    layer_norm_kernel<<<rows, threads, 0, stream>>>(in, residual, bias, gamma, beta, out, cols,
                                                    eps);
}

void add_bias(float* x, const float* bias, int rows, int cols, cudaStream_t stream) {
  const size_t n = size_t(rows) * cols;
  add_bias_kernel<<<blocks_for(n), threads, 0, stream>>>(x, bias, n, cols, 0);
}

void add_bias_gelu(float* x, const float* bias, int rows, int cols, cudaStream_t stream,
                   bool erf_form) {
  const size_t n = size_t(rows) * cols;
  add_bias_kernel<<<blocks_for(n), threads, 0, stream>>>(x, bias, n, cols, erf_form ? 2 : 1);
}

void attention(const float* qkv, float* ctx, int batch, int seq, int heads, int head_dim,
               float scale, cudaStream_t stream) {
  const dim3 grid(seq, heads, batch);
  const size_t shared = sizeof(float) * (size_t(seq) + head_dim);
  attention_kernel<<<grid, 128, shared, stream>>>(qkv, ctx, seq, heads, head_dim, scale);
}

void moe_gate(const float* logits, int tokens, int experts, int top_k, int* expert, float* weight,
              cudaStream_t stream) {
  moe_gate_kernel<<<(tokens + 127) / 128, 128, 0, stream>>>(logits, tokens, experts, top_k, expert,
                                                            weight);
}

void gather_rows(const float* src, const int* rows, int n, int cols, float* dst,
                 cudaStream_t stream) {
  gather_kernel<<<blocks_for(size_t(n) * cols), threads, 0, stream>>>(src, rows, n, cols, dst,
                                                                      false);
}

void scatter_rows(const float* src, const int* rows, int n, int cols, float* dst,
                  cudaStream_t stream) {
  gather_kernel<<<blocks_for(size_t(n) * cols), threads, 0, stream>>>(src, rows, n, cols, dst,
                                                                      true);
}

void moe_combine(const float* routed, const float* weight, int tokens, int top_k, int cols,
                 float* out, cudaStream_t stream) {
  moe_combine_kernel<<<blocks_for(size_t(tokens) * cols), threads, 0, stream>>>(
      routed, weight, tokens, top_k, cols, out);
}

void moe_add_expert_bias(float* out, const int* expert, const float* weight, const float* biases,
                         int tokens, int top_k, int cols, cudaStream_t stream) {
  moe_bias_kernel<<<blocks_for(size_t(tokens) * cols), threads, 0, stream>>>(
      out, expert, weight, biases, tokens, top_k, cols);
}

}  // namespace alpaserve::kernels::cuda
