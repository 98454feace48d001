// Statistics follow Workload.compute_stats / fast_stats of the reference (section 4.4).

#include <catch2/catch.hpp>
#include <cmath>

#include "planner/sim/sim_stats.hpp"

using namespace alpaserve::planner;

namespace {
// Ten requests one second apart; even ones to "a", odd ones to "b" (b also gets the last).
workload ten_requests() {
  workload w;
  w.model_names = {"a", "b"};
  for (int i = 0; i < 10; ++i) {
    w.arrivals.push_back(i);
    w.model.push_back(i % 2);
  }
  return w;
}
}  // namespace

TEST_CASE("compute_stats trims int(warmup / span * N) requests at each end") {
  const workload w = ten_requests();
  std::vector<double> finish;
  std::vector<uint8_t> good;
  for (int i = 0; i < 10; ++i) {
    good.push_back(i < 5 ? 1 : 0);
    finish.push_back(good.back() ? i + 0.5 : i);  // good ones take 0.5 s, rejected ones 0
  }
  // skip = int(1 / 9 * 10) = 1: requests 1..8 are kept.
  const sim_stats st = compute_stats(w, finish, good, 1.0);
  REQUIRE(st.skipped == 1);
  REQUIRE(st.num_requests == 8);
  REQUIRE(st.goodput == 4.0 / 8);           // requests 1..4 good out of 1..8
  REQUIRE(st.latency_mean == 0.5 * 4 / 8);  // rejected ones count with latency 0
  REQUIRE(st.request_rate == 8.0 / (8 - 1));
  // skip = int(2 / 9 * 10) = 2: requests 2..7.
  const sim_stats st2 = compute_stats(w, finish, good, 2.0);
  REQUIRE(st2.num_requests == 6);
  REQUIRE(st2.goodput == 3.0 / 6);
}

TEST_CASE("compute_stats keeps every request when the warm-up rounds to zero") {
  const workload w = ten_requests();
  std::vector<double> finish(10);
  std::vector<uint8_t> good(10, 1);
  for (int i = 0; i < 10; ++i) finish[i] = i + 0.25;
  const sim_stats st = compute_stats(w, finish, good, 0.5);  // int(0.5/9*10) = 0
  REQUIRE(st.skipped == 0);
  REQUIRE(st.num_requests == 10);
  REQUIRE(st.goodput == 1.0);
  // A warm-up longer than the trace leaves nothing: zeros, no crash.
  const sim_stats none = compute_stats(w, finish, good, 100.0);
  REQUIRE(none.num_requests == 0);
  REQUIRE(none.per_model.empty());
}

TEST_CASE("per-model stats: ascending request count, reference percentile index rule") {
  workload w;
  w.model_names = {"big", "small"};
  std::vector<double> finish;
  std::vector<uint8_t> good;
  // 20 "big" requests with latencies 1..20 (all good) and 3 "small" ones (1 good).
  for (int i = 0; i < 20; ++i) {
    w.arrivals.push_back(i);
    w.model.push_back(0);
    finish.push_back(i + (i + 1));
    good.push_back(1);
  }
  for (int i = 0; i < 3; ++i) {
    w.arrivals.push_back(20 + i);
    w.model.push_back(1);
    good.push_back(i == 1 ? 1 : 0);
    finish.push_back(good.back() ? 20 + i + 0.5 : 20 + i);
  }
  const sim_stats st = compute_stats(w, finish, good, 0.0);
  REQUIRE(st.per_model.size() == 2);
  REQUIRE(st.per_model[0].name == "small");  // fewer requests first
  REQUIRE(st.per_model[0].goodput == Approx(1.0 / 3));
  REQUIRE(st.per_model[0].latency_mean == 0.5);
  REQUIRE(st.per_model[0].throughput == 0);  // a single good request spans no time
  const per_model_stats& big = st.per_model[1];
  REQUIRE(big.num_requests == 20);
  REQUIRE(big.latency_p90 == 19);  // sorted[int(0.9 * 20)] = sorted[18]
  REQUIRE(big.latency_p99 == 20);  // sorted[int(0.99 * 20)] = sorted[19]
  REQUIRE(big.latency_mean == 10.5);
  REQUIRE(big.latency_std == Approx(std::sqrt((20.0 * 20 - 1) / 12)));
  REQUIRE(big.throughput == 20.0 / 19);  // #good / (last good start - first good start)
  REQUIRE(st.goodput == 21.0 / 23);
}

