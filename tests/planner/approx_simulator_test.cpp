// The approximate simulator must reproduce the reference kernels exactly (section 4.2-4.3 of
// ../shared/reference/alpaserve.md). Expected values below are computed by hand with the same
// floating-point operations the reference performs.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "planner/sim/approx_simulator.hpp"

using namespace alpaserve::planner;

namespace {

// The latency the reference stores: profile * (1 + 0.009 * pp), rounded to float32.
double stored(double profile_latency, int pp) {
  return static_cast<double>(static_cast<float>(profile_latency * (1 + 0.009 * pp)));
}

model_profile simple_profile(const std::string& name, double single, double mem = 1 * gib) {
  model_profile p;
  p.name = name;
  p.configs[{1, 1, 1}].add_result(1, {single}, {mem});
  p.configs[{1, 1, 2}].add_result(1, {single / 2, single / 2}, {mem / 2, mem / 2});
  p.configs[{1, 1, 4}].add_result(1, {single / 4, single / 4, single / 4, single / 4},
                                  {mem / 4, mem / 4, mem / 4, mem / 4});
  return p;
}

model_data model(const std::string& name, double slo, model_profile prof) {
  model_data m;
  m.name = name;
  m.slo = slo;
  m.profile = std::move(prof);
  return m;
}

struct request_spec {
  double arrival;
  int name;  // index into the workload's model names
};

workload make_workload(std::vector<std::string> names, const std::vector<request_spec>& reqs) {
  workload w;
  w.model_names = std::move(names);
  for (const auto& r : reqs) {
    w.arrivals.push_back(r.arrival);
    w.model.push_back(r.name);
  }
  return w;
}

placement make_placement(std::vector<parallel_config> configs,
                         std::vector<std::vector<int>> models) {
  placement p;
  p.group_configs = std::move(configs);
  p.group_models = std::move(models);
  return p;
}

}  // namespace

