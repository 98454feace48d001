#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/deployment_record.hpp"
#include "actors/epoch_gate.hpp"
#include "planner/core/input_error.hpp"

using namespace alpaserve;

namespace {

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("alpaserve-record-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

actors::deployment_record sample() {
  actors::deployment_record r;
  r.epoch = 7;
  r.serving = true;
  r.placement.group_configs = {{1, 1, 2}, {1, 2, 1}};
  r.placement.group_models = {{0, 2}, {1}};
  r.nodes = {{"w1", 2, 6e9, "emulated-v100"}, {"w2", 2, 6.5e9, "emulated-v100"}};
  r.first_group = 4;
  r.next_group_id = 6;
  r.planned = {{"a0", 1.5, 1}, {"a1", 0.1, 2}, {"a2", 3, 4}};
  r.replans = 2;
  return r;
}

}  // namespace

TEST_CASE("deployment record: its path sits next to the config") {
  CHECK(actors::deployment_record_path("/etc/alpaserve/prod.toml") ==
        "/etc/alpaserve/prod.deployment.json");
  CHECK(actors::deployment_record_path("cluster.toml") == "cluster.deployment.json");
  CHECK(actors::deployment_record_path("dir.d/cluster") == "dir.d/cluster.deployment.json");
}

TEST_CASE("deployment record: written atomically and read back as it was") {
  const std::string path = temp_dir() + "/c.deployment.json";
  std::remove(path.c_str());
  CHECK_FALSE(actors::read_deployment_record(path).has_value());  // none yet: a fresh start
  const auto r = sample();
  actors::write_deployment_record(path, r);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));  // renamed into place
  const auto back = actors::read_deployment_record(path);
  REQUIRE(back.has_value());
  CHECK(back->epoch == 7);
  CHECK(back->serving);
  CHECK(back->placement == r.placement);
  REQUIRE(back->nodes.size() == 2);
  CHECK(back->nodes[1].name == "w2");
  CHECK(back->nodes[1].memory_bytes == 6.5e9);
  CHECK(back->first_group == 4);
  CHECK(back->next_group_id == 6);
  REQUIRE(back->planned.size() == 3);
  CHECK(back->planned[2].model == "a2");
  CHECK(back->planned[2].cv == 4);
  CHECK(back->replans == 2);
  // Replacing it keeps one whole record.
  auto next = r;
  next.epoch = 8;
  next.serving = false;
  actors::write_deployment_record(path, next);
  CHECK(actors::read_deployment_record(path)->epoch == 8);
  CHECK_FALSE(actors::read_deployment_record(path)->serving);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_CASE("deployment record: keeps where each group runs after a re-shard kept groups") {
  auto r = sample();
  // Group 9 kept running on w2:0-1 from an older generation; group 12 new, across w1 and w2.
  actors::group_layout kept, fresh;
  kept.group = 12;
  kept.config = r.placement.group_configs[0];
  kept.models = r.placement.group_models[0];
  kept.stages = {{0, {1}}, {1, {0}}};
  fresh.group = 9;
  fresh.config = r.placement.group_configs[1];
  fresh.models = r.placement.group_models[1];
  fresh.stages = {{1, {1, 0}}};
  r.layout = {kept, fresh};
  const auto back = actors::parse_deployment_record(actors::deployment_record_json(r), "t");
  REQUIRE(back.layout.size() == 2);
  CHECK(back.layout[0].group == 12);
  CHECK(back.layout[0].stages[1].node == 1);
  CHECK(back.layout[0].stages[1].local_devices == std::vector<int>{0});
  CHECK(back.layout[1].group == 9);
  CHECK(back.layout[1].stages[0].local_devices == std::vector<int>{1, 0});
  CHECK(back.layout[1].config == r.placement.group_configs[1]);
  // An older record without stages: no layout (the controller lays the placement out again).
  CHECK(actors::parse_deployment_record(actors::deployment_record_json(sample()), "t")
            .layout.empty());
  // Stages for some groups only is an error naming the key.
  auto j = nlohmann::json::parse(actors::deployment_record_json(r));
  j["groups"][0].erase("stages");
  const std::string text = j.dump();
  try {
    (void)actors::parse_deployment_record(text, "rec.json");
    FAIL("a record with stages for one group of two was accepted");
  } catch (const planner::input_error& e) {
    CHECK(std::string(e.what()).find("every group or none has its stages") != std::string::npos);
  }
}

TEST_CASE("deployment record: a damaged file is an error naming the file and the key") {
  const std::string path = temp_dir() + "/bad.deployment.json";
  std::ofstream(path) << "{\"format\": \"alpaserve-deployment-record/1\", \"epoch\": \"x\"}";
  try {
    (void)actors::read_deployment_record(path);
    FAIL("no error");
  } catch (const planner::input_error& e) {
    CHECK(e.file() == path);
    CHECK(e.where() == "key epoch");
  }
  std::ofstream(path) << "{ not json";
  CHECK_THROWS_AS(actors::read_deployment_record(path), planner::input_error);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_CASE("epoch gate: obeys the newest controller heard, refuses older ones") {
  actors::epoch_gate gate;
  CHECK(gate.admit(0));  // nothing heard yet: a sender without an epoch is obeyed
  CHECK(gate.admit(1));
  CHECK(gate.newest() == 1);
  CHECK_FALSE(gate.admit(0));
  CHECK(gate.admit(3));        // a restarted controller
  CHECK_FALSE(gate.admit(2));  // the one before it, back from a partition
  CHECK(gate.admit(3));
  CHECK(gate.newest() == 3);
}
