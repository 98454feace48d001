#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "planner/core/distribution_fit.hpp"
#include "planner/core/random.hpp"

using namespace alpaserve::planner;

TEST_CASE("digamma and trigamma match known values") {
  const double euler_gamma = 0.57721566490153286;
  const double pi2 = M_PI * M_PI;
  REQUIRE(digamma(1.0) == Approx(-euler_gamma).epsilon(1e-13));
  REQUIRE(digamma(0.5) == Approx(-euler_gamma - 2.0 * std::log(2.0)).epsilon(1e-13));
  REQUIRE(digamma(10.0) == Approx(2.251752589066721).epsilon(1e-13));
  REQUIRE(digamma(1e-3) == Approx(-1000.5755719318103).epsilon(1e-12));
  REQUIRE(trigamma(1.0) == Approx(pi2 / 6).epsilon(1e-13));
  REQUIRE(trigamma(0.5) == Approx(pi2 / 2).epsilon(1e-13));
  REQUIRE(trigamma(20.0) == Approx(0.05127082293520312).epsilon(1e-12));
  REQUIRE(std::isnan(digamma(0.0)));
  REQUIRE(std::isnan(trigamma(-1.0)));
}

TEST_CASE("gamma MLE with loc 0 recovers shape and scale of 200k samples") {
  for (auto [shape, scale] : {std::pair{0.25, 2.0}, std::pair{1.0, 0.5}, std::pair{4.0, 0.3}}) {
    CAPTURE(shape, scale);
    random_engine rng(17);
    gamma_sampler g(shape, scale);
    std::vector<double> x(200000);
    for (auto& v : x) v = g(rng);
    const auto fit = fit_gamma(x);
    REQUIRE(fit.has_value());
    REQUIRE(fit->shape == Approx(shape).epsilon(0.02));
    REQUIRE(fit->scale == Approx(scale).epsilon(0.03));
    // The MLE solves log k - psi(k) = log(mean) - mean(log x) and keeps k * theta = mean.
    double mean = 0, mean_log = 0;
    for (double v : x) {
      mean += v;
      mean_log += std::log(v);
    }
    mean /= x.size();
    mean_log /= x.size();
    REQUIRE(std::log(fit->shape) - digamma(fit->shape) ==
            Approx(std::log(mean) - mean_log).epsilon(1e-9));
    REQUIRE(fit->shape * fit->scale == Approx(mean).epsilon(1e-12));
  }
}

TEST_CASE("gamma MLE has no answer for equal, non-positive or missing samples") {
  REQUIRE(!fit_gamma({}).has_value());
  REQUIRE(!fit_gamma({2.0, 2.0, 2.0}).has_value());
  REQUIRE(!fit_gamma({1.0, 0.0, 2.0}).has_value());
  // Nearly equal samples give a huge but finite shape (CV near 0).
  const auto tight = fit_gamma({1.0, 1.0 + 1e-6, 1.0 - 1e-6});
  REQUIRE(tight.has_value());
  REQUIRE(tight->shape > 1e10);
}

TEST_CASE("exponential MLE scale is the mean, and pareto MLE shape is n / sum(log x)") {
  REQUIRE(*fit_exponential_scale({1.0, 2.0, 6.0}) == Approx(3.0));
  REQUIRE(!fit_exponential_scale({}).has_value());

  random_engine rng(3);
  std::vector<double> x(200000);
  for (auto& v : x) v = std::exp(rng.standard_exponential() / 2.5);  // Pareto(2.5), scale 1
  REQUIRE(*fit_pareto_shape(x) == Approx(2.5).epsilon(0.02));
  REQUIRE(*fit_pareto_shape({std::exp(1.0), std::exp(3.0)}) == Approx(0.5));
  REQUIRE(!fit_pareto_shape({0.5, 2.0}).has_value());  // below the support
  REQUIRE(!fit_pareto_shape({1.0, 1.0}).has_value());  // sum(log x) == 0
}
