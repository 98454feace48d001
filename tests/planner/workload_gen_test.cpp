#include <algorithm>
#include <cmath>
#include <numeric>

#include <catch2/catch.hpp>

#include "planner/workload/workload_gen.hpp"

using namespace alpaserve::planner;

namespace {
workload make(std::vector<double> t, std::vector<int32_t> m, std::vector<std::string> names) {
  workload w;
  w.arrivals = std::move(t);
  w.model = std::move(m);
  w.model_names = std::move(names);
  return w;
}
double sum(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}
}  // namespace

TEST_CASE("rate distributions follow the reference formulas and sum to the total") {
  REQUIRE(uniform_rates(4, 10.0) == std::vector<double>{2.5, 2.5, 2.5, 2.5});

  const auto p = power_law_rates(3, 12.0);
  const double z = 1.0 + 1.0 / std::sqrt(2.0) + 1.0 / std::sqrt(3.0);
  REQUIRE(p[0] == Approx(12.0 / z));
  REQUIRE(p[1] == Approx(12.0 / std::sqrt(2.0) / z));
  REQUIRE(p[2] == Approx(12.0 / std::sqrt(3.0) / z));
  REQUIRE(sum(power_law_rates(48, 20.0, 0.8)) == Approx(20.0));

  // Weights 1, 1/2, 1/2, 1/4 x4 -> sum 3 for 7 models.
  const auto t = triangle_decay_rates(7, 6.0);
  REQUIRE(t == std::vector<double>{2.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5});
  REQUIRE(triangle_decay_rates(2, 3.0) == std::vector<double>{2.0, 1.0});

  REQUIRE(normalize_rates({1.0, 3.0}, 8.0) == std::vector<double>{2.0, 6.0});
  REQUIRE_THROWS_WITH(normalize_rates({0.0, 0.0}, 1.0), Catch::Contains("all weights are zero"));
  REQUIRE_THROWS_WITH(normalize_rates({1.0, -1.0}, 1.0), Catch::Contains("weight 1"));
  REQUIRE_THROWS_AS(uniform_rates(3, -1.0), std::invalid_argument);
  REQUIRE(default_model_names(3) == std::vector<std::string>{"m0", "m1", "m2"});
}

TEST_CASE("generate_workload: model i uses seed base + i, merged in arrival order") {
  const auto names = default_model_names(3);
  const auto rates = power_law_rates(3, 30.0);
  const auto w = gamma_workload(names, rates, 2.0, 200.0, 100);
  REQUIRE(w.model_names == names);
  REQUIRE(w.model.size() == w.arrivals.size());
  REQUIRE(std::is_sorted(w.arrivals.begin(), w.arrivals.end()));
  REQUIRE_NOTHROW(check_workload(w));
  for (int m = 0; m < 3; ++m) {
    std::vector<double> mine;
    for (size_t j = 0; j < w.size(); ++j) {
      if (w.model[j] == m) mine.push_back(w.arrivals[j]);
    }
    REQUIRE(mine == gamma_process(rates[m], 2.0).generate_arrivals(0.0, 200.0, 100 + m));
  }
  // Deterministic: the same call gives the same workload.
  const auto again = gamma_workload(names, rates, 2.0, 200.0, 100);
  REQUIRE(again.arrivals == w.arrivals);
  REQUIRE(again.model == w.model);
}

TEST_CASE("generate_workload breaks equal arrival times by model index") {
  std::vector<arrival_process_ptr> ps;
  ps.push_back(std::make_unique<deterministic_process>(2.0));
  ps.push_back(std::make_unique<deterministic_process>(1.0));
  ps.push_back(std::make_unique<deterministic_process>(2.0));
  const auto w = generate_workload({"a", "b", "c"}, ps, 0.0, 2.0, 0);
  REQUIRE(w.arrivals == std::vector<double>{0, 0, 0, 0.5, 0.5, 1, 1, 1, 1.5, 1.5});
  REQUIRE(w.model == std::vector<int32_t>{0, 1, 2, 0, 2, 0, 1, 2, 0, 2});
  std::vector<arrival_process_ptr> one;
  one.push_back(std::make_unique<poisson_process>(1.0));
  REQUIRE_THROWS_WITH(generate_workload({"a", "b"}, one, 0, 1, 0),
                      Catch::Contains("2 model names but 1 processes"));
}

TEST_CASE("merge_workloads merges model tables by name and keeps equal times in input order") {
  const auto a = make({0.0, 1.0, 2.0}, {0, 1, 0}, {"x", "y"});
  const auto b = make({1.0, 0.5}, {0, 1}, {"y", "z"});  // unsorted on purpose
  const auto m = merge_workloads({a, b});
  REQUIRE(m.model_names == std::vector<std::string>{"x", "y", "z"});
  REQUIRE(m.arrivals == std::vector<double>{0.0, 0.5, 1.0, 1.0, 2.0});
  // b's z at 0.5, then a's y at 1.0 before b's y at 1.0.
  REQUIRE(m.model == std::vector<int32_t>{0, 2, 1, 1, 0});
  REQUIRE(merge_workloads({}).empty());
  const auto bad = make({0.0}, {3}, {"x"});
  REQUIRE_THROWS_AS(merge_workloads({bad}), std::invalid_argument);
}

