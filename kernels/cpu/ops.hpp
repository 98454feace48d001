#pragma once
// Element-wise and row-wise fp32 ops of the CPU backend. Loops are written to auto-vectorize;
// the .cpp compiles each hot function twice (x86-64-v3 = AVX2+FMA, and baseline) and picks one
// at load time (GCC target_clones), so the binary runs on any x86-64 (docs/backends.md).

#include <cstdint>

namespace alpaserve::kernels::cpu {

inline constexpr float layer_norm_eps = 1e-5f;

// y[m, n] = x[m, k] * w[n, k]^T (+ bias[n] when not null). Row-major; w in nn.Linear layout.
// m == 1 goes to cblas_sgemv (sgemm is ~20x slower on a single row).
void linear(const float* x, int64_t m, int64_t k, const float* w, int64_t n, const float* bias,
            float* y);

// x[i] = gelu(x[i] + bias[i % cols]), tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void add_bias_gelu(float* x, const float* bias, int64_t rows, int64_t cols);
// x[i] = gelu(x[i] + bias[i % cols]), exact form: 0.5 x (1 + erf(x / sqrt(2))).
void add_bias_gelu_erf(float* x, const float* bias, int64_t rows, int64_t cols);
// add_bias_gelu or add_bias_gelu_erf.
void add_bias_activation(float* x, const float* bias, int64_t rows, int64_t cols, bool erf_form);
void gelu(float* x, int64_t n);

// Row-wise layer norm: out = (in - mean) / sqrt(var + eps) * gamma + beta. in may equal out.
void layer_norm(const float* in, float* out, const float* gamma, const float* beta, int64_t rows,
                int64_t cols, float eps = layer_norm_eps);
// Post-LN residual: x = layer_norm(x + y + bias) (bias may be null), row-wise.
void residual_layer_norm(float* x, const float* y, const float* bias, const float* gamma,
                         const float* beta, int64_t rows, int64_t cols, float eps = layer_norm_eps);

// Row-wise softmax of scale * x, numerically stable (max subtracted), in place.
void scaled_softmax_rows(float* x, int64_t rows, int64_t cols, float scale);

// exp(x) for x in fp32 range (Cephes-style polynomial, ~2 ulp), vectorizable.
void exp_inplace(float* x, int64_t n);

}  // namespace alpaserve::kernels::cpu
