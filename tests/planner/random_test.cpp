#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "planner/core/random.hpp"

using namespace alpaserve::planner;

namespace {
struct moments {
  double mean, variance;
};
template <typename Draw>
moments sample_moments(Draw draw, int n) {
  double mean = 0, m2 = 0;
  for (int i = 1; i <= n; ++i) {
    const double x = draw();
    const double d = x - mean;
    mean += d / i;
    m2 += d * (x - mean);
  }
  return {mean, m2 / n};
}

// Kolmogorov-Smirnov distance between the sample and a CDF.
template <typename Cdf>
double ks_distance(std::vector<double> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  double d = 0;
  const double n = static_cast<double>(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, std::abs(f - i / n), std::abs((i + 1) / n - f)});
  }
  return d;
}
}  // namespace

TEST_CASE("splitmix64 matches the published first outputs of seed 0") {
  uint64_t state = 0;
  REQUIRE(splitmix64(state) == 0xe220a8397b1dcdafull);
  REQUIRE(splitmix64(state) == 0x6e789e6aa1b965f4ull);
}

TEST_CASE("same seed gives the same stream, neighbouring seeds unrelated ones") {
  random_engine a(42), b(42), c(43);
  int equal_to_c = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next_u64();
    REQUIRE(x == b.next_u64());
    equal_to_c += (x == c.next_u64());
  }
  REQUIRE(equal_to_c == 0);
}

TEST_CASE("uniform draws lie in the unit interval with mean 1/2 and variance 1/12") {
  random_engine rng(1);
  double lo = 1, hi = 0;
  auto m = sample_moments(
      [&] {
        const double u = rng.uniform();
        lo = std::min(lo, u);
        hi = std::max(hi, u);
        return u;
      },
      200000);
  REQUIRE(lo >= 0.0);
  REQUIRE(hi < 1.0);
  REQUIRE(m.mean == Approx(0.5).margin(0.005));
  REQUIRE(m.variance == Approx(1.0 / 12).epsilon(0.02));
  for (int i = 0; i < 10000; ++i) REQUIRE(rng.uniform_positive() > 0.0);
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 70000; ++i) ++hits[rng.uniform_index(7)];
  for (int h : hits) REQUIRE(h == Approx(10000).epsilon(0.05));
}

TEST_CASE("normal draws have mean 0, variance 1 and 68.3% within one sigma") {
  random_engine rng(2);
  int within = 0;
  const int n = 200000;
  auto m = sample_moments(
      [&] {
        const double x = rng.standard_normal();
        within += std::abs(x) < 1.0;
        return x;
      },
      n);
  REQUIRE(m.mean == Approx(0.0).margin(0.01));
  REQUIRE(m.variance == Approx(1.0).epsilon(0.02));
  REQUIRE(within / double(n) == Approx(0.682689).margin(0.005));
}

TEST_CASE("exponential draws follow 1 - exp(-x/mean) (KS test)") {
  random_engine rng(3);
  std::vector<double> x(100000);
  for (auto& v : x) v = rng.exponential(2.0);
  // 1% critical value of the KS statistic is 1.63 / sqrt(n).
  REQUIRE(ks_distance(x, [](double v) { return 1.0 - std::exp(-v / 2.0); }) <
          1.63 / std::sqrt(100000.0));
}

TEST_CASE("gamma sampler: mean shape*scale and variance shape*scale^2 for small and large shapes") {
  for (double shape : {0.0625, 0.3, 1.0, 2.5, 50.0}) {
    CAPTURE(shape);
    const double scale = 1.7;
    random_engine rng(4);
    gamma_sampler g(shape, scale);
    auto m = sample_moments([&] { return g(rng); }, 300000);
    REQUIRE(m.mean == Approx(shape * scale).epsilon(0.02));
    // The sample variance of a skewed gamma converges slowly: 4% at 300k draws.
    REQUIRE(m.variance == Approx(shape * scale * scale).epsilon(0.04));
  }
}

TEST_CASE("gamma sampler with shape 2 follows 1 - e^-x (1 + x) (KS test)") {
  random_engine rng(5);
  gamma_sampler g(2.0, 1.0);
  std::vector<double> x(100000);
  for (auto& v : x) v = g(rng);
  REQUIRE(ks_distance(x, [](double v) { return 1.0 - std::exp(-v) * (1.0 + v); }) <
          1.63 / std::sqrt(100000.0));
}

TEST_CASE("gamma sampler with shape 0.5 follows erf(sqrt(x)) (boost path, KS test)") {
  random_engine rng(6);
  gamma_sampler g(0.5, 1.0);
  std::vector<double> x(100000);
  for (auto& v : x) v = g(rng);
  REQUIRE(ks_distance(x, [](double v) { return std::erf(std::sqrt(v)); }) <
          1.63 / std::sqrt(100000.0));
}

TEST_CASE("gamma sampler rejects non-positive or non-finite parameters") {
  REQUIRE_THROWS_AS(gamma_sampler(0.0, 1.0), std::invalid_argument);
  REQUIRE_THROWS_AS(gamma_sampler(1.0, -1.0), std::invalid_argument);
  REQUIRE_THROWS_AS(gamma_sampler(NAN, 1.0), std::invalid_argument);
  REQUIRE_THROWS_AS(gamma_sampler(1.0, INFINITY), std::invalid_argument);
}

TEST_CASE("normal draws follow Phi (KS test), including the ziggurat tail beyond 3.44") {
  random_engine rng(8);
  std::vector<double> x(200000);
  size_t tail = 0;
  for (auto& v : x) {
    v = rng.standard_normal();
    tail += std::abs(v) > 3.442619855899;
  }
  REQUIRE(ks_distance(x, [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }) <
          1.63 / std::sqrt(200000.0));
  // P(|X| > 3.4426) = 5.76e-4: ~115 of 200k.
  REQUIRE(tail > 70);
  REQUIRE(tail < 165);
}

TEST_CASE("exponential draws beyond the ziggurat base (x > 7.7) appear at rate e^-x") {
  random_engine rng(9);
  size_t beyond = 0;
  const int n = 2000000;
  for (int i = 0; i < n; ++i) beyond += rng.standard_exponential() > 7.69711747013104972;
  // e^-7.697 * 2e6 = 907 expected.
  REQUIRE(beyond > 800);
  REQUIRE(beyond < 1020);
}
