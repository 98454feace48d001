// node_metrics: what the actors of one node process record (actors/node_metrics.hpp), read back
// through the registry as the exporter would.

#include <chrono>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "actors/node_metrics.hpp"
#include "metrics/text_exposition.hpp"
#include "net/messages.hpp"

using alpaserve::actors::node_metrics;
using alpaserve::net::reply_status;

namespace {

// The value of the one series of `name` whose labels include every pair of `labels`.
double value(node_metrics& m, const std::string& name,
             const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  for (const auto& f : m.registry().collect()) {
    const bool histogram_part = f.type == alpaserve::metrics::metric_type::histogram &&
                                (name == f.name + "_count" || name == f.name + "_sum");
    if (f.name != name && !histogram_part) continue;
    for (const auto& s : f.series) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        for (size_t i = 0; i < f.label_names.size(); ++i)
          if (f.label_names[i] == k && s.label_values[i] != v) match = false;
      }
      if (!match) continue;
      if (name == f.name + "_count") return static_cast<double>(s.bucket_counts.back());
      if (name == f.name + "_sum") return s.sum;
      return s.value;
    }
  }
  FAIL("no series " << name);
  return 0;
}

}  // namespace

TEST_CASE("node_metrics maps every reply status onto its outcome label") {
  node_metrics m("n0");
  m.add_model("m", 0.5);
  const std::pair<reply_status, const char*> all[] = {
      {reply_status::ok, "ok"},
      {reply_status::rejected_unknown_model, "rejected_unknown_model"},
      {reply_status::rejected_slo, "rejected_slo"},
      {reply_status::rejected_overloaded, "rejected_overloaded"},
      {reply_status::rejected_bad_input, "rejected_bad_input"},
      {reply_status::failed_node_lost, "failed_node_lost"},
      {reply_status::failed_timeout, "failed_timeout"},
      {reply_status::failed_model_unavailable, "failed_model_unavailable"},
      {reply_status::rejected_not_placed, "rejected_not_placed"},
  };
  for (const auto& [status, label] : all) {
    m.on_request_done("m", status, 0.1, 0.01);
    CHECK(value(m, "alpaserve_requests_total", {{"model", "m"}, {"outcome", label}}) == 1);
  }
  // A model nobody configured is counted, but under "_unknown".
  m.on_request_done("client-made-up", reply_status::rejected_unknown_model);
  CHECK(value(m, "alpaserve_requests_total",
              {{"model", "_unknown"}, {"outcome", "rejected_unknown_model"}}) == 1);
}

TEST_CASE("on_request_served: latency, summed queue time, stage times and batch of one") {
  node_metrics m("n0");
  m.add_model("m", 0.5);
  m.on_request_served("m", 0.3, {0.01, 0.02}, {0.1, 0.12}, {0.11, 0.13});
  CHECK(value(m, "alpaserve_requests_total", {{"model", "m"}, {"outcome", "ok"}}) == 1);
  CHECK(value(m, "alpaserve_request_latency_seconds_sum", {{"model", "m"}}) == Approx(0.3));
  CHECK(value(m, "alpaserve_queue_latency_seconds_sum", {{"model", "m"}}) == Approx(0.03));
  CHECK(value(m, "alpaserve_stage_predicted_seconds_sum", {{"model", "m"}, {"stage", "1"}}) ==
        Approx(0.12));
  CHECK(value(m, "alpaserve_stage_measured_seconds_sum", {{"model", "m"}, {"stage", "0"}}) ==
        Approx(0.11));
  CHECK(value(m, "alpaserve_batch_size_sum", {{"model", "m"}}) == 1);
  CHECK(value(m, "alpaserve_slo_attainment_ratio", {{"model", "m"}}) == 1);
  m.on_request_served("m", 0.6, {}, {}, {});  // over the SLO: served, but a miss
  CHECK(value(m, "alpaserve_slo_attainment_ratio", {{"model", "m"}}) == Approx(0.5));
}

TEST_CASE("placements installed set the generations and count re-plans") {
  node_metrics m("n0");
  CHECK(value(m, "alpaserve_placement_generation") == 0);
  m.on_placement_installed(1, {0, 1}, false);
  CHECK(value(m, "alpaserve_placement_generation") == 1);
  CHECK(value(m, "alpaserve_replans_total") == 0);
  m.on_placement_installed(2, {2}, true);
  CHECK(value(m, "alpaserve_placement_generation") == 2);
  CHECK(value(m, "alpaserve_replans_total") == 1);
  CHECK(value(m, "alpaserve_group_generation", {{"group", "0"}}) == 1);
  CHECK(value(m, "alpaserve_group_generation", {{"group", "2"}}) == 2);
}

TEST_CASE("readiness: every component that reported must be ready") {
  node_metrics m("n0");
  CHECK(!m.readiness().ready);  // nothing reported yet
  CHECK(m.readiness().reason == "starting");
  m.set_component("dispatcher", false, "waiting for nodes (1/3)");
  m.set_component("node agent", true, "registered");
  auto r = m.readiness();
  CHECK(!r.ready);
  CHECK(r.reason == "dispatcher: waiting for nodes (1/3)");
  m.set_component("node agent", false, "1 stages loading");
  CHECK(m.readiness().reason ==
        "dispatcher: waiting for nodes (1/3); node agent: 1 stages loading");
  m.set_component("dispatcher", true, "serving");
  m.set_component("node agent", true, "registered");
  CHECK(m.readiness().ready);
}

TEST_CASE("device_usage: weights add up per device and are taken back, busy time is a ratio") {
  auto m = std::make_shared<node_metrics>("w1", 0.05);
  {
    node_metrics::device_usage a(m, {0, 1}, "emulated");  // one emulated rank on two devices
    node_metrics::device_usage b(m, {1}, "emulated");
    a.weight_bytes(2e9);
    b.weight_bytes(1e9);
    CHECK(value(*m, "alpaserve_loaded_weight_bytes", {{"device", "w1/emulated:0"}}) == 2e9);
    CHECK(value(*m, "alpaserve_loaded_weight_bytes", {{"device", "w1/emulated:1"}}) == 3e9);
    b.weight_bytes(0.5e9);  // replaces b's amount
    CHECK(value(*m, "alpaserve_loaded_weight_bytes", {{"device", "w1/emulated:1"}}) == 2.5e9);
    node_metrics::device_usage moved(std::move(b));  // the move carries the weights
    CHECK(value(*m, "alpaserve_loaded_weight_bytes", {{"device", "w1/emulated:1"}}) == 2.5e9);

    (void)m->registry().collect();  // starts a busy interval
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    a.busy_total(0.02);
    a.busy_total(0.04);  // cumulative: adds 0.02
    const double r0 = value(*m, "alpaserve_device_busy_ratio", {{"device", "w1/emulated:0"}});
    CHECK(r0 > 0.02);  // 0.04 s of at least 0.1 s (under 2 s even on a loaded machine)
    CHECK(r0 <= 0.41);
    CHECK(value(*m, "alpaserve_device_busy_ratio", {{"device", "w1/emulated:1"}}) ==
          Approx(r0).epsilon(0.05));
  }
  // Every worker stopped: nothing loaded any more.
  CHECK(value(*m, "alpaserve_loaded_weight_bytes", {{"device", "w1/emulated:0"}}) == 0);
  CHECK(value(*m, "alpaserve_loaded_weight_bytes", {{"device", "w1/emulated:1"}}) == 0);
  // Inert without metrics.
  node_metrics::device_usage none(nullptr, {0}, "cpu");
  none.busy_total(1);
  none.weight_bytes(1);
}
