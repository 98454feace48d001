// The pieces the reference's searches are built from: numpy's argsort order, the group partition
// enumeration, device-split compositions and latency bucketing.

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "planner/core/numpy_argsort.hpp"
#include "planner/policy/group_config_enumeration.hpp"
#include "planner/policy/model_bucketing.hpp"
#include "policy_test_models.hpp"

using namespace alpaserve::planner;

TEST_CASE("numpy argsort: small arrays keep ties in index order (insertion sort)") {
  const std::vector<double> v = {3, 1, 2, 1, 3, 1};
  REQUIRE(numpy_argsort(v) == std::vector<int>{1, 3, 5, 2, 0, 4});
  // [::-1]: among equal values the highest index comes first.
  REQUIRE(numpy_argsort_descending(v) == std::vector<int>{4, 0, 2, 5, 3, 1});
}

TEST_CASE("numpy argsort: 18 equal values follow the median-of-three partition, not stability") {
  // Hand trace of numpy's introsort: one partition around index 8 swaps the pairs (1,15) ...
  // (7,9), then both halves are insertion sorted without moving equal keys.
  const std::vector<double> v(18, 0.5);
  REQUIRE(numpy_argsort(v) ==
          std::vector<int>{0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 16, 17});
  const std::vector<int64_t> ints(18, 7);
  REQUIRE(numpy_argsort(ints) == numpy_argsort(v));
}

TEST_CASE("numpy argsort sorts large random arrays with many ties (a permutation, ascending)") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int64_t> v(1 + rng() % 3000);
    for (auto& x : v) x = static_cast<int64_t>(rng() % 7);
    const auto order = numpy_argsort(v);
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) REQUIRE(sorted[i] == static_cast<int>(i));
    for (size_t i = 1; i < order.size(); ++i) REQUIRE(v[order[i - 1]] <= v[order[i]]);
  }
}

TEST_CASE("group enumeration for 32 devices gives exactly the reference's 12 candidates") {
  const auto cands = enumerate_group_configs_uneven(cluster_env{32, 13 * gib});
  // (op, pp) per candidate, all groups the same size (32 is a power of two: no remainder).
  const std::vector<std::pair<int, int>> expected = {{1, 1}, {2, 1}, {1, 2}, {4, 1},
                                                     {2, 2}, {1, 4}, {4, 2}, {2, 4},
                                                     {1, 8}, {4, 4}, {2, 8}, {4, 8}};
  REQUIRE(cands.size() == expected.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    const auto [op, pp] = expected[i];
    REQUIRE(cands[i].size() == static_cast<size_t>(32 / (op * pp)));
    for (const auto& c : cands[i]) REQUIRE(c == parallel_config{1, op, pp});
  }
}

TEST_CASE("group enumeration appends power-of-two pipeline remainder groups") {
  REQUIRE(binary_decomposition(6) == std::vector<int>{2, 4});
  REQUIRE(binary_decomposition(0).empty());
  const auto cands = enumerate_group_configs_uneven(cluster_env{14, 13 * gib});
  // S = 8: one group of 8 devices + remainder 6 = (1,1,2) + (1,1,4), for (4,2), (2,4), (1,8).
  const std::vector<parallel_config> s8 = {{1, 4, 2}, {1, 1, 2}, {1, 1, 4}};
  REQUIRE(std::find(cands.begin(), cands.end(), s8) != cands.end());
  for (const auto& c : cands) {
    int devices = 0;
    for (const auto& g : c) devices += g.num_devices();
    REQUIRE(devices == 14);  // every candidate uses every device
  }
}

TEST_CASE("get_partitions: ordered compositions whose last part passes is_valid_size") {
  // n = 10: the last part i must satisfy i <= 10 mod 8 = 2 (or 10 - i multiple of 8: i = 2).
  REQUIRE(get_partitions(10, 2) == std::vector<std::vector<int>>{{9, 1}, {8, 2}});
  REQUIRE(is_valid_size(10, 2));
  REQUIRE_FALSE(is_valid_size(10, 3));
  REQUIRE(is_valid_size(16, 3));  // n a multiple of 8: any size
  REQUIRE(get_partitions(48, 2).size() == 47);
  REQUIRE(get_partitions(5, 1) == std::vector<std::vector<int>>{{5}});
  for (const auto& p : get_partitions(20, 3)) REQUIRE(std::accumulate(p.begin(), p.end(), 0) == 20);
}

TEST_CASE("bucketing joins the first bucket whose first member is within 38% latency") {
  std::vector<model_data> models;
  const double lat[] = {0.100, 0.137, 0.139, 0.190, 0.064};
  for (int i = 0; i < 5; ++i)
    models.push_back({"b" + std::to_string(i), 1.0, 1.0, 1.0,
                      test::simple_profile("b" + std::to_string(i), lat[i], gib)});
  // 0.137 is 37% above 0.1 (joins); 0.139 is 39% above (new bucket led by 0.139);
  // 0.190 is 36.7% above 0.139; 0.064 is 36% below 0.1.
  REQUIRE(bucket_models_by_latency(models) == std::vector<std::vector<int>>{{0, 1, 4}, {2, 3}});
}

TEST_CASE("separations keep device splits close to each bucket's share of the load") {
  std::vector<model_data> models;
  models.push_back({"fast", 1, 3.0, 1, test::simple_profile("fast", 0.1, gib)});
  models.push_back({"slow", 1, 1.0, 1, test::simple_profile("slow", 0.4, gib)});
  const auto set = enumerate_separations(models, cluster_env{16, 13 * gib});
  REQUIRE(set.buckets.size() == 2);
  // Fewer than 100 compositions exist, so the loosest threshold (1.0) keeps all 15.
  REQUIRE(set.separations.size() == 15);
  bucketing_options strict;
  strict.ratio_thresholds = {0.1};
  strict.enough_partitions = 0;  // never stop early: the 0.1 filter is applied
  const auto tight = enumerate_separations(models, cluster_env{16, 13 * gib}, strict);
  // Load shares 0.75 / 0.25; throughput share of (a, 16-a) = (a/0.1) / (a/0.1 + (16-a)/0.4).
  for (const auto& s : tight.separations) {
    const double fast = s.parts[0] / 0.1, slow = s.parts[1] / 0.4;
    REQUIRE(std::abs(fast / (fast + slow) - 0.75) < 0.1);
  }
  REQUIRE(!tight.separations.empty());
  REQUIRE(tight.separations.size() < 15);
}
