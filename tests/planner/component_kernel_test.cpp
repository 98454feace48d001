// The speed paths of the evaluator must not change a single bit: interleaved simulation lanes
// (planner/sim/component_kernel.hpp), mixed stage counts run with zero-latency padding stages,
// greedy fills run in lockstep (greedy_replica_fill_many), request streams gathered from bitsets,
// and sub-problem stats re-indexed in place; nor may the AVX-512 build of the loops.

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <tuple>

#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/group_config_enumeration.hpp"
#include "planner/policy/placement_evaluator.hpp"
#include "planner/policy/placement_problem.hpp"
#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/component_kernel_variants.hpp"
#include "policy_test_models.hpp"

using namespace alpaserve::planner;

namespace {

// Models with profiles for pp 1, 2, 4; some also for pp 8 or 16, so mixes of 1 to 16 stages
// occur (16 stages, as a 48-device remainder group has, runs the general kernel).
std::vector<model_data> kernel_models(int n, std::mt19937& rng) {
  std::vector<model_data> models;
  for (int i = 0; i < n; ++i) {
    const double lat = 0.03 + 0.01 * static_cast<double>(rng() % 20);
    const std::string name = "k" + std::to_string(i);
    model_profile p = test::simple_profile(name, lat, gib);
    if (i % 2 == 0)
      p.configs[{1, 1, 8}].add_result(1, std::vector<double>(8, lat / 8),
                                      std::vector<double>(8, gib / 8));
    if (i % 3 == 0)
      p.configs[{1, 1, 16}].add_result(1, std::vector<double>(16, lat / 16),
                                       std::vector<double>(16, gib / 16));
    models.push_back({name, lat * (2 + rng() % 4), 1.0 + rng() % 6, 3.0, p});
  }
  return models;
}

placement random_mix(int num_models, std::mt19937& rng) {
  placement p;
  const int groups = 1 + static_cast<int>(rng() % 6);
  // (1,2,1) is unprofiled: infinite latency; (1,1,8) only for even models, (1,1,16) for every
  // third.
  const parallel_config kinds[] = {{1, 1, 1}, {1, 1, 2},  {1, 1, 4},
                                   {1, 1, 8}, {1, 1, 16}, {1, 2, 1}};
  const bool uniform = rng() % 3 == 0;
  const parallel_config one = kinds[rng() % 6];
  for (int g = 0; g < groups; ++g) {
    p.group_configs.push_back(uniform ? one : kinds[rng() % 6]);
    std::vector<int> ms;
    for (int m = 0; m < num_models; ++m)
      if (rng() % 3 == 0) ms.push_back(m);
    p.group_models.push_back(ms);
  }
  p.normalize();
  return p;
}

void require_identical(const placement_stats& a, const placement_stats& b) {
  REQUIRE(a.model_num_requests == b.model_num_requests);
  REQUIRE(a.model_num_good == b.model_num_good);
  REQUIRE(a.group_num_requests == b.group_num_requests);
  REQUIRE(a.num_requests == b.num_requests);
  REQUIRE(a.num_good == b.num_good);
  REQUIRE(a.latency_sum == b.latency_sum);  // bit for bit, not approximately
  REQUIRE(a.num_replicas == b.num_replicas);
}

}  // namespace

TEST_CASE("interleaved simulations give bit-identical stats to one-at-a-time simulations") {
  std::mt19937 rng(41);
  for (int trial = 0; trial < 12; ++trial) {
    const auto models = kernel_models(8, rng);
    const workload w = test::gamma_for(models, 40, 300 + trial);
    // Enough candidates that every stage count gets several lanes, refills and a tail.
    std::vector<placement> cands;
    for (int i = 0; i < 40; ++i) cands.push_back(random_mix(8, rng));
    placement_evaluator interleaved(models, w);
    evaluator_options one_by_one;
    one_by_one.interleave = false;
    placement_evaluator single(models, w, one_by_one);
    const auto a = interleaved.stats_many(cands);
    const auto b = single.stats_many(cands);
    REQUIRE(interleaved.counters().component_sims == single.counters().component_sims);
    for (size_t i = 0; i < cands.size(); ++i) require_identical(a[i], b[i]);
  }
}

