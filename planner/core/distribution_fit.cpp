#include "planner/core/distribution_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace alpaserve::planner {

namespace {
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
}

double digamma(double x) noexcept {
  if (!(x > 0.0) || !std::isfinite(x)) return nan_value;
  double result = 0.0;
  while (x < 10.0) {  // psi(x) = psi(x + 1) - 1/x
    result -= 1.0 / x;
    x += 1.0;
  }
  const double r = 1.0 / x;
  const double r2 = r * r;
  // ln x - 1/(2x) - sum B_2n / (2n x^2n)
  const double series =
      r2 * (1.0 / 12 - r2 * (1.0 / 120 - r2 * (1.0 / 252 - r2 * (1.0 / 240 - r2 * (1.0 / 132)))));
  return result + std::log(x) - 0.5 * r - series;
}

double trigamma(double x) noexcept {
  if (!(x > 0.0) || !std::isfinite(x)) return nan_value;
  double result = 0.0;
  while (x < 10.0) {  // psi'(x) = psi'(x + 1) + 1/x^2
    result += 1.0 / (x * x);
    x += 1.0;
  }
  const double r = 1.0 / x;
  const double r2 = r * r;
  // 1/x + 1/(2x^2) + sum B_2n / x^(2n+1)
  const double series =
      r * r2 * (1.0 / 6 - r2 * (1.0 / 30 - r2 * (1.0 / 42 - r2 * (1.0 / 30 - r2 * (5.0 / 66)))));
  return result + r + 0.5 * r2 + series;
}

std::optional<double> fit_exponential_scale(const std::vector<double>& x) {
  if (x.empty()) return std::nullopt;
  double sum = 0.0;
  for (double v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  if (!std::isfinite(mean) || mean <= 0.0) return std::nullopt;
  return mean;
}

std::optional<gamma_fit> fit_gamma(const std::vector<double>& x) {
  if (x.empty()) return std::nullopt;
  double sum = 0.0;
  for (double v : x) {
    if (!std::isfinite(v) || v <= 0.0) return std::nullopt;
    sum += v;
  }
  const double mean = sum / static_cast<double>(x.size());
  // s = log(mean) - mean(log x) = -mean(log(x / mean)): no cancellation between two large logs.
  double log_sum = 0.0;
  for (double v : x) log_sum += std::log(v / mean);
  const double s = -log_sum / static_cast<double>(x.size());
  if (!(s > 0.0) || !std::isfinite(s)) return std::nullopt;  // all samples equal: k -> infinity

  double k = (3.0 - s + std::sqrt((s - 3.0) * (s - 3.0) + 24.0 * s)) / (12.0 * s);
  double y = std::log(k);
  for (int iter = 0; iter < 100; ++iter) {
    // g(y) = log k - psi(k) - s with k = e^y; g'(y) = 1 - k psi'(k) < 0.
    const double g = std::log(k) - digamma(k) - s;
    const double dg = 1.0 - k * trigamma(k);
    if (!(dg < 0.0)) break;  // k so large that 1 - k psi'(k) rounds to 0: converged
    const double step = std::clamp(g / dg, -2.0, 2.0);
    y -= step;
    k = std::exp(y);
    if (std::abs(step) < 1e-13) break;
  }
  if (!std::isfinite(k) || k <= 0.0) return std::nullopt;
  return gamma_fit{k, mean / k};
}

std::optional<double> fit_pareto_shape(const std::vector<double>& x) {
  if (x.empty()) return std::nullopt;
  double log_sum = 0.0;
  for (double v : x) {
    if (!std::isfinite(v) || v < 1.0) return std::nullopt;
    log_sum += std::log(v);
  }
  if (!(log_sum > 0.0)) return std::nullopt;
  const double b = static_cast<double>(x.size()) / log_sum;
  if (!std::isfinite(b)) return std::nullopt;
  return b;
}

}  // namespace alpaserve::planner