TEST_CASE("a pipeline overlaps requests: each later request leaves one stage time later") {
  const std::vector<model_data> models = {model("m", 10.0, simple_profile("m", 0.1))};
  const workload w = make_workload({"m"}, {{0.0, 0}, {0.0, 0}, {0.0, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run(make_placement({{1, 1, 2}}, {{0}}));
  const double l = stored(0.05, 2);
  // r0: stages end at l, 2l. r1 enters stage 0 at 0 behind r0: l+l, then stage 1 at 2l: 2l+l.
  REQUIRE(r.finish[0] == (0.0 + l) + l + 0.011);
  REQUIRE(r.finish[1] == ((l + l) + l) + 0.011);
  REQUIRE(r.finish[2] == (((l + l) + l) + l) + 0.011);
  REQUIRE(r.good == std::vector<uint8_t>{1, 1, 1});
  REQUIRE(r.group_num_requests == std::vector<int64_t>{3});
  // Without overlap the third would finish after 6 stage times, not 4.
  REQUIRE(r.finish[2] < 5 * l);
}

TEST_CASE("dispatch ties go to the lowest group index") {
  const std::vector<model_data> models = {model("m", 10.0, simple_profile("m", 0.1))};
  const workload w = make_workload({"m"}, {{0.0, 0}, {0.0, 0}, {0.0, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run(make_placement({{1, 1, 1}, {1, 1, 1}}, {{0}, {0}}));
  // r0 -> g0 (0 vs 0), r1 -> g1 (l vs 0), r2 -> g0 (l vs l: tie).
  REQUIRE(r.group_num_requests == std::vector<int64_t>{2, 1});
  const double l = stored(0.1, 1);
  REQUIRE(r.finish[0] == l + 0.011);
  REQUIRE(r.finish[1] == l + 0.011);
  REQUIRE(r.finish[2] == (l + l) + 0.011);
}

TEST_CASE("dispatch follows the last-stage clock, not the number of outstanding requests") {
  // g0 hosts a slow model H and M; g1 hosts M only. H busies g0 until ~1 s. Shortest-queue
  // dispatch would send the second M to g0 (1 outstanding each, tie -> g0); the reference sends
  // both Ms to g1 because its clock (0.1) is below g0's (1.0).
  const std::vector<model_data> models = {model("H", 10.0, simple_profile("H", 1.0)),
                                          model("M", 10.0, simple_profile("M", 0.1))};
  const workload w = make_workload({"H", "M"}, {{0.0, 0}, {0.0, 1}, {0.0, 1}});
  const approx_simulator sim(models, w);
  const auto r = sim.run(make_placement({{1, 1, 1}, {1, 1, 1}}, {{0, 1}, {1}}));
  REQUIRE(r.group_num_requests == std::vector<int64_t>{1, 2});
  const double lm = stored(0.1, 1);
  REQUIRE(r.finish[2] == (lm + lm) + 0.011);
}

TEST_CASE("a rejected request consumes no capacity and finishes at its arrival") {
  const std::vector<model_data> models = {model("m", 0.25, simple_profile("m", 0.1))};
  const workload w = make_workload({"m"}, {{0.0, 0}, {0.0, 0}, {0.0, 0}, {0.2, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run(make_placement({{1, 1, 1}}, {{0}}));
  const double l = stored(0.1, 1);
  REQUIRE(r.good == std::vector<uint8_t>{1, 1, 0, 1});
  REQUIRE(r.finish[2] == 0.0);
  // r3 starts when r1 ends (2l), not when the rejected r2 would have ended (3l).
  REQUIRE(r.finish[3] == (std::max(0.2, l + l) + l) + 0.011);
  REQUIRE(r.group_num_requests == std::vector<int64_t>{4});  // rejected ones count
  REQUIRE(r.model_num_requests == std::vector<int64_t>{4});
  REQUIRE(r.model_num_good == std::vector<int64_t>{3});
}

TEST_CASE("latencies and SLOs are float32 as the reference stores them") {
  const double l32 = stored(0.1, 1);
  const double l64 = 0.1 * (1 + 0.009);
  REQUIRE(l32 != l64);  // the rounding is visible for this profile
  const double exact_finish = l32 + 0.011;
  // An SLO equal to the finish time in double rounds DOWN in float32 and rejects the request.
  REQUIRE(static_cast<double>(static_cast<float>(exact_finish)) < exact_finish);
  const std::vector<model_data> models = {model("tight", exact_finish, simple_profile("t", 0.1)),
                                          model("loose", 0.2, simple_profile("l", 0.1))};
  const workload w = make_workload({"tight", "loose"}, {{0.0, 0}, {0.0, 1}});
  const approx_simulator sim(models, w);
  const auto r = sim.run(make_placement({{1, 1, 1}, {1, 1, 1}}, {{0}, {1}}));
  REQUIRE(r.good == std::vector<uint8_t>{0, 1});
  REQUIRE(r.finish[1] == l32 + 0.011);
  REQUIRE(r.finish[1] != l64 + 0.011);
}

TEST_CASE("unregistered models and models without a group are rejected at arrival") {
  const std::vector<model_data> models = {model("a", 1.0, simple_profile("a", 0.1)),
                                          model("b", 1.0, simple_profile("b", 0.1))};
  const workload w = make_workload({"ghost", "a", "b"}, {{0.5, 0}, {0.6, 1}, {0.7, 2}});
  const approx_simulator sim(models, w);
  REQUIRE(sim.request_model() == std::vector<int32_t>{-1, 0, 1});
  const auto r = sim.run(make_placement({{1, 1, 1}}, {{0}}));
  REQUIRE(r.good == std::vector<uint8_t>{0, 1, 0});
  REQUIRE(r.finish[0] == 0.5);
  REQUIRE(r.finish[2] == 0.7);
  REQUIRE(r.group_num_requests == std::vector<int64_t>{1});
  // A registered model without a group still counts as a request of that model.
  REQUIRE(r.model_num_requests == std::vector<int64_t>{1, 1});
}

TEST_CASE("an unprofiled config gives infinite latency: every request is rejected") {
  model_profile p;
  p.name = "only-single";
  p.configs[{1, 1, 1}].add_result(1, {0.1}, {gib});
  const std::vector<model_data> models = {model("m", 100.0, p)};
  const workload w = make_workload({"m"}, {{0.0, 0}, {1.0, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run(make_placement({{1, 1, 2}}, {{0}}));
  REQUIRE(r.good == std::vector<uint8_t>{0, 0});
  REQUIRE(r.group_num_requests == std::vector<int64_t>{2});
}

TEST_CASE("Clockwork++ segments start from fresh clocks and advance at most once per arrival") {
  const std::vector<model_data> models = {model("m", 10.0, simple_profile("m", 0.1))};
  const double l = stored(0.1, 1);
  std::vector<request_spec> reqs(10, {0.0, 0});  // ten at t=0 busy the group until 10l
  reqs.push_back({1.0, 0});                      // not > change time 1.0: still segment 0
  reqs.push_back({1.001, 0});                    // > 1.0: segment 1, fresh clocks
  const workload w = make_workload({"m"}, reqs);
  const approx_simulator sim(models, w);
  const placement host = make_placement({{1, 1, 1}}, {{0}});
  placement_with_replacement pr{{0.0, 1.0}, {host, host}};
  const auto r = sim.run(pr);
  double t = 0;
  for (int i = 0; i < 10; ++i) t = std::max(0.0, t) + l;
  REQUIRE(r.finish[10] == (std::max(1.0, t) + l) + 0.011);
  REQUIRE(r.finish[11] == (1.001 + l) + 0.011);  // carried clocks would give ~1.21
  REQUIRE(r.group_num_requests == std::vector<int64_t>{12});

  // Two change times passed by one gap: the next arrival moves only to the next segment.
  const placement nothing = make_placement({{1, 1, 1}}, {{}});
  const workload w2 = make_workload({"m"}, {{0.1, 0}, {1.0, 0}, {1.1, 0}});
  const approx_simulator sim2(models, w2);
  const auto r2 = sim2.run(placement_with_replacement{{0.0, 0.5, 0.6}, {host, nothing, host}});
  REQUIRE(r2.good == std::vector<uint8_t>{1, 0, 1});  // 1.0 falls in the empty segment
  REQUIRE(r2.group_num_requests == std::vector<int64_t>{2});
  const auto s2 =
      sim2.run_summary(placement_with_replacement{{0.0, 0.5, 0.6}, {host, nothing, host}});
  REQUIRE(s2.num_good == 2);
  REQUIRE(s2.group_num_requests == r2.group_num_requests);
}

namespace {

// An independent, literal transcription of simulate_requests_mixed (section 4.2), to check the
// flattened kernel on random inputs.
sim_result literal_mixed(const std::vector<model_data>& models, const workload& w,
                         const placement& p) {
  const size_t nm = models.size();
  const size_t ng = p.num_groups();
  std::vector<std::vector<int>> m2g(nm);
  for (size_t g = 0; g < ng; ++g)
    for (int m : p.group_models[g]) m2g[m].push_back(static_cast<int>(g));
  std::vector<std::vector<std::vector<float>>> lat(nm, std::vector<std::vector<float>>(ng));
  for (size_t m = 0; m < nm; ++m)
    for (size_t g = 0; g < ng; ++g) {
      const auto* c = models[m].profile.find(p.group_configs[g]);
      for (int k = 0; k < p.group_configs[g].pp; ++k)
        lat[m][g].push_back(
            c ? static_cast<float>(c->latency.at(1)[k] * (1 + 0.009 * c->latency.at(1).size()))
              : std::numeric_limits<float>::infinity());
    }
  std::vector<std::vector<double>> clocks(ng);
  for (size_t g = 0; g < ng; ++g) clocks[g].assign(p.group_configs[g].pp, 0.0);
  sim_result r;
  r.finish.resize(w.size());
  r.good.resize(w.size());
  r.group_num_requests.assign(ng, 0);
  for (size_t i = 0; i < w.size(); ++i) {
    const double a = w.arrivals[i];
    int m = -1;
    for (size_t j = 0; j < nm; ++j)
      if (models[j].name == w.model_names[w.model[i]]) m = static_cast<int>(j);
    int g = -1;
    double min_clock = 1e100;
    if (m >= 0)
      for (int h : m2g[m])
        if (clocks[h].back() < min_clock) {
          min_clock = clocks[h].back();
          g = h;
        }
    if (g < 0) {
      r.finish[i] = a;
      r.good[i] = 0;
      continue;
    }
    std::vector<double> tmp;
    double t = a;
    for (size_t k = 0; k < clocks[g].size(); ++k) {
      t = std::max(t, clocks[g][k]) + lat[m][g][k];
      tmp.push_back(t);
    }
    const double finish = t + 0.011;
    ++r.group_num_requests[g];
    if (finish - a <= static_cast<float>(models[m].slo)) {
      r.finish[i] = finish;
      r.good[i] = 1;
      clocks[g] = tmp;
    } else {
      r.finish[i] = a;
      r.good[i] = 0;
    }
  }
  return r;
}

}  // namespace

TEST_CASE("the flattened kernel equals a literal transcription on random workloads") {
  std::mt19937_64 rng(7);
  std::vector<model_data> models;
  for (int m = 0; m < 6; ++m) {
    const double single = 0.05 + 0.03 * m;
    models.push_back(
        model("m" + std::to_string(m), single * (2 + m % 3), simple_profile("p", single)));
  }
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  names.push_back("unknown");
  std::exponential_distribution<double> gap(60.0);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(names.size()) - 1);
  std::vector<request_spec> reqs;
  double t = 0;
  for (int i = 0; i < 20000; ++i) {
    t += gap(rng);
    reqs.push_back({t, pick(rng)});
  }
  const workload w = make_workload(names, reqs);
  const approx_simulator sim(models, w);
  const std::vector<placement> placements = {
      make_placement({{1, 1, 4}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}},
                     {{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {0, 1, 2}, {3, 4}}),
      make_placement({{1, 1, 2}, {1, 1, 2}, {1, 1, 1}, {1, 2, 1}},
                     {{0, 1}, {1, 2, 3}, {3, 4}, {5}}),
  };
  sim_result reused;  // run_into over a result left by the previous placement
  for (const auto& p : placements) {
    const auto expect = literal_mixed(models, w, p);
    const auto got = sim.run(p);
    sim.run_into(p, reused);
    REQUIRE(reused.finish == got.finish);
    REQUIRE(reused.good == got.good);
    REQUIRE(reused.group_num_requests == got.group_num_requests);
    REQUIRE(got.finish == expect.finish);
    REQUIRE(got.good == expect.good);
    REQUIRE(got.group_num_requests == expect.group_num_requests);
    const int64_t good = std::count(got.good.begin(), got.good.end(), uint8_t{1});
    REQUIRE(good > 0);
    REQUIRE(good < static_cast<int64_t>(w.size()));
    // The summary agrees with the per-request run.
    const auto s = sim.run_summary(p);
    REQUIRE(s.num_good == good);
    REQUIRE(s.group_num_requests == got.group_num_requests);
    REQUIRE(s.model_num_good == got.model_num_good);
    double sum = 0;
    for (size_t i = 0; i < w.size(); ++i) sum += got.finish[i] - w.arrivals[i];
    REQUIRE(s.latency_sum == sum);
  }
}

namespace {
model_profile batch_profile(const std::string& name, std::vector<int> sizes) {
  model_profile p;
  p.name = name;
  const std::map<int, double> lat = {{1, 0.1}, {2, 0.12}, {4, 0.15}, {8, 0.2}, {16, 0.3}};
  for (int bs : sizes) p.configs[{1, 1, 1}].add_result(bs, {lat.at(bs)}, {gib});
  return p;
}
}  // namespace

TEST_CASE("batching: requests queued behind a busy group are served as one batch") {
  const std::vector<model_data> models = {model("m", 1.0, batch_profile("m", {1, 2, 4, 8, 16}))};
  const workload w =
      make_workload({"m"}, {{0.0, 0}, {0.01, 0}, {0.02, 0}, {0.03, 0}, {0.04, 0}, {0.2, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run_batching(make_placement({{1, 1, 1}}, {{0}}));
  const double l1 = stored(0.1, 1);
  const double l4 = stored(0.15, 1);
  const double idle0 = std::max(0.0 + 0.011, 0.0) + l1;  // r0 alone at t=0
  REQUIRE(r.finish[0] == idle0);
  // At idle0 four requests wait: bs=4 (bs=8 would need padding).
  const double batch4 = std::max(idle0 + 0.011, idle0) + l4;
  for (int i = 1; i <= 4; ++i) REQUIRE(r.finish[i] == batch4);
  // r5 waits for the batch, then runs alone.
  REQUIRE(r.finish[5] == std::max(batch4 + 0.011, batch4) + l1);
  REQUIRE(r.good == std::vector<uint8_t>{1, 1, 1, 1, 1, 1});
  REQUIRE(r.group_num_requests == std::vector<int64_t>{6});
}

TEST_CASE("batching: a batch size without a profile is not used") {
  const std::vector<model_data> models = {model("m", 1.0, batch_profile("m", {1, 2}))};
  const workload w = make_workload({"m"}, {{0.0, 0}, {0.01, 0}, {0.02, 0}, {0.03, 0}, {0.04, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run_batching(make_placement({{1, 1, 1}}, {{0}}));
  const double l1 = stored(0.1, 1);
  const double l2 = stored(0.12, 1);
  const double idle0 = 0.011 + l1;
  const double b1 = std::max(idle0 + 0.011, idle0) + l2;  // r1, r2
  REQUIRE(r.finish[1] == b1);
  REQUIRE(r.finish[2] == b1);
  REQUIRE(r.finish[3] == std::max(b1 + 0.011, b1) + l2);  // r3, r4
  REQUIRE(r.finish[4] == r.finish[3]);
}

TEST_CASE("batching: queue heads that cannot meet their deadline alone are rejected") {
  const std::vector<model_data> models = {model("m", 0.15, batch_profile("m", {1, 2, 4, 8, 16}))};
  const workload w = make_workload({"m"}, {{0.0, 0}, {0.001, 0}, {0.08, 0}});
  const approx_simulator sim(models, w);
  const auto r = sim.run_batching(make_placement({{1, 1, 1}}, {{0}}));
  const double l1 = stored(0.1, 1);
  const double idle0 = 0.011 + l1;
  // At idle0: r1 would finish idle0 + l1 + 0.011 > 0.001 + 0.15 -> rejected; r2 (deadline 0.23)
  // fits alone; a batch of one since nothing else is queued.
  REQUIRE(r.good == std::vector<uint8_t>{1, 0, 1});
  REQUIRE(r.finish[1] == 0.001);
  REQUIRE(r.finish[2] == std::max(idle0 + 0.011, idle0) + l1);
  REQUIRE(r.group_num_requests == std::vector<int64_t>{3});
}

TEST_CASE("batching keeps the reference's break: an idle group with empty queues stops the scan") {
  // A's group g0 becomes idle first with nothing queued; the scan stops there, so B's queued r2
  // is served only when r3 arrives at 1.0 (instead of when g1 became idle at ~0.11).
  const workload w = make_workload({"A", "B"}, {{0.0, 0}, {0.0, 1}, {0.001, 1}, {1.0, 1}});
  model_profile slow_b;
  slow_b.name = "B";
  slow_b.configs[{1, 1, 1}].add_result(1, {0.2}, {gib});
  const std::vector<model_data> ms = {model("A", 10.0, batch_profile("A", {1})),
                                      model("B", 10.0, slow_b)};
  const approx_simulator sim(ms, w);
  const auto r = sim.run_batching(make_placement({{1, 1, 1}, {1, 1, 1}}, {{0}, {1}}));
  const double lb = stored(0.2, 1);
  const double x1 = 0.011 + lb;  // g1 idle after r1
  REQUIRE(r.finish[2] == std::max(1.0 + 0.011, x1) + lb);
  // r3 then runs from the stale (x1, g1) event, behind r2.
  REQUIRE(r.finish[3] == std::max(x1 + 0.011, r.finish[2]) + lb);
  REQUIRE(r.good == std::vector<uint8_t>{1, 1, 1, 1});
}

TEST_CASE("placement model ids out of range are refused") {
  const std::vector<model_data> models = {model("m", 1.0, simple_profile("m", 0.1))};
  const workload w = make_workload({"m"}, {{0.0, 0}});
  const approx_simulator sim(models, w);
  REQUIRE_THROWS_AS(sim.run(make_placement({{1, 1, 1}}, {{3}})), std::invalid_argument);
}

namespace {

// Per request and per counter, two runs equal.
void require_same_run(const sim_result& a, const sim_result& b) {
  REQUIRE(a.finish == b.finish);
  REQUIRE(a.good == b.good);
  REQUIRE(a.group_num_requests == b.group_num_requests);
  REQUIRE(a.model_num_good == b.model_num_good);
  REQUIRE(a.model_num_requests == b.model_num_requests);
}

// Every counter of two summaries equal; the latency sums equal up to the summation order.
void require_same_outcome(const sim_summary& a, const sim_summary& b) {
  REQUIRE(a.num_good == b.num_good);
  REQUIRE(a.group_num_requests == b.group_num_requests);
  REQUIRE(a.model_num_good == b.model_num_good);
  REQUIRE(a.model_num_requests == b.model_num_requests);
  REQUIRE(a.latency_sum == Approx(b.latency_sum).epsilon(1e-12));
}

model_profile deep_profile(double single) {
  model_profile p = simple_profile("p", single);
  p.configs[{1, 1, 3}].add_result(1, {single / 3, single / 3, single / 3},
                                  {gib / 3, gib / 3, gib / 3});
  std::vector<double> eight(8, single / 8), mem8(8, gib / 8);
  p.configs[{1, 1, 8}].add_result(1, eight, mem8);
  return p;
}

}  // namespace

TEST_CASE(
    "run and run_summary in interleaved chunks equal the sequential run, guesses right or wrong") {
  std::mt19937_64 rng(11);
  std::vector<model_data> models;
  for (int m = 0; m < 6; ++m) {
    const double single = 0.05 + 0.03 * m;
    models.push_back(model("m" + std::to_string(m), single * (2 + m % 3), deep_profile(single)));
  }
  // m6 has a huge SLO: once its only group is overloaded its queue never drains, so no warm-up
  // guesses the clocks there and chunks must be re-run.
  models.push_back(model("m6", 1e9, deep_profile(0.2)));
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  names.push_back("unknown");  // unregistered: rejected, counted nowhere
  std::exponential_distribution<double> gap(60.0);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(names.size()) - 2);
  std::vector<request_spec> reqs;
  double t = 0;
  for (int i = 0; i < 40000; ++i) {
    t += gap(rng);
    reqs.push_back({t, i % 97 == 0 ? static_cast<int>(names.size()) - 1 : pick(rng)});
  }
  const workload w = make_workload(names, reqs);
  approx_simulator sequential(models, w);
  sequential.set_chunking({std::numeric_limits<size_t>::max(), 1, 0});
  approx_simulator chunked(models, w);
  chunked.set_chunking({1000, 3000, 300});

  SECTION("mixed stage counts (1, 2, 3, 4), a model without a group, m6 served elsewhere") {
    const placement p =
        make_placement({{1, 1, 4}, {1, 1, 3}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}},
                       {{0, 1, 2, 3}, {2, 3, 4}, {4, 5, 0}, {6}, {1, 5}});  // m6 alone on g3
    const sim_summary a = sequential.run_summary(p), b = chunked.run_summary(p);
    require_same_outcome(a, b);
    require_same_run(sequential.run(p), chunked.run(p));
    CHECK(a.chunks == 1);
    CHECK(b.chunks > 10);
    CHECK(b.chunk_fixups > 0);  // m6's backlog spans chunk boundaries
    CHECK(b.chunk_fixups < b.chunks);
    CHECK(a.latency_sum == sequential.run_summary(p).latency_sum);  // deterministic
  }
  SECTION("light load, eight stages: every guess right") {
    const placement p = make_placement({{1, 1, 8}, {1, 1, 1}}, {{0, 1, 2, 3, 4, 5}, {0, 3}});
    const sim_summary a = sequential.run_summary(p), b = chunked.run_summary(p);
    require_same_outcome(a, b);
    require_same_run(sequential.run(p), chunked.run(p));
    CHECK(b.chunks > 10);
    CHECK(b.chunk_fixups == 0);
  }
  SECTION("Clockwork++ segments are chunked each from fresh clocks") {
    const placement_with_replacement p{
        {0.0, t / 3},
        {make_placement({{1, 1, 2}, {1, 1, 1}}, {{0, 1, 2}, {3, 4, 5}}),
         make_placement({{1, 1, 1}, {1, 1, 4}, {1, 1, 1}}, {{5}, {0, 1, 2, 3, 4}, {0, 6}})}};
    const sim_summary a = sequential.run_summary(p), b = chunked.run_summary(p);
    require_same_outcome(a, b);
    require_same_run(sequential.run(p), chunked.run(p));
    sim_result reused = chunked.run(make_placement({{1, 1, 1}}, {{0}}));  // other sizes first
    chunked.run_into(p, reused);
    require_same_run(sequential.run(p), reused);
    CHECK(b.chunks > 10);
  }
  SECTION("more than eight stages: sequential, one lane per segment") {
    model_profile deep;
    std::vector<double> lat(16, 0.01), mem(16, gib / 16);
    deep.configs[{1, 1, 16}].add_result(1, lat, mem);
    std::vector<model_data> one = {model("m0", 1.0, deep)};
    approx_simulator s16(one, w);
    s16.set_chunking({1000, 3000, 300});
    const sim_summary b = s16.run_summary(make_placement({{1, 1, 16}}, {{0}}));
    CHECK(b.chunks == 1);
    CHECK(b.num_good > 0);
  }
}

TEST_CASE("a result large enough for huge pages equals the sequential run, fresh or reused") {
  // 600 000 requests: 4.8 MB of finish times (advised for huge pages) and the default chunking.
  std::mt19937_64 rng(5);
  std::vector<model_data> models;
  for (int m = 0; m < 4; ++m)
    models.push_back(model("m" + std::to_string(m), 0.6, deep_profile(0.1)));
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  std::exponential_distribution<double> gap(30.0);
  std::uniform_int_distribution<int> pick(0, 3);
  std::vector<request_spec> reqs;
  double t = 0;
  for (int i = 0; i < 600000; ++i) reqs.push_back({t += gap(rng), pick(rng)});
  const workload w = make_workload(names, reqs);
  approx_simulator sequential(models, w);
  sequential.set_chunking({std::numeric_limits<size_t>::max(), 1, 0});
  const approx_simulator chunked(models, w);
  const placement p =
      make_placement({{1, 1, 4}, {1, 1, 2}, {1, 1, 1}}, {{0, 1, 2, 3}, {0, 1}, {2, 3}});
  const sim_result expected = sequential.run(p);
  const sim_result fresh = chunked.run(p);
  require_same_run(expected, fresh);
  CHECK(std::count(fresh.good.begin(), fresh.good.end(), 1) > 500000);
  sim_result reused = chunked.run(make_placement({{1, 1, 1}}, {{0}}));
  const double* storage = reused.finish.data();
  chunked.run_into(p, reused);
  require_same_run(expected, reused);
  CHECK(reused.finish.data() == storage);  // same size: the arrays were kept
}
