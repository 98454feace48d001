#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "planner/policy/placement.hpp"

using namespace alpaserve::planner;

namespace {
model_profile two_gb_profile(const std::string& name) {
  model_profile p;
  p.name = name;
  p.configs[{1, 1, 1}].add_result(1, {0.1}, {2 * gib});
  p.configs[{1, 1, 2}].add_result(1, {0.051, 0.051}, {1 * gib, 1 * gib});
  return p;
}
}  // namespace

TEST_CASE("normalize sorts ids in groups and orders groups by their id tuples, configs along") {
  placement p;
  p.group_configs = {{1, 1, 2}, {1, 1, 1}, {1, 2, 1}};
  p.group_models = {{3, 1}, {0, 2}, {0, 2}};
  p.normalize();
  REQUIRE(p.group_models == std::vector<std::vector<int>>{{0, 2}, {0, 2}, {1, 3}});
  // Equal tuples keep their relative order (stable), and configs move with their groups.
  REQUIRE(p.group_configs[0] == parallel_config{1, 1, 1});
  REQUIRE(p.group_configs[1] == parallel_config{1, 2, 1});
  REQUIRE(p.group_configs[2] == parallel_config{1, 1, 2});
}

TEST_CASE("placement_problems reports memory overflow, duplicates, unknown ids and device count") {
  std::vector<model_data> models = {{"a", 1, 1, 1, two_gb_profile("a")},
                                    {"b", 1, 1, 1, two_gb_profile("b")}};
  cluster_env cluster{2, 3 * gib};
  placement ok;
  ok.group_configs = {{1, 1, 2}};
  ok.group_models = {{0, 1}};
  REQUIRE(placement_problems(ok, models, cluster).empty());

  placement over = ok;
  over.group_configs = {{1, 1, 1}};  // 2 GiB + 2 GiB on one device > 3 GiB
  auto problems = placement_problems(over, models, cluster);
  REQUIRE(problems.size() == 1);
  REQUIRE(problems[0].find("budget") != std::string::npos);

  placement bad;
  bad.group_configs = {{1, 1, 1}, {1, 1, 2}};
  bad.group_models = {{0, 0}, {7}};
  problems = placement_problems(bad, models, cluster);
  // too many devices, duplicate model, 4 GiB on a 3 GiB device, unknown id
  REQUIRE(problems.size() == 4);
}

TEST_CASE("add_result replaces a batch size only when the new max stage latency is smaller") {
  config_profile c;
  c.add_result(1, {0.5, 0.5}, {1, 1});
  c.add_result(1, {0.6, 0.1}, {2, 2});
  REQUIRE(c.stage_latency(1) == std::vector<double>{0.5, 0.5});
  REQUIRE(c.max_stage_weight() == 1);
  c.add_result(1, {0.4, 0.3}, {3, 3});
  REQUIRE(c.stage_latency(1) == std::vector<double>{0.4, 0.3});
  REQUIRE(c.max_stage_weight() == 3);
}

TEST_CASE(
    "normalize after one added replica equals a full sort (fast path when already in order)") {
  // The plain rule spelled out: sort each group, then stable-sort groups by their id lists.
  auto plain = [](placement p) {
    for (auto& g : p.group_models) std::sort(g.begin(), g.end());
    std::vector<size_t> order(p.num_groups());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return p.group_models[a] < p.group_models[b]; });
    placement out;
    for (size_t i : order) {
      out.group_configs.push_back(p.group_configs[i]);
      out.group_models.push_back(p.group_models[i]);
    }
    return out;
  };
  std::mt19937 rng(41);
  const parallel_config kinds[] = {{1, 1, 1}, {1, 1, 2}, {1, 2, 1}};
  for (int trial = 0; trial < 200; ++trial) {
    placement p;
    const int groups = 1 + static_cast<int>(rng() % 6);
    for (int g = 0; g < groups; ++g) {
      p.group_configs.push_back(kinds[rng() % 3]);  // equal model lists keep their config order
      std::vector<int> ms;
      for (int m = 0; m < 5; ++m)
        if (rng() % 3 == 0) ms.push_back(static_cast<int>(rng() % 5));
      p.group_models.push_back(ms);
    }
    placement q = p;
    q.normalize();
    REQUIRE(q == plain(p));
    for (int step = 0; step < 4; ++step) {
      const placement next =
          q.add_model(static_cast<int>(rng() % q.num_groups()), static_cast<int>(rng() % 5));
      q = next;
      q.normalize();
      REQUIRE(q == plain(next));
    }
  }
}
