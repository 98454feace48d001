#include <cmath>
#include <map>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "metrics/registry.hpp"
#include "metrics/runtime_metrics.hpp"
#include "metrics/text_exposition.hpp"

using namespace alpaserve::metrics;

namespace {

struct fixture {
  double t = 1000;
  registry reg;
  std::unique_ptr<runtime_metrics> rm;
  fixture() {
    runtime_metrics_options o;
    o.slo_window_s = 10;
    o.slo_window_buckets = 10;
    o.latency_buckets = {0.1, 1};
    o.clock = [this] { return t; };
    rm = std::make_unique<runtime_metrics>(reg, o);
  }
  bool has_line(const std::string& line) const {
    return ("\n" + to_text(reg)).find("\n" + line + "\n") != std::string::npos;
  }
};

}  // namespace

TEST_CASE("runtime_metrics: outcome names match the reply statuses and round-trip") {
  CHECK(std::string(to_string(request_outcome::ok)) == "ok");
  CHECK(std::string(to_string(request_outcome::rejected_not_placed)) == "rejected_not_placed");
  for (size_t i = 0; i < request_outcome_count; ++i) {
    const auto o = static_cast<request_outcome>(i);
    REQUIRE(outcome_from_string(to_string(o)).has_value());
    CHECK(*outcome_from_string(to_string(o)) == o);
  }
  CHECK_FALSE(outcome_from_string("fine").has_value());
}

TEST_CASE("runtime_metrics: registers the issue's families with their labels") {
  fixture f;
  const auto fams = f.reg.collect();
  std::map<std::string, std::pair<metric_type, std::vector<std::string>>> got;
  for (const auto& fam : fams) got[fam.name] = {fam.type, fam.label_names};
  using L = std::vector<std::string>;
  const std::map<std::string, std::pair<metric_type, L>> want = {
      {"alpaserve_requests_total", {metric_type::counter, L{"model", "outcome"}}},
      {"alpaserve_request_latency_seconds", {metric_type::histogram, L{"model"}}},
      {"alpaserve_queue_latency_seconds", {metric_type::histogram, L{"model"}}},
      {"alpaserve_stage_predicted_seconds", {metric_type::histogram, L{"model", "stage"}}},
      {"alpaserve_stage_measured_seconds", {metric_type::histogram, L{"model", "stage"}}},
      {"alpaserve_batch_size", {metric_type::histogram, L{"model"}}},
      {"alpaserve_device_busy_ratio", {metric_type::gauge, L{"device"}}},
      {"alpaserve_loaded_weight_bytes", {metric_type::gauge, L{"device"}}},
      {"alpaserve_group_generation", {metric_type::gauge, L{"group"}}},
      {"alpaserve_placement_generation", {metric_type::gauge, L{}}},
      {"alpaserve_replans_total", {metric_type::counter, L{}}},
      {"alpaserve_slo_attainment_ratio", {metric_type::gauge, L{"model"}}},
  };
  CHECK(got == want);
  // A second set on the same registry collides.
  CHECK_THROWS_AS(runtime_metrics(f.reg), metrics_error);
}

TEST_CASE("runtime_metrics: requests by model and outcome, latency of served requests") {
  fixture f;
  const auto bert = f.rm->add_model("bert", 0.5);
  // Every outcome exists at 0 from the start.
  CHECK(f.has_line("alpaserve_requests_total{model=\"bert\",outcome=\"failed_node_lost\"} 0"));
  CHECK(f.has_line("alpaserve_requests_total{model=\"bert\",outcome=\"ok\"} 0"));
  f.rm->on_request_done(bert, request_outcome::ok, 0.05, 0.01);
  f.rm->on_request_done(bert, request_outcome::ok, 0.7, 0.2);
  f.rm->on_request_done("bert", request_outcome::rejected_slo, 0.001, 0);
  f.rm->on_request_done(bert, request_outcome::failed_timeout, 30, 0);
  CHECK(f.has_line("alpaserve_requests_total{model=\"bert\",outcome=\"ok\"} 2"));
  CHECK(f.has_line("alpaserve_requests_total{model=\"bert\",outcome=\"rejected_slo\"} 1"));
  CHECK(f.has_line("alpaserve_requests_total{model=\"bert\",outcome=\"failed_timeout\"} 1"));
  // Only the two ok requests are in the latency histograms.
  CHECK(f.has_line("alpaserve_request_latency_seconds_bucket{model=\"bert\",le=\"0.1\"} 1"));
  CHECK(f.has_line("alpaserve_request_latency_seconds_bucket{model=\"bert\",le=\"1\"} 2"));
  CHECK(f.has_line("alpaserve_request_latency_seconds_count{model=\"bert\"} 2"));
  CHECK(f.has_line("alpaserve_request_latency_seconds_sum{model=\"bert\"} 0.75"));
  CHECK(f.has_line("alpaserve_queue_latency_seconds_sum{model=\"bert\"} 0.21000000000000002"));
}

