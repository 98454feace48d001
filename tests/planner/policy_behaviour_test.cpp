// Policies on small problems whose answer can be checked by hand.

#include <catch2/catch.hpp>

#include <algorithm>

#include "planner/core/input_error.hpp"
#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/policy_registry.hpp"
#include "planner/workload/train_workload.hpp"
#include "policy_test_models.hpp"

using namespace alpaserve::planner;

namespace {

const placement& single(const policy_result& r) {
  return std::get<placement>(r.solution);
}

bool fits_more(const placement& p, const std::vector<model_data>& models, double budget,
               bool strict) {
  for (size_t g = 0; g < p.num_groups(); ++g) {
    const double used = group_memory(p, static_cast<int>(g), models);
    for (size_t m = 0; m < models.size(); ++m) {
      const auto& h = p.group_models[g];
      if (std::find(h.begin(), h.end(), static_cast<int>(m)) != h.end()) continue;
      const double after = used + models[m].profile.weight_per_device(p.group_configs[g]);
      if (strict ? after < budget : after <= budget) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("mp-search puts four 2 GB / 100 ms models into one 4-stage pipeline under a tight SLO") {
  // 2.5 GB per device: a (1,1,1) device holds one model, a (1,1,2) pair two, a (1,1,4) pipeline
  // all four (0.5 GB per stage each). Bursty traffic (CV 4) with an SLO of 3x the single-device
  // latency is served best when every model can use all four devices.
  const auto models = test::two_gb_models(4, 0.3, 4.0, 4.0);
  const cluster_env cluster{4, 2.5 * gib};
  const workload train = test::gamma_for(models, 200);
  const auto r = make_policy("mp-search")->solve(models, cluster, &train, {});
  const placement& p = single(r);
  REQUIRE(p.num_groups() == 1);
  REQUIRE(p.group_configs[0] == parallel_config{1, 1, 4});
  REQUIRE(p.group_models[0] == std::vector<int>{0, 1, 2, 3});
  REQUIRE(placement_problems(p, models, cluster).empty());
  // It beats the best selective replication on the same workload.
  const auto sr = make_policy("sr-greedy")->solve(models, cluster, &train, {});
  REQUIRE(r.train_score > sr.train_score);
}

TEST_CASE("sr-greedy fills memory (<= budget) and sr-search stops at the strict < budget") {
  const auto models = test::two_gb_models(3, 0.5, 2.0, 1.0);
  const cluster_env cluster{3, 4 * gib};  // exactly two 2 GB models per device
  const workload train = test::gamma_for(models, 100);
  const placement greedy = single(make_policy("sr-greedy")->solve(models, cluster, &train, {}));
  REQUIRE(greedy.num_replicas() == 6);
  REQUIRE_FALSE(fits_more(greedy, models, cluster.mem_budget, false));
  const placement beam = single(make_policy("sr-search")->solve(models, cluster, &train, {}));
  REQUIRE(beam.num_replicas() == 3);  // 2 + 2 < 4 GB is false: one model per device
  REQUIRE_FALSE(fits_more(beam, models, cluster.mem_budget, true));
  for (const auto& g : beam.group_models) REQUIRE(g.size() == 1);
  // Every model got a device.
  std::vector<int> all;
  for (const auto& g : beam.group_models) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  REQUIRE(all == std::vector<int>{0, 1, 2});
}

TEST_CASE("greedy tie rules: equal unserved -> highest model id, equal load -> lowest group") {
  const auto models = test::two_gb_models(3, 0.5, 1.0, 1.0);
  const workload w = test::gamma_for(models, 10);
  placement_evaluator ev(models, w);
  placement_problem problem(models, 13 * gib, ev);
  placement sol;
  sol.group_configs = {{1, 1, 1}, {1, 1, 1}};
  sol.group_models = {{}, {}};
  placement_stats s;
  s.model_num_requests = {10, 10, 10};
  s.model_num_good = {0, 0, 0};
  s.group_num_requests = {0, 0};
  auto c = greedy_next_replica(sol, problem, s);
  REQUIRE(c.group == 0);
  REQUIRE(c.model == 2);
  // Fully served models: unserved = n (1 - n / (n + 1e-6)) is float64 noise that still orders
  // them; 20 requests leave more "unserved" noise than 10.
  s.model_num_requests = {10, 20, 10};
  s.model_num_good = {10, 20, 10};
  s.group_num_requests = {5, 3};
  c = greedy_next_replica(sol, problem, s);
  REQUIRE(c.group == 1);
  const double u10 = 10.0 * (1.0 - 10.0 / (10.0 + 1e-6));
  const double u20 = 20.0 * (1.0 - 20.0 / (20.0 + 1e-6));
  REQUIRE(c.model == (u20 > u10 ? 1 : 2));
}

TEST_CASE("mp-round-robin deals models over (1,1,4) groups and power-of-two remainders") {
  std::vector<model_data> models;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "r" + std::to_string(i);
    models.push_back({name, 1, 1, 1, test::simple_profile(name, 0.1, 4 * gib)});
  }
  // 6 devices: one (1,1,4) group (1 GB per model per device) and one (1,1,2) group (2 GB).
  const cluster_env cluster{6, 4 * gib};
  const placement p = single(make_policy("mp-round-robin")->solve(models, cluster, nullptr, {}));
  REQUIRE(p.group_configs == std::vector<parallel_config>{{1, 1, 4}, {1, 1, 2}});
  // Pass 1: r0->g0, r1->g1, r2->g0; pass 2: r0->g1, r1->g0, r2 does not fit g1 (4 GB used);
  // pass 3 (pointer still on g1): nothing fits -> stop.
  REQUIRE(p.group_models[0] == std::vector<int>{0, 2, 1});
  REQUIRE(p.group_models[1] == std::vector<int>{1, 0});
}

TEST_CASE("mp-equal-<pp>-<op> gives group i only model i") {
  const auto models = test::two_gb_models(3, 1.0, 1.0, 1.0);
  const cluster_env cluster{9, 13 * gib};
  const placement p = single(make_policy("mp-equal-2-1")->solve(models, cluster, nullptr, {}));
  REQUIRE(p.num_groups() == 4);  // floor(9 / 2)
  for (const auto& c : p.group_configs) REQUIRE(c == parallel_config{1, 1, 2});
  REQUIRE(p.group_models == std::vector<std::vector<int>>{{0}, {1}, {2}, {}});
}

TEST_CASE("sr-replace splits the train workload into windows, each with its own placement") {
  auto models = test::two_gb_models(2, 0.5, 5.0, 1.0);
  const cluster_env cluster{1, 3 * gib};  // one model at a time
  // m0 is busy in [0, 100), m1 in [100, 200).
  workload w;
  w.model_names = {"m0", "m1"};
  for (int i = 0; i < 400; ++i) {
    w.arrivals.push_back(0.5 * i + 0.1);
    w.model.push_back(i < 200 ? 0 : 1);
  }
  const auto r = make_policy("sr-replace-99.5")->solve(models, cluster, &w, {});
  REQUIRE(r.has_replacement());
  const auto& rep = std::get<placement_with_replacement>(r.solution);
  // Windows: [0.1, 99.6], then the first arrival after 99.6 (100.1) opens the second.
  REQUIRE(rep.start_times == std::vector<double>{0.1, 100.1});
  REQUIRE(rep.placements[0].group_models == std::vector<std::vector<int>>{{0}});
  REQUIRE(rep.placements[1].group_models == std::vector<std::vector<int>>{{1}});
}

TEST_CASE("policy names parse, round-trip, and unknown names list the valid ones") {
  for (const char* n : {"sr-greedy", "sr-search", "sr-replace-60", "mp-greedy-4", "mp-round-robin",
                        "mp-equal-16-1", "mp-search", "mp-search-sep"}) {
    REQUIRE(is_known_policy(n));
    REQUIRE(make_policy(n)->name() == n);
  }
  for (const char* bad : {"sr-gready", "mp-greedy-0", "mp-greedy-", "mp-equal-4", "sr-replace-x",
                          "", "mp-search-sep2"}) {
    REQUIRE_FALSE(is_known_policy(bad));
  }
  try {
    (void)make_policy("alpaserve");
    FAIL("no error");
  } catch (const input_error& e) {
    REQUIRE(std::string(e.what()).find("mp-search-sep") != std::string::npos);
    REQUIRE(std::string(e.what()).find("alpaserve") != std::string::npos);
  }
}

TEST_CASE("infeasible problems are input errors, not crashes") {
  const auto models = test::two_gb_models(2, 1.0, 1.0, 1.0);
  REQUIRE_THROWS_AS(make_policy("mp-search")->solve(models, cluster_env{0, 13 * gib}, nullptr, {}),
                    input_error);
  REQUIRE_THROWS_AS(
      make_policy("mp-greedy-4")->solve(models, cluster_env{6, 13 * gib}, nullptr, {}),
      input_error);
  REQUIRE_THROWS_AS(
      make_policy("mp-equal-8-1")->solve(models, cluster_env{4, 13 * gib}, nullptr, {}),
      input_error);
  // 2 GB models and a 1 GB budget: only the 2- and 4-stage configs can hold them.
  REQUIRE(models_fitting_nowhere(models, {{1, 1, 1}}, 1 * gib) == std::vector<int>{0, 1});
  REQUIRE(models_fitting_nowhere(models, {{1, 1, 1}, {1, 1, 2}}, 1 * gib).empty());
}

TEST_CASE("train workload: max(100, 30000 / total rate) seconds, model i seeded i") {
  auto models = test::two_gb_models(3, 1.0, 50.0, 2.0);
  REQUIRE(train_duration(models) == Approx(200.0));
  models[0].rate = models[1].rate = models[2].rate = 1.0;
  REQUIRE(train_duration(models) == Approx(10000.0));
  models = test::two_gb_models(3, 1.0, 100.0, 2.0);
  const workload w = gen_train_workload(models);
  REQUIRE(w.arrivals.back() < 100.0);
  const workload same = test::gamma_for(models, 100.0, 0);
  REQUIRE(w.arrivals == same.arrivals);
  REQUIRE(w.model == same.model);
}
