#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/event_simulator.hpp"

using namespace alpaserve::planner;

namespace {

// A model whose config `c` has the given batch-1 (and optionally batch-2) stage latencies.
model_data make_model(std::string name, double slo, parallel_config c, std::vector<double> lat1,
                      std::vector<double> lat2 = {}) {
  model_data m;
  m.name = std::move(name);
  m.slo = slo;
  m.profile.name = m.name;
  const std::vector<double> weight(lat1.size(), 1.0 * gib);
  m.profile.configs[c].add_result(1, lat1, weight);
  if (!lat2.empty()) m.profile.configs[c].add_result(2, lat2, weight);
  return m;
}

workload make_workload(std::vector<std::string> names,
                       const std::vector<std::pair<double, int>>& requests) {
  workload w;
  w.model_names = std::move(names);
  for (const auto& [t, m] : requests) {
    w.arrivals.push_back(t);
    w.model.push_back(m);
  }
  return w;
}

event_sim_options no_overheads() {
  event_sim_options o;
  o.overheads = {};
  o.client_to_dispatcher_s = 0;
  return o;
}

size_t count(const event_sim_result& r, request_verdict v) {
  size_t n = 0;
  for (request_verdict x : r.verdict) n += x == v ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("one request crosses a 2-stage pipeline paying every overhead once") {
  const std::vector<model_data> models = {make_model("a", 1.0, {1, 1, 2}, {0.1, 0.2})};
  placement p{{{1, 1, 2}}, {{0}}};
  const workload w = make_workload({"a"}, {{1.0, 0}});
  event_sim_options o;
  o.overheads = {0.01, 0.002, 0.005};
  o.client_to_dispatcher_s = 0.003;
  const event_sim_result r = simulate_events(models, p, w, o);
  // dispatcher 1.003, stage 0 1.013-1.113, hop, stage 1 1.115-1.315, reply 1.320
  REQUIRE(r.verdict[0] == request_verdict::good);
  REQUIRE(r.group[0] == 0);
  REQUIRE(r.batch_size[0] == 1);
  REQUIRE(r.finish[0] == Approx(1.320));
  REQUIRE(summarize(models, w, r).latency.p50 == Approx(0.320));
  REQUIRE(summarize(models, w, r).makespan == Approx(0.320));
  REQUIRE(summarize(models, w, r).utilization[0][0] == Approx(0.1 / 0.32));
  REQUIRE(summarize(models, w, r).utilization[0][1] == Approx(0.2 / 0.32));

  // The same request with a deadline the overheads make unattainable is rejected at the
  // dispatcher, whose answer takes the way back to the client.
  std::vector<model_data> tight = models;
  tight[0].slo = 0.31;
  const event_sim_result rej = simulate_events(tight, p, w, o);
  REQUIRE(rej.verdict[0] == request_verdict::rejected_slo);
  REQUIRE(rej.finish[0] == Approx(1.006));
}

TEST_CASE("two requests pipeline: the second enters stage 0 while the first is in stage 1") {
  const std::vector<model_data> models = {make_model("a", 10.0, {1, 1, 2}, {0.1, 0.2})};
  placement p{{{1, 1, 2}}, {{0}}};
  const workload w = make_workload({"a"}, {{0.0, 0}, {0.0, 0}});
  const event_sim_result r = simulate_events(models, p, w, no_overheads());
  // first: s0 0-0.1, s1 0.1-0.3; second: s0 0.1-0.2, waits for s1 until 0.3, s1 0.3-0.5
  REQUIRE(r.finish[0] == Approx(0.3));
  REQUIRE(r.finish[1] == Approx(0.5));
  REQUIRE(summarize(models, w, r).utilization[0][1] == Approx(0.4 / 0.5));
}

TEST_CASE("models of one group share its stage server first come, first served") {
  const std::vector<model_data> models = {make_model("long", 10.0, {1, 1, 1}, {0.5}),
                                          make_model("short", 10.0, {1, 1, 1}, {0.1})};
  placement p{{{1, 1, 1}}, {{0, 1}}};
  const workload w = make_workload({"long", "short"}, {{0.0, 0}, {0.1, 1}, {0.2, 0}});
  const event_sim_result r = simulate_events(models, p, w, no_overheads());
  // no shortest-job-first: the short request waits for the long one that came before it
  REQUIRE(r.finish[0] == Approx(0.5));
  REQUIRE(r.finish[1] == Approx(0.6));
  REQUIRE(r.finish[2] == Approx(1.1));
  REQUIRE(summarize(models, w, r).per_model[0].latency.count == 2);
  REQUIRE(summarize(models, w, r).per_model[1].latency.p50 == Approx(0.5));
}

TEST_CASE("a rejected request consumes no capacity") {
  const std::vector<model_data> models = {make_model("a", 1.5, {1, 1, 1}, {1.0})};
  placement p{{{1, 1, 1}}, {{0}}};
  const workload w = make_workload({"a"}, {{0.0, 0}, {0.1, 0}, {1.0, 0}});
  const event_sim_result r = simulate_events(models, p, w, no_overheads());
  REQUIRE(r.verdict[0] == request_verdict::good);
  // predicted 2.0 > deadline 1.6: rejected at once, group 0 named as the best
  REQUIRE(r.verdict[1] == request_verdict::rejected_slo);
  REQUIRE(r.group[1] == 0);
  REQUIRE(r.finish[1] == Approx(0.1));
  // had the rejected one been queued, this one would end at 3.0 and miss 2.5
  REQUIRE(r.verdict[2] == request_verdict::good);
  REQUIRE(r.finish[2] == Approx(2.0));
  REQUIRE(summarize(models, w, r).attainment == Approx(2.0 / 3.0));
  REQUIRE(summarize(models, w, r).latency.count == 2);
}

TEST_CASE("the per-group queue cap rejects as overloaded, and unknown and unplaced models too") {
  const std::vector<model_data> models = {make_model("a", 10.0, {1, 1, 1}, {1.0}),
                                          make_model("unplaced", 10.0, {1, 1, 1}, {1.0})};
  placement p{{{1, 1, 1}}, {{0}}};
  const workload w = make_workload({"a", "nobody", "unplaced"},
                                   {{0.0, 0}, {0.5, 0}, {0.6, 1}, {0.7, 2}, {1.5, 0}});
  event_sim_options o = no_overheads();
  o.max_queue_per_group = 1;
  const event_sim_result r = simulate_events(models, p, w, o);
  REQUIRE(r.verdict[0] == request_verdict::good);
  REQUIRE(r.verdict[1] == request_verdict::rejected_overloaded);  // request 0 still in the group
  REQUIRE(r.verdict[2] == request_verdict::rejected_unknown);
  REQUIRE(r.verdict[3] == request_verdict::rejected_unknown);
  REQUIRE(r.verdict[4] == request_verdict::good);  // request 0 left at 1.0
  REQUIRE(r.finish[4] == Approx(2.5));
  REQUIRE(summarize(models, w, r).per_model[1].total == 1);
  REQUIRE(summarize(models, w, r).per_model[1].rejected == 1);

  o.max_queue_per_group = 0;  // unbounded: request 1 is queued behind request 0
  const event_sim_result unbounded = simulate_events(models, p, w, o);
  REQUIRE(unbounded.verdict[1] == request_verdict::good);
  REQUIRE(unbounded.finish[1] == Approx(2.0));
}

TEST_CASE("batching: two same-model requests waiting at stage 0 run as one batch of 2") {
  const std::vector<model_data> models = {make_model("a", 1.0, {1, 1, 1}, {0.1}, {0.15}),
                                          make_model("b", 1.0, {1, 1, 1}, {0.1}, {0.15})};
  placement p{{{1, 1, 1}}, {{0, 1}}};
  const workload w =
      make_workload({"a", "b"}, {{0.0, 0}, {0.01, 0}, {0.02, 0}, {0.03, 1}, {0.04, 0}});
  event_sim_options o = no_overheads();
  o.max_batch_size = 2;
  const event_sim_result r = simulate_events(models, p, w, o);
  // 0 runs alone (nothing waits at 0); at 0.1 requests 1 and 2 wait -> one batch, 0.1-0.25;
  // then b (3) heads the queue: a run of one model only, so 4 does not join it.
  REQUIRE(r.batch_size[0] == 1);
  REQUIRE(r.batch_size[1] == 2);
  REQUIRE(r.batch_size[2] == 2);
  REQUIRE(r.finish[1] == Approx(0.25));
  REQUIRE(r.finish[2] == Approx(0.25));
  REQUIRE(r.batch_size[3] == 1);
  REQUIRE(r.finish[3] == Approx(0.35));
  REQUIRE(r.finish[4] == Approx(0.45));

  o.max_batch_size = 1;
  const event_sim_result single = simulate_events(models, p, w, o);
  REQUIRE(single.batch_size[2] == 1);
  REQUIRE(single.finish[2] == Approx(0.3));
}

TEST_CASE("batching: a 2-stage model with near-linear batch cost runs one by one, pipelined") {
  // batch 2 costs 0.95 x 2 batch-1 times per stage: a batch of 2 would end at 0.1 + 0.38, the
  // two requests pipelined one by one end at 0.1 + 0.3 (planner::batch_no_later)
  const std::vector<model_data> models = {
      make_model("a", 10.0, {1, 1, 2}, {0.1, 0.1}, {0.19, 0.19})};
  placement p{{{1, 1, 2}}, {{0}}};
  const workload w = make_workload({"a"}, {{0.0, 0}, {0.01, 0}, {0.02, 0}});
  event_sim_options o = no_overheads();
  o.max_batch_size = 2;
  const event_sim_result r = simulate_events(models, p, w, o);
  for (size_t i = 0; i < 3; ++i) REQUIRE(r.batch_size[i] == 1);
  REQUIRE(r.finish[0] == Approx(0.2));
  REQUIRE(r.finish[1] == Approx(0.3));
  REQUIRE(r.finish[2] == Approx(0.4));
  o.max_batch_size = 1;
  const event_sim_result single = simulate_events(models, p, w, o);
  for (size_t i = 0; i < 3; ++i) REQUIRE(single.finish[i] == Approx(r.finish[i]));

  // strongly sublinear (0.12 per stage at batch 2): requests 1 and 2 batch, 0.1 - 0.34
  const std::vector<model_data> sub = {make_model("a", 10.0, {1, 1, 2}, {0.1, 0.1}, {0.12, 0.12})};
  o.max_batch_size = 2;
  const event_sim_result b = simulate_events(sub, p, w, o);
  REQUIRE(b.batch_size[1] == 2);
  REQUIRE(b.finish[2] == Approx(0.34));
}

TEST_CASE("feedback corrects the mirror when real stages run 20% slower than the profile") {
  // Poisson arrivals near capacity on a 2-stage group with a tight SLO: without feedback the
  // dispatcher keeps believing the profile and admits requests that then miss their deadline.
  const std::vector<model_data> models = {make_model("a", 0.25, {1, 1, 2}, {0.05, 0.05})};
  placement p{{{1, 1, 2}}, {{0}}};
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> gap(14.0);
  std::vector<std::pair<double, int>> reqs;
  for (double t = 0; reqs.size() < 20000; t += gap(rng)) reqs.emplace_back(t, 0);
  const workload w = make_workload({"a"}, reqs);

  event_sim_options o;
  o.service_scale = 1.2;
  o.jitter_cv = 0.05;
  o.seed = 7;
  o.feedback = false;
  const event_sim_result off = simulate_events(models, p, w, o);
  o.feedback = true;
  const event_sim_result on = simulate_events(models, p, w, o);
  const size_t late_off = count(off, request_verdict::late);
  const size_t late_on = count(on, request_verdict::late);
  INFO("late without feedback " << late_off << ", with " << late_on << "; attainment "
                                << summarize(models, w, off).attainment << " vs "
                                << summarize(models, w, on).attainment);
  REQUIRE(late_off > 0);
  REQUIRE(late_on < late_off);
  REQUIRE(summarize(models, w, on).attainment >= summarize(models, w, off).attainment);
}

TEST_CASE("jitter is reproducible from its seed and changes with it") {
  const std::vector<model_data> models = {make_model("a", 0.5, {1, 1, 2}, {0.05, 0.05})};
  placement p{{{1, 1, 2}}, {{0}}};
  std::vector<std::pair<double, int>> reqs;
  for (int i = 0; i < 200; ++i) reqs.emplace_back(0.06 * i, 0);
  const workload w = make_workload({"a"}, reqs);
  event_sim_options o;
  o.jitter_cv = 0.2;
  o.seed = 3;
  const event_sim_result a = simulate_events(models, p, w, o);
  const event_sim_result b = simulate_events(models, p, w, o);
  o.seed = 4;
  const event_sim_result c = simulate_events(models, p, w, o);
  REQUIRE(a.finish == b.finish);
  REQUIRE(a.finish != c.finish);
}

TEST_CASE("dispatch uses the configured strategy of the shared rule") {
  // Group 0 (2 stages) is busy at its last stage but would finish first; group 1 is idle-ish.
  const std::vector<model_data> models = {
      model_data{"a", 10.0, 0, 1,
                 [] {
                   model_profile prof;
                   prof.name = "a";
                   prof.configs[{1, 1, 2}].add_result(1, {0.1, 0.1}, {gib, gib});
                   prof.configs[{1, 1, 1}].add_result(1, {1.0}, {gib});
                   return prof;
                 }()},
      make_model("b", 10.0, {1, 1, 2}, {0.01, 0.6})};
  placement p{{{1, 1, 2}, {1, 1, 1}}, {{0, 1}, {0}}};
  // b occupies group 0's last stage until 0.61; at 0.02 a arrives
  const workload w = make_workload({"a", "b"}, {{0.0, 1}, {0.02, 0}});
  event_sim_options o = no_overheads();
  const event_sim_result ours = simulate_events(models, p, w, o);
  REQUIRE(ours.group[1] == 0);  // finish 0.71 beats 1.02
  REQUIRE(ours.finish[1] == Approx(0.71));
  o.strategy = dispatch_strategy::min_last_stage_clock;
  const event_sim_result ref = simulate_events(models, p, w, o);
  REQUIRE(ref.group[1] == 1);  // last-stage clock 0 < 0.61
  REQUIRE(ref.finish[1] == Approx(1.02));
}

TEST_CASE("summarize drops the warm-up and bad input is refused") {
  const std::vector<model_data> models = {make_model("a", 1.5, {1, 1, 1}, {1.0})};
  placement p{{{1, 1, 1}}, {{0}}};
  const workload w = make_workload({"a"}, {{0.0, 0}, {0.1, 0}, {1.0, 0}});
  const event_sim_result r = simulate_events(models, p, w, no_overheads());
  const event_sim_summary s = summarize(models, w, r, 0.5);
  REQUIRE(s.total == 1);
  REQUIRE(s.attainment == Approx(1.0));

  const workload unsorted = make_workload({"a"}, {{1.0, 0}, {0.5, 0}});
  REQUIRE_THROWS_AS(simulate_events(models, p, unsorted), std::invalid_argument);
  placement bad{{{1, 1, 1}}, {{3}}};
  REQUIRE_THROWS_AS(simulate_events(models, bad, w), std::invalid_argument);
}

TEST_CASE("summarize with the reference's warm-up rule trims a count at both ends") {
  // Ten requests 1 s apart, one model on two groups. The reference trims
  // int(warmup / span * N) = int(2 / 9 * 10) = 2 requests at EACH end, by position; ours trims
  // by time at the front only. Group counts cover the whole run either way.
  const std::vector<model_data> models = {make_model("a", 5.0, {1, 1, 1}, {1.5})};
  placement p{{{1, 1, 1}, {1, 1, 1}}, {{0}, {0}}};
  std::vector<std::pair<double, int>> reqs;
  for (int i = 0; i < 10; ++i) reqs.emplace_back(static_cast<double>(i), 0);
  const workload w = make_workload({"a"}, reqs);
  const event_sim_result r = simulate_events(models, p, w, no_overheads());
  REQUIRE(reference_warmup_skip(w.arrivals, 2.0) == 2);
  counted_requests reference;
  reference.skip_each_end = reference_warmup_skip(w.arrivals, 2.0);
  const event_sim_summary trimmed = summarize(models, w, r, reference);
  REQUIRE(trimmed.total == 6);
  REQUIRE(trimmed.per_model[0].total == 6);
  const event_sim_summary ours = summarize(models, w, r, 2.0);
  REQUIRE(ours.total == 8);
  for (const event_sim_summary* s : {&trimmed, &ours}) {
    REQUIRE(s->group_requests.size() == 2);
    REQUIRE(s->group_requests[0] + s->group_requests[1] == 10);
    REQUIRE(s->group_requests[0] > 0);  // 1.5 s jobs every 1 s: the second group is needed
    REQUIRE(s->group_requests[1] > 0);
  }
  // A warm-up of the whole span or more trims everything; none trims nothing.
  REQUIRE(reference_warmup_skip(w.arrivals, 100.0) == 10);
  REQUIRE(summarize(models, w, r, counted_requests{0.0, 10}).total == 0);
  REQUIRE(reference_warmup_skip(w.arrivals, 0.0) == 0);
  REQUIRE(reference_warmup_skip({3.0}, 10.0) == 0);
}

TEST_CASE(
    "with the approximate simulator's costs the event simulator decides every request alike") {
  // The approximate simulator (reference compatibility) cannot switch off its 11 ms overhead or
  // its (1 + 0.009 pp) float32 latency penalty, so the event simulator is given the same costs:
  // penalized float32 latencies as its profile, 11 ms as the reply overhead, no other overhead,
  // no jitter, the reference dispatch rule and no feedback (real stage times equal the mirror's).
  // Then both must admit the same requests at the same finish times.
  const std::vector<double> lat1 = {0.099}, lat2 = {0.051, 0.052},
                            lat4 = {0.028, 0.027, 0.027, 0.029};
  std::vector<model_data> models, penalized;
  for (int i = 0; i < 8; ++i) {
    model_data m;
    m.name = "m" + std::to_string(i);
    m.slo = 5 * 0.099 * (1 + 0.3 * (i % 3));
    m.profile.name = m.name;
    m.profile.configs[{1, 1, 1}].add_result(1, lat1, {2.6 * gib});
    m.profile.configs[{1, 1, 2}].add_result(1, lat2, {1.3 * gib, 1.3 * gib});
    m.profile.configs[{1, 1, 4}].add_result(1, lat4, std::vector<double>(4, 0.65 * gib));
    models.push_back(m);
    for (auto& [config, prof] : m.profile.configs)
      for (double& l : prof.latency[1])
        l = static_cast<float>(l * (1 + approx_simulator::stage_penalty * config.pp));
    m.slo = static_cast<float>(m.slo);
    penalized.push_back(m);
  }
  placement p{
      {{1, 1, 4}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}},
      {{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4}, {3, 4, 5, 6, 7}}};
  std::mt19937_64 rng(11);
  std::gamma_distribution<double> gap(1.0 / 9.0, 9.0 / 60.0);  // 60 r/s, CV 3: bursts overload
  std::uniform_int_distribution<int> pick(0, 8);               // 8 = a model nobody registered
  workload w;
  w.model_names = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "ghost"};
  for (double t = 0; w.arrivals.size() < 5000; t += gap(rng)) {
    w.arrivals.push_back(t);
    w.model.push_back(pick(rng));
  }

