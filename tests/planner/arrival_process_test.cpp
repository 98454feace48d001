#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "planner/workload/arrival_process.hpp"

using namespace alpaserve::planner;

namespace {
struct gap_moments {
  double mean, cv;
};
gap_moments gaps_of(const std::vector<double>& t) {
  double mean = 0, m2 = 0;
  for (size_t i = 1; i < t.size(); ++i) {
    const double g = t[i] - t[i - 1];
    const double d = g - mean;
    mean += d / i;
    m2 += d * (g - mean);
  }
  return {mean, std::sqrt(m2 / (t.size() - 1)) / mean};
}
}  // namespace

TEST_CASE("gamma process: 200k arrivals have the asked rate and CV within 2%") {
  for (double cv : {0.5, 1.0, 2.0}) {
    CAPTURE(cv);
    const gamma_process p(100.0, cv);
    const auto t = p.generate_arrivals(0.0, 2000.0, 11);
    REQUIRE(t.size() > 190000);
    REQUIRE(std::is_sorted(t.begin(), t.end()));
    const auto m = gaps_of(t);
    REQUIRE(1.0 / m.mean == Approx(100.0).epsilon(0.02));
    REQUIRE(m.cv == Approx(cv).epsilon(0.02));
    REQUIRE(t.size() / 2000.0 == Approx(100.0).epsilon(0.02));
  }
}

TEST_CASE("gamma process with CV 4 (bursty): rate within 2%, CV within 5%") {
  const auto t = gamma_process(100.0, 4.0).generate_arrivals(0.0, 3000.0, 12);
  const auto m = gaps_of(t);
  REQUIRE(1.0 / m.mean == Approx(100.0).epsilon(0.02));
  REQUIRE(m.cv == Approx(4.0).epsilon(0.05));
}

TEST_CASE("gamma process: arrivals lie in (start, start + duration), first = start + first gap") {
  const gamma_process p(5.0, 2.0);
  const auto t = p.generate_arrivals(100.0, 50.0, 3);
  REQUIRE(!t.empty());
  REQUIRE(t.front() > 100.0);
  REQUIRE(t.back() < 150.0);
  // Shifting the start shifts the whole stream (same gaps).
  const auto u = p.generate_arrivals(0.0, 50.0, 3);
  REQUIRE(u.size() == t.size());
  for (size_t i = 0; i < t.size(); ++i) REQUIRE(t[i] - 100.0 == Approx(u[i]).margin(1e-9));
}

TEST_CASE("gamma process is prefix-consistent: a longer duration extends the same sequence") {
  const gamma_process p(20.0, 3.0);
  const auto short_run = p.generate_arrivals(0.0, 100.0, 7);
  const auto long_run = p.generate_arrivals(0.0, 1000.0, 7);
  REQUIRE(short_run.size() < long_run.size());
  REQUIRE(std::equal(short_run.begin(), short_run.end(), long_run.begin()));
  REQUIRE(long_run[short_run.size()] >= 100.0);
  // A different seed is a different stream.
  REQUIRE(p.generate_arrivals(0.0, 100.0, 8) != short_run);
}

TEST_CASE("poisson process is the gamma process with CV 1, stream for stream") {
  const poisson_process p(3.0);
  REQUIRE(p.cv() == 1.0);
  REQUIRE(p.generate_arrivals(0.0, 500.0, 9) ==
          gamma_process(3.0, 1.0).generate_arrivals(0.0, 500.0, 9));
  REQUIRE(p.describe() == "poisson(rate=3)");
}

TEST_CASE("rate 0 gives no arrivals, and bad parameters throw with the parameter named") {
  REQUIRE(gamma_process(0.0, 2.0).generate_arrivals(0.0, 1e6, 1).empty());
  REQUIRE(deterministic_process(0.0).generate_arrivals(0.0, 1e6, 1).empty());
  REQUIRE(gamma_process(1.0, 2.0).generate_arrivals(0.0, 0.0, 1).empty());
  REQUIRE_THROWS_WITH(gamma_process(-1.0, 1.0), Catch::Contains("rate"));
  REQUIRE_THROWS_WITH(gamma_process(1.0, 0.0), Catch::Contains("cv"));
  REQUIRE_THROWS_WITH(gamma_process(1.0, -2.0), Catch::Contains("cv"));
  REQUIRE_THROWS_AS(gamma_process(NAN, 1.0), std::invalid_argument);
  REQUIRE_THROWS_AS(poisson_process(-3.0), std::invalid_argument);
  REQUIRE_THROWS_WITH(gamma_process(1.0, 1.0).generate_arrivals(0.0, -1.0, 1),
                      Catch::Contains("duration"));
}