TEST_CASE("fast_stats: no trimming, per-model goodput with the reference's epsilon") {
  workload w = ten_requests();
  sim_result r;
  r.finish.resize(10);
  r.good.assign(10, 0);
  for (int i = 0; i < 10; ++i) r.finish[i] = i;
  r.good[0] = r.good[2] = 1;
  r.finish[0] = 0.5;
  r.finish[2] = 2.25;
  r.model_num_requests = {5, 5};
  r.model_num_good = {2, 0};
  r.group_num_requests = {7, 3};
  std::vector<model_data> models(2);
  models[0].name = "a";
  models[1].name = "b";
  const sim_stats st = fast_stats(w, r, models);
  REQUIRE(st.num_requests == 10);
  REQUIRE(st.goodput == 0.2);
  REQUIRE(st.latency_mean == 0.75 / 10);
  REQUIRE(st.per_model[0].goodput == 2 / (5 + 1e-6));
  REQUIRE(st.per_model[1].throughput == 5.0 / 9);
  REQUIRE(st.group_num_requests == std::vector<int64_t>{7, 3});

  sim_summary s;
  s.model_num_requests = r.model_num_requests;
  s.model_num_good = r.model_num_good;
  s.group_num_requests = r.group_num_requests;
  s.num_requests = 10;
  s.num_good = 2;
  s.latency_sum = 0.75;
  s.first_arrival = 0;
  s.last_arrival = 9;
  const sim_stats fs = fast_stats(s, models);
  REQUIRE(fs.goodput == st.goodput);
  REQUIRE(fs.latency_mean == st.latency_mean);
  REQUIRE(fs.per_model[0].goodput == st.per_model[0].goodput);
}

TEST_CASE("pairwise_sum follows numpy's order, not a running sum") {
  // 1 followed by 1023 values below half an ulp of 1: a running sum never moves, numpy's
  // pairwise sum adds the small ones together first.
  std::vector<double> v(1024, 1e-16);
  v[0] = 1.0;
  double running = 0;
  for (double x : v) running += x;
  REQUIRE(running == 1.0);
  const double pw = pairwise_sum(v.data(), v.size());
  REQUIRE(pw > 1.0 + 1e-13);
  // Below 8 values it is a plain left-to-right sum.
  const double small[] = {0.1, 0.2, 0.3};
  REQUIRE(pairwise_sum(small, 3) == (0.1 + 0.2) + 0.3);
}

TEST_CASE("placement score prefers goodput, then lower latency, then more replicas") {
  REQUIRE(placement_score(0.9, 0.2, 3) == 0.9 - 0.2 / 10000 + 3 / 1e6);
  REQUIRE(placement_score(0.91, 5.0, 1) > placement_score(0.9, 0.0, 100));
  REQUIRE(placement_score(0.9, 0.1, 3) > placement_score(0.9, 0.2, 3));
  REQUIRE(placement_score(0.9, 0.1, 4) > placement_score(0.9, 0.1, 3));
}

TEST_CASE("summarize_latencies gives the reference index rule for every percentile") {
  std::vector<double> lat;
  for (int i = 1000; i >= 1; --i) lat.push_back(i);  // unsorted on purpose
  const latency_summary s = summarize_latencies(lat);
  REQUIRE(s.count == 1000);
  REQUIRE(s.p50 == 501);    // sorted[500]
  REQUIRE(s.p90 == 901);    // sorted[900]
  REQUIRE(s.p99 == 991);    // sorted[990]
  REQUIRE(s.p999 == 1000);  // sorted[999]
  REQUIRE(s.max == 1000);
  REQUIRE(s.mean == 500.5);
  REQUIRE(summarize_latencies({}).count == 0);
  REQUIRE(percentile_of_sorted({3.0}, 0.99) == 3.0);
}
