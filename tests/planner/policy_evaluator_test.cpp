// The placement evaluator must give exactly the reference approximate simulator's outcome however
// it gets there: decomposed into connected components, from its caches, or on several threads.

#include <catch2/catch.hpp>

#include <random>

#include "planner/policy/placement_evaluator.hpp"
#include "planner/policy/policy_registry.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "planner/sim/approx_simulator.hpp"
#include "planner/workload/workload_gen.hpp"
#include "policy_test_models.hpp"

using namespace alpaserve::planner;

namespace {

// Models of mixed sizes and speeds with profiles for pp 1, 2, 4 (latencies are not multiples of
// each other so ties in dispatch are rare but possible).
std::vector<model_data> mixed_models(int n, std::mt19937& rng) {
  std::vector<model_data> models;
  for (int i = 0; i < n; ++i) {
    const double lat = 0.05 + 0.01 * static_cast<double>(rng() % 20);
    const std::string name = "x" + std::to_string(i);
    models.push_back(
        {name, lat * (2 + rng() % 4), 1.0 + rng() % 5, 3.0, test::simple_profile(name, lat, gib)});
  }
  return models;
}

placement random_placement(int num_models, std::mt19937& rng) {
  placement p;
  const int groups = 1 + static_cast<int>(rng() % 7);
  const parallel_config kinds[] = {{1, 1, 1}, {1, 1, 2}, {1, 1, 4}, {1, 2, 1}};
  for (int g = 0; g < groups; ++g) {
    p.group_configs.push_back(kinds[rng() % 4]);  // (1,2,1) is unprofiled: infinite latency
    std::vector<int> ms;
    for (int m = 0; m < num_models; ++m)
      if (rng() % 4 == 0) ms.push_back(m);
    p.group_models.push_back(ms);
  }
  p.normalize();
  return p;
}

void require_same(const placement_stats& s, const sim_result& r, const placement& p) {
  REQUIRE(s.group_num_requests == r.group_num_requests);
  REQUIRE(s.model_num_good == r.model_num_good);
  REQUIRE(s.model_num_requests == r.model_num_requests);
  int64_t good = 0;
  double latency = 0;
  for (size_t i = 0; i < r.good.size(); ++i) good += r.good[i];
  REQUIRE(s.num_good == good);
  (void)p;
  (void)latency;
}

}  // namespace

TEST_CASE("evaluator outcomes equal the approximate simulator on random placements") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    const auto models = mixed_models(6, rng);
    const workload w = test::gamma_for(models, 60, trial);
    const approx_simulator sim(models, w);
    placement_evaluator decomposed(models, w);
    placement_evaluator whole(models, w, evaluator_options{1, false, false});
    for (int k = 0; k < 5; ++k) {
      const placement p = random_placement(6, rng);
      const sim_result ref = sim.run(p);
      const placement_stats a = decomposed.stats(p);
      const placement_stats b = whole.stats(p);
      require_same(a, ref, p);
      require_same(b, ref, p);
      double ref_latency = 0;
      for (size_t i = 0; i < ref.finish.size(); ++i) ref_latency += ref.finish[i] - w.arrivals[i];
      REQUIRE(a.latency_sum == Approx(ref_latency).epsilon(1e-12).margin(1e-9));
      std::vector<uint8_t> good;
      std::vector<double> finish;
      decomposed.simulate_requests(p, good, finish);
      REQUIRE(good == ref.good);
      REQUIRE(finish == ref.finish);
    }
  }
}

TEST_CASE("incremental re-simulation after adding one replica equals a full simulation") {
  // The evaluator re-simulates only the component that the new replica joins; every other
  // component comes from its cache. A fresh evaluator without decomposition or cache must agree.
  std::mt19937 rng(23);
  for (int trial = 0; trial < 20; ++trial) {
    const auto models = mixed_models(8, rng);
    const workload w = test::gamma_for(models, 40, 100 + trial);
    placement_evaluator incremental(models, w);
    placement p = random_placement(8, rng);
    (void)incremental.stats(p);
    for (int step = 0; step < 6; ++step) {
      const int g = static_cast<int>(rng() % p.num_groups());
      const int m = static_cast<int>(rng() % 8);
      if (std::find(p.group_models[g].begin(), p.group_models[g].end(), m) !=
          p.group_models[g].end())
        continue;
      p = p.add_model(g, m);
      p.normalize();
      const auto before = incremental.counters();
      const placement_stats inc = incremental.stats(p);
      const auto after = incremental.counters();
      REQUIRE(after.component_sims - before.component_sims <= 1);  // only the merged component
      placement_evaluator fresh(models, w, evaluator_options{1, false, false});
      const placement_stats full = fresh.stats(p);
      REQUIRE(inc.model_num_good == full.model_num_good);
      REQUIRE(inc.group_num_requests == full.group_num_requests);
      REQUIRE(inc.num_good == full.num_good);
      REQUIRE(inc.latency_sum == Approx(full.latency_sum).epsilon(1e-12));
    }
  }
}