  const approx_simulator approx(models, w);
  const sim_result a = approx.run(p);
  event_sim_options o;
  o.overheads = {0.0, 0.0, approx_simulator::fixed_overhead};
  o.client_to_dispatcher_s = 0;
  o.strategy = dispatch_strategy::min_last_stage_clock;
  o.feedback = false;
  const event_sim_result e = simulate_events(penalized, p, w, o);

  size_t good = 0, rejected = 0, mismatches = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const bool e_good = e.verdict[i] == request_verdict::good;
    if (e_good != (a.good[i] != 0) || std::abs(e.finish[i] - a.finish[i]) > 1e-9) ++mismatches;
    good += e_good ? 1 : 0;
    rejected += is_served(e.verdict[i]) ? 0 : 1;
  }
  INFO("good " << good << ", rejected " << rejected);
  REQUIRE(mismatches == 0);
  REQUIRE(count(e, request_verdict::late) == 0);
  REQUIRE(rejected > 100);  // the case exercises rejection, not only the easy path
  REQUIRE(good > 2000);
}

TEST_CASE("window_at: the first start is not used, a start belongs to its window") {
  const std::vector<double> starts = {0.5, 10.0, 20.0};
  CHECK(window_at(starts, -1.0) == 0);
  CHECK(window_at(starts, 0.0) == 0);
  CHECK(window_at(starts, 9.999) == 0);
  CHECK(window_at(starts, 10.0) == 1);
  CHECK(window_at(starts, 19.0) == 1);
  CHECK(window_at(starts, 20.0) == 2);
  CHECK(window_at(starts, 1e9) == 2);
  CHECK(window_at({}, 5.0) == 0);
  CHECK(window_at({3.0}, 5.0) == 0);
  CHECK(next_window_start(starts, 0.0) == 10.0);
  CHECK(next_window_start(starts, 10.0) == 20.0);
  CHECK(std::isinf(next_window_start(starts, 25.0)));
  placement_with_replacement bad;
  CHECK_FALSE(schedule_problems(bad).empty());
  bad.start_times = {0.0, 0.0};
  bad.placements.resize(2);
  CHECK_FALSE(schedule_problems(bad).empty());
  bad.start_times = {0.0, 1.0};
  CHECK(schedule_problems(bad).empty());
}