TEST_CASE("deterministic process: int(duration*rate) ticks at start + i/rate") {
  const deterministic_process p(3.0);
  const auto t = p.generate_arrivals(10.0, 1.0, 0);
  REQUIRE(t.size() == 3);
  REQUIRE(t[0] == 10.0);
  REQUIRE(t[1] == Approx(10.0 + 1.0 / 3));
  REQUIRE(t[2] == Approx(10.0 + 2.0 / 3));
  REQUIRE(p.generate_arrivals(0.0, 2.5, 0).size() == 7);
  REQUIRE(p.cv() == 0.0);
}

TEST_CASE("uniform MMPP: exactly int(duration * mean rate) arrivals, mean rate from the states") {
  const uniform_mmpp p({1.0, 3.0}, {20.0, 4.0});
  REQUIRE(p.rate() == Approx((1.0 * 20 + 3.0 * 4) / 4.0));
  REQUIRE(!p.cv().has_value());
  const auto t = p.generate_arrivals(5.0, 5000.0, 1);
  REQUIRE(t.size() == static_cast<size_t>(5000.0 * p.rate()));
  REQUIRE(std::is_sorted(t.begin(), t.end()));
  REQUIRE(t.front() > 5.0);
  // Over a long run the realised rate approaches the mean rate.
  REQUIRE(t.size() / (t.back() - 5.0) == Approx(p.rate()).epsilon(0.05));
  REQUIRE(t == p.generate_arrivals(5.0, 5000.0, 1));
}

TEST_CASE("uniform MMPP: one state is a Poisson process, and on/off states make gaps burstier") {
  const auto poisson = uniform_mmpp({10.0}, {50.0}).generate_arrivals(0.0, 2000.0, 2);
  REQUIRE(gaps_of(poisson).cv == Approx(1.0).epsilon(0.03));
  const auto bursty = uniform_mmpp({1.0, 1.0}, {0.0, 100.0}).generate_arrivals(0.0, 2000.0, 2);
  REQUIRE(bursty.size() == 100000);
  REQUIRE(gaps_of(bursty).cv > 2.0);
  REQUIRE(uniform_mmpp({1.0}, {0.0}).generate_arrivals(0.0, 100.0, 1).empty());
}

TEST_CASE("uniform MMPP rejects mismatched or invalid states") {
  REQUIRE_THROWS_WITH(uniform_mmpp({1.0, 2.0}, {1.0}), Catch::Contains("2 state durations but 1"));
  REQUIRE_THROWS_AS(uniform_mmpp({}, {}), std::invalid_argument);
  REQUIRE_THROWS_WITH(uniform_mmpp({0.0}, {1.0}), Catch::Contains("state 0 duration"));
  REQUIRE_THROWS_WITH(uniform_mmpp({1.0}, {-1.0}), Catch::Contains("state 0 rate"));
}

TEST_CASE("pareto process: gaps X - 1, last arrival is the first at or past the end") {
  const pareto_process p(3.0, 1.0, 0.0);
  const auto t = p.generate_arrivals(0.0, 10000.0, 4);
  REQUIRE(t.back() >= 10000.0);
  REQUIRE(t[t.size() - 2] < 10000.0);
  // Mean gap of Pareto(3) - 1 = 3/2 - 1 = 0.5.
  const auto m = gaps_of(t);
  REQUIRE(m.mean == Approx(0.5).epsilon(0.03));
  REQUIRE(p.rate() == Approx(2.0));
  REQUIRE(pareto_process(4.5, 1.0).cv().has_value());
  REQUIRE(!pareto_process(1.5, 1.0).cv().has_value());
  REQUIRE(pareto_process(0.8, 1.0).rate() == 0.0);
  REQUIRE_THROWS_WITH(pareto_process(2.0, 0.5, 0.0), Catch::Contains("loc + scale"));
  REQUIRE_THROWS_AS(pareto_process(0.0, 1.0), std::invalid_argument);
}

TEST_CASE("clone keeps the process and its stream") {
  const uniform_mmpp p({2.0, 1.0}, {1.0, 5.0});
  const auto c = p.clone();
  REQUIRE(c->describe() == p.describe());
  REQUIRE(c->generate_arrivals(0, 100, 3) == p.generate_arrivals(0, 100, 3));
}