TEST_CASE("runtime_metrics: unknown model names share one series (bounded cardinality)") {
  fixture f;
  f.rm->add_model("bert", 1);
  CHECK(f.rm->model("nope") == f.rm->model("other"));
  CHECK(f.rm->model("bert") != f.rm->model("nope"));
  f.rm->on_request_done("random-1", request_outcome::rejected_unknown_model, 0, 0);
  f.rm->on_request_done("random-2", request_outcome::rejected_unknown_model, 0, 0);
  CHECK(f.has_line(
      "alpaserve_requests_total{model=\"_unknown\",outcome=\"rejected_unknown_model\"} 2"));
  CHECK(to_text(f.reg).find("random-1") == std::string::npos);
  CHECK_FALSE(f.rm->slo_attainment(f.rm->model("random-1")).has_value());
  CHECK_THROWS_AS(f.rm->add_model("_unknown", 1), metrics_error);
  CHECK_THROWS_AS(f.rm->add_model("m", 0), metrics_error);
  CHECK_THROWS_AS(f.rm->add_model("m", NAN), metrics_error);
}

TEST_CASE("runtime_metrics: SLO attainment over the sliding window") {
  fixture f;
  const auto m = f.rm->add_model("m", 0.5);
  CHECK_FALSE(f.rm->slo_attainment(m).has_value());
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} NaN"));
  f.rm->on_request_done(m, request_outcome::ok, 0.1, 0);
  f.rm->on_request_done(m, request_outcome::ok, 0.5, 0);  // exactly at the SLO: met
  f.rm->on_request_done(m, request_outcome::ok, 0.2, 0);
  f.rm->on_request_done(m, request_outcome::ok, 0.6, 0);              // too late: missed
  f.rm->on_request_done(m, request_outcome::rejected_slo, 0.001, 0);  // rejected: missed
  REQUIRE(f.rm->slo_attainment(m).has_value());
  CHECK(*f.rm->slo_attainment(m) == Approx(0.6));
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} 0.6"));
  f.t += 5;
  f.rm->on_request_done(m, request_outcome::failed_node_lost, 0.1, 0);
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} 0.5"));
  f.t += 5;  // the first five have left the window (10 s)
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} 0"));
  f.t += 5;
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} NaN"));
  // A changed SLO applies to later requests.
  f.rm->add_model("m", 2);
  f.rm->on_request_done(m, request_outcome::ok, 1.5, 0);
  CHECK(*f.rm->slo_attainment(m) == 1.0);
}

TEST_CASE("runtime_metrics: stages, batches, devices, generations and re-plans") {
  fixture f;
  const auto m = f.rm->add_model("m", 1);
  f.rm->on_stage_done(m, 1, 0.05, 0.5);
  f.rm->on_stage_done(m, 0, 0.5, 0.05);
  f.rm->on_stage_done(m, -1, 1, 1);  // ignored
  CHECK(
      f.has_line("alpaserve_stage_predicted_seconds_bucket{model=\"m\",stage=\"0\",le=\"0.1\"} 0"));
  CHECK(
      f.has_line("alpaserve_stage_measured_seconds_bucket{model=\"m\",stage=\"0\",le=\"0.1\"} 1"));
  CHECK(
      f.has_line("alpaserve_stage_predicted_seconds_bucket{model=\"m\",stage=\"1\",le=\"0.1\"} 1"));
  CHECK(f.has_line("alpaserve_stage_measured_seconds_count{model=\"m\",stage=\"1\"} 1"));
  f.rm->on_batch(m, 3);
  CHECK(f.has_line("alpaserve_batch_size_bucket{model=\"m\",le=\"2\"} 0"));
  CHECK(f.has_line("alpaserve_batch_size_bucket{model=\"m\",le=\"4\"} 1"));
  const auto d = f.rm->device("worker-1/cpu:0");
  CHECK(f.rm->device("worker-1/cpu:0") == d);
  f.rm->set_device_busy_ratio(d, 0.75);
  f.rm->set_loaded_weight_bytes(d, 2.5e9);
  CHECK(f.has_line("alpaserve_device_busy_ratio{device=\"worker-1/cpu:0\"} 0.75"));
  CHECK(f.has_line("alpaserve_loaded_weight_bytes{device=\"worker-1/cpu:0\"} 2500000000"));
  f.rm->set_group_generation(3, 7);
  f.rm->set_group_generation(3, 8);
  f.rm->set_placement_generation(2);
  f.rm->on_replan();
  f.rm->on_replan();
  CHECK(f.has_line("alpaserve_group_generation{group=\"3\"} 8"));
  CHECK(f.has_line("alpaserve_placement_generation 2"));
  CHECK(f.has_line("alpaserve_replans_total 2"));
}

TEST_CASE("runtime_metrics: the registry outlives it and keeps exporting") {
  fixture f;
  const auto m = f.rm->add_model("m", 1);
  f.rm->on_request_done(m, request_outcome::ok, 0.1, 0);
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} 1"));
  f.rm.reset();  // removes its collect hook; collecting must not call into the dead object
  f.t += 100;    // the window would be empty now, but nobody recomputes the gauge
  CHECK(f.has_line("alpaserve_requests_total{model=\"m\",outcome=\"ok\"} 1"));
  CHECK(f.has_line("alpaserve_slo_attainment_ratio{model=\"m\"} 1"));
}
