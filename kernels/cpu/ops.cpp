#include "kernels/cpu/ops.hpp"

#include <cblas.h>

#include <cmath>
#include <cstring>

// Two clones of each hot loop: AVX2+FMA and baseline x86-64, picked by the loader (ifunc).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ALPASERVE_VECTORIZE __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ALPASERVE_VECTORIZE
#endif

namespace alpaserve::kernels::cpu {
namespace {

// exp(x): 2^n * p(r), r = x - n ln2, |r| <= ln2/2; rounding by the 1.5*2^23 trick so the loop
// needs only float adds and multiplies (vectorizes without -ffast-math).
__attribute__((always_inline)) inline float fast_exp(float x) {
  x = x > -87.3f ? x : -87.3f;  // branchless with -fno-trapping-math (kernels/CMakeLists.txt)
  x = x < 88.3f ? x : 88.3f;
  const float magic = 12582912.0f;  // 1.5 * 2^23
  const float t = x * 1.44269504088896341f + magic;
  const float n = t - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t ti;
  std::memcpy(&ti, &t, 4);
  const int32_t bits = (ti - 0x4b400000 + 127) << 23;  // integer n from t's mantissa
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

__attribute__((always_inline)) inline float gelu_one(float x) {
  const float z = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  // tanh(z) = 1 - 2 / (exp(2z) + 1); saturates correctly at both ends
  const float th = 1.0f - 2.0f / (fast_exp(2.0f * z) + 1.0f);
  return 0.5f * x * (1.0f + th);
}

}  // namespace

void linear(const float* x, int64_t m, int64_t k, const float* w, int64_t n, const float* bias,
            float* y) {
  if (m <= 0 || n <= 0) return;
  if (bias) {
    for (int64_t i = 0; i < m; ++i) std::memcpy(y + i * n, bias, sizeof(float) * n);
  }
  const float beta = bias ? 1.0f : 0.0f;
  if (m == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n), static_cast<int>(k), 1.0f, w,
                static_cast<int>(k), x, 1, beta, y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, x, static_cast<int>(k), w, static_cast<int>(k), beta, y,
                static_cast<int>(n));
  }
}

ALPASERVE_VECTORIZE void add_bias_gelu(float* x, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = x + i * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) row[j] = gelu_one(row[j] + bias[j]);
  }
}

void add_bias_gelu_erf(float* x, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = x + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const float v = row[j] + bias[j];
      row[j] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    }
  }
}

void add_bias_activation(float* x, const float* bias, int64_t rows, int64_t cols, bool erf_form) {
  if (erf_form)
    add_bias_gelu_erf(x, bias, rows, cols);
  else
    add_bias_gelu(x, bias, rows, cols);
}

ALPASERVE_VECTORIZE void gelu(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_one(x[i]);
}

ALPASERVE_VECTORIZE void exp_inplace(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = fast_exp(x[i]);
}

ALPASERVE_VECTORIZE void layer_norm(const float* in, float* out, const float* gamma,
                                    const float* beta, int64_t rows, int64_t cols, float eps) {
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int64_t i = 0; i < rows; ++i) {
    const float* r = in + i * cols;
    float* o = out + i * cols;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < cols; ++j) sum += r[j];
    const float mean = sum * inv_n;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t j = 0; j < cols; ++j) sq += (r[j] - mean) * (r[j] - mean);
    const float inv_std = 1.0f / std::sqrt(sq * inv_n + eps);
    for (int64_t j = 0; j < cols; ++j) o[j] = (r[j] - mean) * inv_std * gamma[j] + beta[j];
  }
}

ALPASERVE_VECTORIZE void residual_layer_norm(float* x, const float* y, const float* bias,
                                             const float* gamma, const float* beta, int64_t rows,
                                             int64_t cols, float eps) {
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int64_t i = 0; i < rows; ++i) {
    float* r = x + i * cols;
    const float* yr = y + i * cols;
    float sum = 0.0f;
    if (bias) {
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < cols; ++j) {
        r[j] += yr[j] + bias[j];
        sum += r[j];
      }
    } else {
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < cols; ++j) {
        r[j] += yr[j];
        sum += r[j];
      }
    }
    const float mean = sum * inv_n;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t j = 0; j < cols; ++j) sq += (r[j] - mean) * (r[j] - mean);
    const float inv_std = 1.0f / std::sqrt(sq * inv_n + eps);
    for (int64_t j = 0; j < cols; ++j) r[j] = (r[j] - mean) * inv_std * gamma[j] + beta[j];
  }
}

ALPASERVE_VECTORIZE void scaled_softmax_rows(float* x, int64_t rows, int64_t cols, float scale) {
  for (int64_t i = 0; i < rows; ++i) {
    float* r = x + i * cols;
    float mx = r[0];
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < cols; ++j) mx = r[j] > mx ? r[j] : mx;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < cols; ++j) {
      r[j] = fast_exp((r[j] - mx) * scale);
      sum += r[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < cols; ++j) r[j] *= inv;
  }
}

}  // namespace alpaserve::kernels::cpu
