// The CPU backend's own ops against naive double-precision references.

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/ops.hpp"

using namespace alpaserve::kernels::cpu;

namespace {

std::vector<float> random_values(size_t n, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double naive_gelu(double x) {
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

}  // namespace

TEST_CASE("exp matches std::exp to a few ulp over the fp32 range", "[kernels][ops]") {
  std::vector<float> x = random_values(4099, 80.0f, 1);
  x.push_back(0.0f);
  x.push_back(-200.0f);  // underflows to ~0, never NaN
  std::vector<float> y = x;
  exp_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    REQUIRE(std::fabs(y[i] - ref) <= 4e-7 * ref + 1e-38);
  }
  CHECK(y.back() >= 0.0f);
  CHECK(y.back() < 1e-37f);
}

TEST_CASE("gelu matches the tanh formula, including saturation", "[kernels][ops]") {
  std::vector<float> x = random_values(1000, 12.0f, 2);
  x.insert(x.end(), {0.0f, -30.0f, 30.0f, 1.0f});
  std::vector<float> y = x;
  gelu(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i)
    REQUIRE(std::fabs(y[i] - naive_gelu(x[i])) < 2e-6 + 2e-6 * std::fabs(x[i]));
  // bias variant: gelu(x + b) row by row
  std::vector<float> bias = random_values(10, 1.0f, 3);
  std::vector<float> z(x.begin(), x.begin() + 100);
  add_bias_gelu(z.data(), bias.data(), 10, 10);
  for (int i = 0; i < 100; ++i) REQUIRE(std::fabs(z[i] - naive_gelu(x[i] + bias[i % 10])) < 1e-5);
}

TEST_CASE("softmax rows are stable for large logits and match the naive form", "[kernels][ops]") {
  const int rows = 7, cols = 33;
  std::vector<float> x = random_values(rows * cols, 5.0f, 4);
  x[0] = 1000.0f;  // naive exp would overflow
  std::vector<float> y = x;
  const float scale = 0.125f;
  scaled_softmax_rows(y.data(), rows, cols, scale);
  for (int r = 0; r < rows; ++r) {
    double mx = -1e300, sum = 0;
    for (int c = 0; c < cols; ++c) mx = std::max(mx, static_cast<double>(x[r * cols + c]) * scale);
    for (int c = 0; c < cols; ++c)
      sum += std::exp(x[r * cols + c] * static_cast<double>(scale) - mx);
    double total = 0;
    for (int c = 0; c < cols; ++c) {
      const double ref = std::exp(x[r * cols + c] * static_cast<double>(scale) - mx) / sum;
      REQUIRE(std::isfinite(y[r * cols + c]));
      REQUIRE(std::fabs(y[r * cols + c] - ref) < 1e-6);
      total += y[r * cols + c];
    }
    CHECK(total == Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("layer norm and residual layer norm match the naive form", "[kernels][ops]") {
  const int rows = 5, cols = 96;
  std::vector<float> x = random_values(rows * cols, 3.0f, 5);
  for (auto& v : x) v += 100.0f;  // a large mean tests the two-pass variance
  const std::vector<float> gamma = random_values(cols, 1.0f, 6),
                           beta = random_values(cols, 1.0f, 7);
  const std::vector<float> y = random_values(rows * cols, 1.0f, 8),
                           bias = random_values(cols, 1.0f, 9);
  std::vector<float> out(rows * cols), res = x;
  layer_norm(x.data(), out.data(), gamma.data(), beta.data(), rows, cols);
  residual_layer_norm(res.data(), y.data(), bias.data(), gamma.data(), beta.data(), rows, cols);
  for (int r = 0; r < rows; ++r) {
    for (int variant = 0; variant < 2; ++variant) {
      std::vector<double> v(cols);
      for (int c = 0; c < cols; ++c)
        v[c] = x[r * cols + c] + (variant ? static_cast<double>(y[r * cols + c]) + bias[c] : 0.0);
      double mean = 0, var = 0;
      for (double a : v) mean += a / cols;
      for (double a : v) var += (a - mean) * (a - mean) / cols;
      const std::vector<float>& got = variant ? res : out;
      for (int c = 0; c < cols; ++c) {
        const double ref = (v[c] - mean) / std::sqrt(var + layer_norm_eps) * gamma[c] + beta[c];
        REQUIRE(std::fabs(got[r * cols + c] - ref) < 2e-4);
      }
    }
  }
}

TEST_CASE("linear uses y = x w^T + b for one row and many rows", "[kernels][ops]") {
  const int k = 13, n = 9;
  for (int m : {1, 4}) {
    CAPTURE(m);
    const std::vector<float> x = random_values(m * k, 1.0f, 10), w = random_values(n * k, 1.0f, 11),
                             b = random_values(n, 1.0f, 12);
    std::vector<float> y(m * n, -7.0f);
    linear(x.data(), m, k, w.data(), n, b.data(), y.data());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double ref = b[j];
        for (int t = 0; t < k; ++t) ref += static_cast<double>(x[i * k + t]) * w[j * k + t];
        REQUIRE(std::fabs(y[i * n + j] - ref) < 1e-5);
      }
  }
}