TEST_CASE("split_time_interval: a request later than window start + T opens a window at itself") {
  const auto w = make({0.0, 0.5, 1.0, 1.01, 2.5, 2.6, 10.0}, {0, 1, 0, 1, 0, 1, 0}, {"a", "b"});
  const auto parts = split_time_interval(w, 1.0);
  REQUIRE(parts.size() == 4);
  REQUIRE(parts[0].arrivals == std::vector<double>{0.0, 0.5, 1.0});  // 1.0 is not > 0 + 1
  REQUIRE(parts[1].arrivals == std::vector<double>{1.01});           // 2.5 > 1.01 + 1
  REQUIRE(parts[2].arrivals == std::vector<double>{2.5, 2.6});
  REQUIRE(parts[3].arrivals == std::vector<double>{10.0});
  REQUIRE(parts[2].model == std::vector<int32_t>{0, 1});
  REQUIRE(parts[3].model_names == w.model_names);
  REQUIRE(split_time_interval(workload{}, 1.0).empty());
  REQUIRE_THROWS_AS(split_time_interval(w, 0.0), std::invalid_argument);
}

TEST_CASE("split_round_robin deals request j to part j mod k") {
  const auto w = make({0, 1, 2, 3, 4}, {0, 1, 0, 1, 0}, {"a", "b"});
  const auto parts = split_round_robin(w, 2);
  REQUIRE(parts.size() == 2);
  REQUIRE(parts[0].arrivals == std::vector<double>{0, 2, 4});
  REQUIRE(parts[1].arrivals == std::vector<double>{1, 3});
  REQUIRE(parts[1].model == std::vector<int32_t>{1, 1});
  REQUIRE(split_round_robin(w, 7).size() == 7);
  REQUIRE_THROWS_AS(split_round_robin(w, 0), std::invalid_argument);
}

TEST_CASE("time_window keeps start <= t < end") {
  const auto w = make({0, 1, 2, 3, 4}, {0, 1, 0, 1, 0}, {"a", "b"});
  const auto cut = time_window(w, 1.0, 3.0);
  REQUIRE(cut.arrivals == std::vector<double>{1, 2});
  REQUIRE(cut.model == std::vector<int32_t>{1, 0});
  REQUIRE(cut.model_names == w.model_names);
  REQUIRE(time_window(w, 3.5, 3.7).empty());
  REQUIRE(time_window(w, 5, 1).empty());
}

TEST_CASE("stats: rate = 1/(mean gap + 1e-6), cv = population std of gaps * rate") {
  const auto w = make({0, 1, 2, 4}, {0, 0, 1, 0}, {"a", "b"});
  const auto s = overall_stats(w);
  const double rate = 1.0 / (4.0 / 3.0 + 1e-6);
  REQUIRE(s.count == 4);
  REQUIRE(s.rate == Approx(rate).epsilon(1e-12));
  REQUIRE(s.cv == Approx(std::sqrt(2.0 / 9.0) * rate).epsilon(1e-12));
  const auto per = per_model_stats(w);
  REQUIRE(per.size() == 2);
  REQUIRE(per[0].count == 3);  // 0, 1, 4: gaps 1, 3
  REQUIRE(per[0].rate == Approx(1.0 / (2.0 + 1e-6)));
  REQUIRE(per[0].cv == Approx(1.0 * per[0].rate));
  REQUIRE(per[1].count == 1);
  REQUIRE(per[1].rate == 0.0);
  REQUIRE(per[1].cv == 0.0);
}

TEST_CASE("per-model stats of a generated gamma workload recover each model's rate and CV") {
  const auto names = default_model_names(4);
  const auto rates = uniform_rates(4, 200.0);
  const auto w = gamma_workload(names, rates, 2.0, 4000.0, 0);
  for (const auto& s : per_model_stats(w)) {
    REQUIRE(s.rate == Approx(50.0).epsilon(0.02));
    REQUIRE(s.cv == Approx(2.0).epsilon(0.03));
  }
  // Merging independent streams pulls the aggregate CV towards 1.
  const auto all = overall_stats(w);
  REQUIRE(all.rate == Approx(200.0).epsilon(0.02));
  REQUIRE(all.cv < 2.0);
}

TEST_CASE("check_workload names the first problem") {
  REQUIRE_THROWS_WITH(check_workload(make({1, 0}, {0, 0}, {"a"})),
                      Catch::Contains("request 1") && Catch::Contains("before"));
  REQUIRE_THROWS_WITH(check_workload(make({0}, {1}, {"a"})), Catch::Contains("model index 1"));
  REQUIRE_THROWS_WITH(check_workload(make({-1}, {0}, {"a"})), Catch::Contains(">= 0"));
  REQUIRE_THROWS_AS(check_workload(make({0, 1}, {0}, {"a"})), std::invalid_argument);
}
