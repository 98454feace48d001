#include <catch2/catch.hpp>

#include "planner/placement.hpp"

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
