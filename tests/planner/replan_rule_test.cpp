#include <cmath>

#include <catch2/catch.hpp>

#include "planner/policy/replan_rule.hpp"
#include "planner/workload/arrival_process.hpp"
#include "planner/workload/traffic_meter.hpp"

using namespace alpaserve::planner;

namespace {

model_data planned(const std::string& name, double rate, double cv) {
  model_data m;
  m.name = name;
  m.rate = rate;
  m.cv = cv;
  m.slo = 1;
  return m;
}

}  // namespace

TEST_CASE("traffic_meter: count, rate and gap CV per model, then a fresh window") {
  traffic_meter meter(10.0);
  for (int i = 0; i < 5; ++i) meter.record("a", 10.0 + i);  // gaps 1,1,1,1: CV 0
  meter.record("b", 11.0);
  meter.record("b", 12.0);
  meter.record("b", 15.0);  // gaps 1, 3: mean 2, population std 1 -> CV 0.5
  const traffic_window w = meter.take(20.0);
  CHECK(w.seconds == Approx(10.0));
  REQUIRE(w.models.size() == 2);
  CHECK(w.models[0].model == "a");
  CHECK(w.models[0].count == 5);
  CHECK(w.models[0].rate == Approx(0.5));
  CHECK(w.models[0].cv == Approx(0.0).margin(1e-12));
  CHECK(w.models[1].model == "b");
  CHECK(w.models[1].cv == Approx(0.5));
  const traffic_window next = meter.take(25.0);
  CHECK(next.seconds == Approx(5.0));
  CHECK(next.models.empty());
}

TEST_CASE("traffic_meter recovers a Gamma process's rate and CV") {
  const auto arrivals = gamma_process(20.0, 3.0).generate_arrivals(0.0, 500.0, 7);
  traffic_meter meter(0.0);
  for (double t : arrivals) meter.record("m", t);
  const traffic_window w = meter.take(500.0);
  REQUIRE(w.models.size() == 1);
  CHECK(w.models[0].rate == Approx(20.0).epsilon(0.1));
  CHECK(w.models[0].cv == Approx(3.0).epsilon(0.15));
}

TEST_CASE("detect_drift: rate and CV changes beyond the thresholds, not noise") {
  const std::vector<model_data> plan = {planned("a", 4.0, 1.0), planned("b", 0.2, 1.0)};
  traffic_window w;
  w.seconds = 30;
  w.models = {{"a", 120, 4.0, 1.1}, {"b", 7, 0.23, 1.0}};
  CHECK_FALSE(detect_drift(plan, w).has_value());  // within 50 % / 0.5 r/s

  w.models[1] = {"b", 150, 5.0, 1.0};  // b: 0.2 -> 5 r/s
  auto why = detect_drift(plan, w);
  REQUIRE(why.has_value());
  CHECK(why->find("b rate 0.20 -> 5.00") != std::string::npos);
  CHECK(why->find("a ") == std::string::npos);

  w.models = {{"a", 120, 4.0, 3.0}, {"b", 6, 0.2, 1.0}};  // a got bursty
  why = detect_drift(plan, w);
  REQUIRE(why.has_value());
  CHECK(why->find("a cv 1.00 -> 3.00") != std::string::npos);

  w.models = {{"b", 6, 0.2, 1.0}};  // a stopped arriving
  why = detect_drift(plan, w);
  REQUIRE(why.has_value());
  CHECK(why->find("a rate 4.00 -> 0.00") != std::string::npos);

  // 4 s at 2.2 r/s planned: 18 arrivals instead of ~9 is within Poisson noise (4 sigma = 11.9).
  const std::vector<model_data> short_plan = {planned("c", 2.2, 1.0)};
  traffic_window noisy;
  noisy.seconds = 4;
  noisy.models = {{"c", 18, 4.5, 1.0}};
  CHECK_FALSE(detect_drift(short_plan, noisy).has_value());
  noisy.models = {{"c", 40, 10.0, 1.0}};
  CHECK(detect_drift(short_plan, noisy).has_value());

  w.seconds = 0.5;  // too short a window to judge
  CHECK_FALSE(detect_drift(plan, w).has_value());
}

TEST_CASE("with_observed_traffic takes observed rates, CVs with enough samples, and a floor") {
  const std::vector<model_data> plan = {planned("a", 4.0, 1.0), planned("b", 0.2, 2.0),
                                        planned("c", 1.0, 1.5)};
  traffic_window w;
  w.seconds = 30;
  w.models = {{"a", 300, 10.0, 2.5}, {"b", 5, 0.17, 4.0}};
  const auto m = with_observed_traffic(plan, w);
  CHECK(m[0].rate == Approx(10.0));
  CHECK(m[0].cv == Approx(2.5));
  CHECK(m[1].rate == Approx(0.17));
  CHECK(m[1].cv == Approx(2.0));     // 5 arrivals: CV kept
  CHECK(m[2].rate == Approx(0.01));  // not seen: the floor
  CHECK(m[2].cv == Approx(1.5));
  CHECK(worth_switching(0.90, 0.95));
  CHECK_FALSE(worth_switching(0.90, 0.905));
}