TEST_CASE("mixed stage counts padded with zero-latency stages equal the unpadded kernel") {
  // stats() of a whole placement runs the padded fixed-stage kernel; simulate_requests() runs
  // the general kernel over the same request order, so even the latency sum must match exactly.
  std::mt19937 rng(43);
  int mixed = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const auto models = kernel_models(6, rng);
    const workload w = test::gamma_for(models, 40, 500 + trial);
    placement_evaluator whole(models, w, evaluator_options{1, false, false});
    const placement p = random_mix(6, rng);
    int lo = 8;
    int hi = 1;
    for (size_t g = 0; g < p.num_groups(); ++g) {
      if (p.group_models[g].empty()) continue;
      lo = std::min(lo, p.group_configs[g].pp);
      hi = std::max(hi, p.group_configs[g].pp);
    }
    mixed += lo < hi ? 1 : 0;
    const placement_stats s = whole.stats(p);
    std::vector<uint8_t> good;
    std::vector<double> finish;
    whole.simulate_requests(p, good, finish);
    int64_t num_good = 0;
    double latency_sum = 0;
    for (size_t i = 0; i < good.size(); ++i) {
      num_good += good[i];
      latency_sum += good[i] ? finish[i] - w.arrivals[i] : 0.0;
    }
    REQUIRE(s.num_good == num_good);
    REQUIRE(s.latency_sum == latency_sum);
  }
  REQUIRE(mixed > 10);
}