TEST_CASE("evaluator memoizes placements and components") {
  std::mt19937 rng(3);
  const auto models = mixed_models(5, rng);
  const workload w = test::gamma_for(models, 30);
  placement_evaluator ev(models, w);
  placement p;
  p.group_configs = {{1, 1, 1}, {1, 1, 1}, {1, 1, 2}};
  p.group_models = {{0}, {1, 2}, {3}};
  const double first = ev.score(p);
  const auto c1 = ev.counters();
  REQUIRE(c1.component_sims == 3);  // three independent components
  REQUIRE(ev.score(p) == first);
  REQUIRE(ev.counters().placement_hits == 1);
  REQUIRE(ev.counters().component_sims == 3);
  placement q = p.add_model(2, 4);  // changes only the third component
  (void)ev.score(q);
  REQUIRE(ev.counters().component_sims == 4);
  REQUIRE(ev.counters().component_hits == 2);
}

TEST_CASE("parallel scoring gives the same scores as sequential scoring") {
  std::mt19937 rng(8);
  const auto models = mixed_models(8, rng);
  const workload w = test::gamma_for(models, 50);
  std::vector<placement> cands;
  for (int i = 0; i < 40; ++i) cands.push_back(random_placement(8, rng));
  placement_evaluator seq(models, w);
  placement_evaluator par(models, w, evaluator_options{4, true, true});
  const auto a = seq.scores(cands);
  const auto b = par.scores(cands);
  REQUIRE(a == b);
  REQUIRE(par.scores(cands) == a);  // second round from the caches
}

TEST_CASE("requests of models outside the evaluator count as rejected with zero latency") {
  auto models = test::two_gb_models(2, 1.0, 2.0, 1.0);
  const workload w = test::gamma_for(models, 50);
  models.pop_back();  // m1's requests are now unregistered
  placement_evaluator ev(models, w);
  placement p;
  p.group_configs = {{1, 1, 1}};
  p.group_models = {{0}};
  const auto s = ev.stats(p);
  REQUIRE(s.num_requests == static_cast<int64_t>(w.size()));
  REQUIRE(s.model_num_requests[0] < s.num_requests);
  REQUIRE(s.num_good <= s.model_num_requests[0]);
  REQUIRE(s.goodput() < 1.0);
}

TEST_CASE("searches choose the same placement with and without decomposition and caches") {
  // The fast paths (components, cached request streams, specialised kernels, memo) against the
  // plain one (every candidate simulated whole, nothing cached) on a small version of the
  // benchmark mix: zoo v100 BERT profiles in two latency buckets, power-law rates.
  static const profile_db db =
      zoo_profile_db(device_preset("v100"), {"bert-6.7b", "bert-2.6b", "bert-1.3b"});
  const char* types[] = {"bert-6.7b", "bert-2.6b", "bert-1.3b"};
  auto mix = [&](int n, double total_rate) {
    const auto rates = power_law_rates(static_cast<size_t>(n), total_rate);
    std::vector<model_data> models;
    for (int i = 0; i < n; ++i) {
      const model_profile& p = db.at(types[i % 3]);
      models.push_back({std::string(types[i % 3]) + "-" + std::to_string(i / 3),
                        5.0 * p.single_device_latency(), rates[i], 4.0, p});
    }
    return models;
  };
  struct search_case {
    std::string policy;
    int models;
    int devices;
  };
  for (const search_case& c : {search_case{"mp-search-sep", 9, 8}, search_case{"mp-search", 9, 8},
                               search_case{"sr-search", 6, 6}, search_case{"sr-greedy", 9, 8}}) {
    CAPTURE(c.policy);
    const auto models = mix(c.models, 1.5 * c.models);
    const workload train = test::gamma_for(models, 80, 5);
    const cluster_env cluster{c.devices, 13 * gib};
    policy_options fast;
    policy_options no_memo;
    no_memo.evaluator.memoize = false;
    policy_options plain;
    plain.evaluator.decompose = false;
    plain.evaluator.memoize = false;
    const auto a = make_policy(c.policy, fast)->solve(models, cluster, &train, {});
    const auto b = make_policy(c.policy, no_memo)->solve(models, cluster, &train, {});
    const auto p = make_policy(c.policy, plain)->solve(models, cluster, &train, {});
    REQUIRE(a.first_placement().num_replicas() > 0);
    REQUIRE(a.first_placement() == b.first_placement());
    REQUIRE(a.train_score == b.train_score);  // same components, same sums: bit-identical
    REQUIRE(a.first_placement() == p.first_placement());
    REQUIRE(a.train_score == Approx(p.train_score).epsilon(1e-12));
  }
}
