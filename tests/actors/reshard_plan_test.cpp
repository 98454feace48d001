// Making room for a re-shard of real weights, and the node's per-device ledger
// (actors/reshard_plan.hpp, actors/device_ledger.hpp).

#include <catch2/catch.hpp>

#include "actors/device_ledger.hpp"
#include "actors/deployment.hpp"
#include "actors/reshard_plan.hpp"

using namespace alpaserve::actors;

namespace {

constexpr double gib = 1024.0 * 1024.0 * 1024.0;

// One group per entry: (node, devices, GiB per device).
struct group_spec {
  std::string node;
  std::vector<int> devices;
  double gib_per_device;
};

deployment_plan plan_of(const std::vector<group_spec>& groups) {
  deployment_plan p;
  int id = 0;
  for (const auto& g : groups) {
    planned_group pg;
    pg.group = id++;
    planned_stage s;
    s.node_name = g.node;
    s.devices = g.devices;
    planned_shard a, b;  // two models share the bytes: the sum is what counts
    a.weight_bytes = b.weight_bytes = g.gib_per_device * gib / 2;
    s.shards = {a, b};
    pg.stages.push_back(s);
    p.groups.push_back(pg);
  }
  return p;
}

}  // namespace

TEST_CASE("make_room: side by side when every device holds both generations") {
  const auto running = plan_of({{"n0", {0}, 0.4}, {"n1", {0, 1}, 0.3}});
  const auto next = plan_of({{"n0", {0}, 0.5}, {"n1", {1}, 0.6}});
  const auto room = make_room(running, next, {{"n0", 1 * gib}, {"n1", 1 * gib}});
  CHECK(room.withdraw.empty());
  CHECK(room.overfull.empty());
}

TEST_CASE("make_room: withdraws only the running groups in the way") {
  // n0:0 holds group 0 (0.6) and group 1 (0.3); the new group needs 0.5 there: withdrawing
  // group 0 (the largest) is enough. Group 2 on n1 is untouched.
  const auto running = plan_of({{"n0", {0}, 0.6}, {"n0", {0}, 0.3}, {"n1", {0}, 0.9}});
  const auto next = plan_of({{"n0", {0}, 0.5}, {"n1", {1}, 0.9}});
  const auto room = make_room(running, next, {{"n0", 1 * gib}, {"n1", 1 * gib}});
  REQUIRE(room.withdraw == std::vector<size_t>{0});
  REQUIRE(room.overfull.size() == 1);
  CHECK(room.overfull[0].rfind("n0:0 holds 0.900 GiB", 0) == 0);
}

TEST_CASE("make_room: a tensor-parallel group is withdrawn from every device it spans") {
  // Group 0 spans n0:0-1; the new plan needs n0:1 whole. Group 1 on n0:2 stays.
  const auto running = plan_of({{"n0", {0, 1}, 0.5}, {"n0", {2}, 0.5}});
  const auto next = plan_of({{"n0", {1}, 1.0}});
  const auto room = make_room(running, next, {{"n0", 1 * gib}});
  CHECK(room.withdraw == std::vector<size_t>{0});
}

TEST_CASE("make_room: unlimited memory (0 or unknown node) never withdraws") {
  const auto running = plan_of({{"n0", {0}, 5}});
  const auto next = plan_of({{"n0", {0}, 5}});
  CHECK(make_room(running, next, {{"n0", 0}}).withdraw.empty());
  CHECK(make_room(running, next, {}).withdraw.empty());
}

TEST_CASE("device_ledger: refuses a stage over a device's memory, names what it holds") {
  device_ledger ledger(1 * gib);
  CHECK_FALSE(ledger.reserve(3, {0, 1}, 0.6 * gib));
  CHECK_FALSE(ledger.reserve(4, {1}, 0.4 * gib));  // exactly full
  const auto why = ledger.reserve(5, {0, 1}, 0.1 * gib);
  REQUIRE(why);
  CHECK(why->find("device 1 holds 1.000 GiB (group 3, group 4)") != std::string::npos);
  CHECK(why->find("group 5 needs 0.100 GiB more") != std::string::npos);
  CHECK(ledger.used(0) == 0.6 * gib);  // nothing reserved by the refused stage
  ledger.release(3);
  CHECK(ledger.used(1) == 0.4 * gib);
  CHECK_FALSE(ledger.reserve(5, {0, 1}, 0.5 * gib));
  device_ledger unlimited(0);
  CHECK_FALSE(unlimited.reserve(1, {0}, 1e15));
}

TEST_CASE("sticky_layout: groups the new placement repeats stay where they run") {
  using alpaserve::planner::parallel_config;
  using alpaserve::planner::placement;
  const std::vector<node_devices> nodes = {{"n0", 1, 1, "cpu"}, {"n1", 1, 1, "cpu"},
                                           {"n2", 1, 1, "cpu"}};
  placement old_p;
  old_p.group_configs = {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
  old_p.group_models = {{0}, {1}, {2}};  // a on n0, b on n1, c on n2
  auto running = layout_groups(old_p, nodes);
  for (auto& g : running) g.group += 10;
  placement next;  // b, c, d: b and c keep n1 and n2, d takes n0 (freed by a)
  next.group_configs = {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
  next.group_models = {{1}, {2}, {3}};
  auto r = sticky_layout(next, nodes, running, nodes, {true, true, true});
  CHECK(r.kept == std::vector<int>{1, 2, -1});
  CHECK(r.layout[0].group == 11);
  CHECK(r.layout[0].stages[0].node == 1);
  CHECK(r.layout[2].group == 2);  // a new group: its placement index, offset by the caller
  CHECK(r.layout[2].stages[0].node == 0);
  // An unusable group (failed, drained) is not kept: everything is laid out afresh.
  r = sticky_layout(next, nodes, running, nodes, {true, false, true});
  CHECK(r.kept == std::vector<int>{-1, 2, -1});
  CHECK(r.layout[1].stages[0].node == 2);
  // Another config for the same models is a new group.
  next.group_configs[0] = {1, 1, 2};
  next.group_models = {{1}, {2}};
  next.group_configs.resize(2);
  r = sticky_layout(next, nodes, running, nodes, {true, true, true});
  CHECK(r.kept[0] == -1);
  CHECK(r.kept[1] == 2);
}