TEST_CASE("greedy fills in lockstep equal the fills one after another") {
  std::mt19937 rng(47);
  const auto models = kernel_models(9, rng);
  const workload w = test::gamma_for(models, 60, 7);
  const double budget = 2.5 * gib;
  // The whole problem and two sub-problems on model subsets, as mp-search-sep has them.
  const std::vector<int> even = {0, 2, 4, 6, 8};
  const std::vector<int> odd = {1, 3, 5, 7};
  auto subset = [&](const std::vector<int>& ids) {
    std::vector<model_data> out;
    for (int m : ids) out.push_back(models[m]);
    return out;
  };
  const std::vector<std::vector<parallel_config>> group_lists = {{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
                                                                 {{1, 1, 2}, {1, 1, 2}},
                                                                 {{1, 1, 4}, {1, 1, 1}, {1, 1, 2}},
                                                                 {{1, 1, 8}},
                                                                 {{1, 1, 8}, {1, 1, 16}},
                                                                 {{1, 1, 16}, {1, 1, 16}},
                                                                 {{1, 1, 2}, {1, 2, 1}}};
  placement_evaluator shared(models, w);
  const placement_problem whole(models, budget, shared);
  const placement_problem evens(subset(even), budget, shared, even);
  const placement_problem odds(subset(odd), budget, shared, odd);
  std::vector<placement> inits;
  std::vector<const placement_problem*> problems;
  for (const placement_problem* p : {&whole, &evens, &odds})
    for (const auto& configs : group_lists) {
      inits.push_back(empty_placement(configs));
      problems.push_back(p);
    }
  const std::vector<placement> together = greedy_replica_fill_many(inits, problems);
  REQUIRE(together.size() == inits.size());

  placement_evaluator alone(models, w);
  const placement_problem whole1(models, budget, alone);
  const placement_problem evens1(subset(even), budget, alone, even);
  const placement_problem odds1(subset(odd), budget, alone, odd);
  const placement_problem* same[] = {&whole1, &evens1, &odds1};
  int replicas = 0;
  for (size_t i = 0; i < inits.size(); ++i) {
    const placement one = greedy_replica_fill(inits[i], *same[i / group_lists.size()]);
    replicas += one.num_replicas();
    REQUIRE(together[i] == one);
  }
  REQUIRE(replicas > 20);

  placement_evaluator other(models, w);
  const placement_problem foreign(models, budget, other);
  REQUIRE_THROWS_AS(greedy_replica_fill_many({inits[0], inits[1]}, {&whole, &foreign}),
                    std::invalid_argument);
}

TEST_CASE("request streams from bitsets equal the workload pass and the list merge") {
  // Component model sets of every size occur: single models, sparse sets (list merge) and dense
  // ones (workload pass); every stat, the latency sum included, must match bit for bit.
  std::mt19937 rng(53);
  for (int trial = 0; trial < 10; ++trial) {
    const auto models = kernel_models(12, rng);
    const workload w = test::gamma_for(models, 40, 900 + trial);
    std::vector<placement> cands;
    for (int i = 0; i < 30; ++i) cands.push_back(random_mix(12, rng));
    placement_evaluator bitsets(models, w);
    evaluator_options plain;
    plain.request_bitsets = false;
    placement_evaluator lists(models, w, plain);
    const auto a = bitsets.stats_many(cands);
    const auto b = lists.stats_many(cands);
    for (size_t i = 0; i < cands.size(); ++i) require_identical(a[i], b[i]);
    for (const auto& p : cands) {
      std::vector<uint8_t> good_a;
      std::vector<uint8_t> good_b;
      std::vector<double> finish_a;
      std::vector<double> finish_b;
      bitsets.simulate_requests(p, good_a, finish_a);
      lists.simulate_requests(p, good_b, finish_b);
      REQUIRE(good_a == good_b);
      REQUIRE(finish_a == finish_b);
    }
  }
}

TEST_CASE("sub-problem stats are the evaluator's re-indexed by local id, any id order") {
  std::mt19937 rng(59);
  const auto models = kernel_models(8, rng);
  const workload w = test::gamma_for(models, 40, 11);
  placement_evaluator evaluator(models, w);
  // Ascending ids re-index in place; the others through new arrays.
  for (const std::vector<int>& ids : std::vector<std::vector<int>>{
           {0, 2, 5, 7}, {1, 2, 3}, {6, 1, 4}, {3, 0}, {7, 6, 5, 4, 3, 2, 1, 0}}) {
    std::vector<model_data> sub_models;
    for (int m : ids) sub_models.push_back(models[m]);
    const placement_problem sub(sub_models, 4 * gib, evaluator, ids);
    for (int k = 0; k < 5; ++k) {
      const int n = static_cast<int>(ids.size());
      placement local = random_mix(n, rng);
      const placement global = sub.to_global(local);
      placement reused = random_mix(8, rng);  // stale content to be overwritten
      sub.to_global(local, reused);
      REQUIRE(reused == global);
      const placement_stats s = sub.stats(local);
      const placement_stats g = evaluator.stats(global);
      REQUIRE(s.model_num_requests.size() == ids.size());
      for (int i = 0; i < n; ++i) {
        REQUIRE(s.model_num_requests[i] == g.model_num_requests[ids[i]]);
        REQUIRE(s.model_num_good[i] == g.model_num_good[ids[i]]);
      }
      REQUIRE(s.group_num_requests == g.group_num_requests);
      REQUIRE(s.latency_sum == g.latency_sum);
    }
  }
}

TEST_CASE("the AVX-512 build of the loops gives the portable build's outcomes bit for bit") {
  if (!kernel_isa_supported(kernel_isa::avx512)) {
    std::puts("no AVX-512 on this CPU: skipping (exit 77)");
    std::exit(77);  // CTest: skipped, not passed
  }
  const kernel_isa before = active_kernel_isa();
  std::mt19937 rng(47);
  int64_t requests = 0;
  for (int trial = 0; trial < 16; ++trial) {
    const auto models = kernel_models(8, rng);
    const workload w = test::gamma_for(models, 40, 900 + trial);
    std::vector<placement> cands;
    for (int i = 0; i < 30; ++i) cands.push_back(random_mix(8, rng));
    // Each build on a fresh evaluator: nothing cached from the other.
    auto outcomes = [&](kernel_isa isa) {
      force_kernel_isa(isa);
      placement_evaluator evaluator(models, w);
      auto stats = evaluator.stats_many(cands);  // interleaved lanes, fixed stage counts
      std::vector<uint8_t> good;
      std::vector<double> finish;
      evaluator.simulate_requests(cands.front(), good, finish);  // the recording loop
      // The approximate simulator's chunked runs use the recording lanes.
      approx_simulator sim(models, w);
      sim.set_chunking({500, 1000, 100});
      sim_result run = sim.run(cands.back());
      requests += evaluator.counters().requests_simulated;
      return std::make_tuple(std::move(stats), std::move(good), std::move(finish), std::move(run));
    };
    const auto [sa, ga, fa, ra] = outcomes(kernel_isa::portable);
    const auto [sb, gb, fb, rb] = outcomes(kernel_isa::avx512);
    for (size_t i = 0; i < cands.size(); ++i) require_identical(sa[i], sb[i]);
    REQUIRE(ga == gb);
    REQUIRE(fa == fb);  // exact doubles
    REQUIRE(ra.good == rb.good);
    REQUIRE(ra.finish == rb.finish);
    REQUIRE(ra.group_num_requests == rb.group_num_requests);
    REQUIRE(ra.model_num_good == rb.model_num_good);
  }
  force_kernel_isa(before);
  CHECK(requests > 100000);  // the comparison covered real work
}

TEST_CASE("kernel selection: portable always available, unsupported builds refused") {
  REQUIRE(kernel_isa_supported(kernel_isa::portable));
  const kernel_isa before = active_kernel_isa();
  force_kernel_isa(kernel_isa::portable);
  REQUIRE(active_kernel_isa() == kernel_isa::portable);
  if (kernel_isa_supported(kernel_isa::avx512)) {
    force_kernel_isa(kernel_isa::avx512);
    REQUIRE(active_kernel_isa() == kernel_isa::avx512);
  } else {
    REQUIRE_THROWS_AS(force_kernel_isa(kernel_isa::avx512), std::invalid_argument);
    REQUIRE(active_kernel_isa() == kernel_isa::portable);
  }
  REQUIRE(kernel_isa_name(kernel_isa::avx512) == "avx512");
  REQUIRE(kernel_isa_name(kernel_isa::portable) == "portable");
  force_kernel_isa(before);
}
