// stage_partition: the DP against brute force over every split of small random inputs.

#include <catch2/catch.hpp>

#include <random>

#include "planner/profile/stage_partition.hpp"

using namespace alpaserve::planner;

namespace {

// Every way to cut n layers into pp non-empty contiguous stages (boundaries incl. 0 and n).
void all_splits(int n, int pp, std::vector<int>& cur, std::vector<std::vector<int>>& out) {
  if (static_cast<int>(cur.size()) == pp) {
    cur.push_back(n);
    out.push_back(cur);
    cur.pop_back();
    return;
  }
  const int remaining = pp - static_cast<int>(cur.size());
  for (int b = cur.back() + 1; b <= n - remaining; ++b) {
    cur.push_back(b);
    all_splits(n, pp, cur, out);
    cur.pop_back();
  }
}

}  // namespace

TEST_CASE("partition_stages finds the brute-force optimum, then the lightest optimal split") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> lat(0.001, 0.02), weight(1, 100), bytes(0, 4e8);
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 9);
    const int pp = 1 + static_cast<int>(rng() % n);
    std::vector<partition_layer> layers(n);
    for (auto& l : layers) {
      // Coarse latencies make ties common so the weight tie-break is exercised.
      l.latency = trial % 2 == 0 ? lat(rng) : 0.001 * (1 + rng() % 3);
      l.weight_bytes = weight(rng);
      l.output_bytes = bytes(rng);
    }
    stage_overheads o{0.002, 0.001 * (rng() % 3), 0.002 * (rng() % 2), 20e9, 1e-5 * (rng() % 2)};

    std::vector<std::vector<int>> splits;
    std::vector<int> cur{0};
    all_splits(n, pp, cur, splits);
    double best_latency = 1e300;
    for (const auto& s : splits)
      best_latency = std::min(best_latency, evaluate_partition(layers, s, o).max_latency());
    double best_weight = 1e300;
    for (const auto& s : splits) {
      const auto e = evaluate_partition(layers, s, o);
      if (e.max_latency() <= best_latency * (1 + 1e-9))
        best_weight = std::min(best_weight, e.max_weight());
    }

    const auto got = partition_stages(layers, pp, o);
    INFO("trial " << trial << " n=" << n << " pp=" << pp);
    REQUIRE(got.boundaries.size() == static_cast<size_t>(pp + 1));
    REQUIRE(got.max_latency() == Approx(best_latency).epsilon(1e-12));
    REQUIRE(got.max_weight() == Approx(best_weight).epsilon(1e-12));
    // The reported costs are those of the reported split.
    const auto check = evaluate_partition(layers, got.boundaries, o);
    REQUIRE(check.stage_latency == got.stage_latency);
    REQUIRE(check.stage_weight == got.stage_weight);
  }
}

TEST_CASE("stage_latency charges overheads and the transfer into every stage but the first") {
  std::vector<partition_layer> layers = {{1.0, 10, 2e9}, {2.0, 20, 4e9}, {3.0, 30, 8e9}};
  stage_overheads o{0.5, 0.25, 0.125, 1e9, 0.01};
  REQUIRE(stage_latency(layers, 0, 3, 0, 1, o) == Approx(6.0 + 0.5 + 0.25 + 0.125));
  REQUIRE(stage_latency(layers, 0, 1, 0, 2, o) == Approx(1.0 + 0.5 + 0.25));
  // Receives layer 0's 2e9 bytes at 1e9 B/s.
  REQUIRE(stage_latency(layers, 1, 3, 1, 2, o) == Approx(5.0 + 0.5 + 0.125 + 2.0 + 0.01));
  const auto p = evaluate_partition(layers, {0, 2, 3}, o);
  REQUIRE(p.stage_weight == std::vector<double>{30, 30});
}

TEST_CASE("partition_stages rejects impossible stage counts and evaluate_partition bad splits") {
  std::vector<partition_layer> layers(3, {1.0, 1.0, 0.0});
  REQUIRE_THROWS_AS(partition_stages(layers, 0, {}), std::invalid_argument);
  REQUIRE_THROWS_AS(partition_stages(layers, 4, {}), std::invalid_argument);
  REQUIRE_THROWS_AS(evaluate_partition(layers, {0, 2, 2, 3}, {}), std::invalid_argument);
  REQUIRE_THROWS_AS(evaluate_partition(layers, {0, 2}, {}), std::invalid_argument);
  REQUIRE(partition_stages(layers, 3, {}).boundaries == std::vector<int>{0, 1, 2, 3});
}