TEST_CASE("a segmented placement switches groups at each window start, old groups drain") {
  // Window 0 hosts only a, window 1 only b (each on a fresh group), window 2 both on one group.
  const std::vector<model_data> models = {make_model("a", 10.0, {1, 1, 1}, {1.0}),
                                          make_model("b", 10.0, {1, 1, 1}, {1.0})};
  placement_with_replacement s;
  s.start_times = {0.0, 10.0, 20.0};
  s.placements = {placement{{{1, 1, 1}}, {{0}}}, placement{{{1, 1, 1}}, {{1}}},
                  placement{{{1, 1, 1}, {1, 1, 1}}, {{0, 1}, {1}}}};
  // a at 8.0 and 9.5 run on window 0's group (8-9, 9.5-10.5): the second drains there after
  // the switch. b at 9.9 has no group in
  // window 0; a at 10.2 has none in window 1; b at 10.2 starts at once on window 1's fresh
  // group (no queue carried over); a at 25 is served in window 2.
  const workload w = make_workload(
      {"a", "b"}, {{8.0, 0}, {9.5, 0}, {9.9, 1}, {10.2, 0}, {10.2, 1}, {25.0, 0}, {25.0, 1}});
  const event_sim_result r = simulate_events(models, s, w, no_overheads());
  REQUIRE(r.verdict.size() == w.size());
  CHECK(r.window_first_group == std::vector<int32_t>{0, 1, 2});
  CHECK(r.verdict[0] == request_verdict::good);
  CHECK(r.finish[0] == Approx(9.0));
  CHECK(r.verdict[1] == request_verdict::good);
  CHECK(r.finish[1] == Approx(10.5));  // finished by window 0's group after 10.0
  CHECK(r.group[1] == 0);
  CHECK(r.verdict[2] == request_verdict::rejected_unknown);
  CHECK(r.verdict[3] == request_verdict::rejected_unknown);
  CHECK(r.verdict[4] == request_verdict::good);
  CHECK(r.group[4] == 1);
  CHECK(r.finish[4] == Approx(11.2));  // window 1's group starts empty
  CHECK(r.group[5] == 2);              // window 2's group 0
  CHECK(r.group[6] == 3);              // window 2's group 1: its group 0 is busy with a
  CHECK(r.stage_busy_s.size() == 4);

  const auto ws = summarize_windows(s.start_times, w, r, counted_requests{});
  REQUIRE(ws.size() == 3);
  CHECK(ws[0].total == 3);
  CHECK(ws[0].good == 2);
  CHECK(ws[0].attainment == Approx(2.0 / 3.0));
  CHECK(ws[1].total == 2);
  CHECK(ws[1].good == 1);
  CHECK(ws[2].total == 2);
  CHECK(ws[2].good == 2);
  CHECK(ws[1].from == 10.0);
  CHECK(ws[1].to == 20.0);

  // The schedule's clock runs 5 s ahead of the workload's: window 1 starts at workload time 5,
  // so a at 8.0 already finds no group.
  event_sim_options shifted = no_overheads();
  shifted.window_clock_offset_s = 5.0;
  const event_sim_result r2 = simulate_events(models, s, w, shifted);
  CHECK(r2.verdict[0] == request_verdict::rejected_unknown);
  CHECK(r2.verdict[2] == request_verdict::good);  // b at 9.9 is in window 1
  const auto ws2 = summarize_windows(s.start_times, w, r2, counted_requests{}, 5.0);
  CHECK(ws2[1].from == 5.0);
  CHECK(ws2[0].total == 0);
  CHECK(ws2[1].total == 5);

  // One window: the same as the plain placement.
  placement_with_replacement one;
  one.start_times = {0.0};
  one.placements = {s.placements[2]};
  const event_sim_result r3 = simulate_events(models, one, w, no_overheads());
  const event_sim_result r4 = simulate_events(models, s.placements[2], w, no_overheads());
  CHECK(r3.finish == r4.finish);
  CHECK(r3.verdict == r4.verdict);
  CHECK(r3.group == r4.group);
}
