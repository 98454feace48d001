// The controller's time windows (Clockwork++, docs/runtime.md "Time windows (Clockwork++)") on
// the deterministic scheduler: a two-window schedule serves window 0, an early tick changes
// nothing, and once the window start has passed (real time: the controller reads the monotonic
// clock) the tick realizes window 1 as a new generation through the re-shard path: its stages
// are spawned next to the old ones, a second routing table switches the dispatcher, and the old
// groups are retired.

#include <chrono>
#include <thread>

#include "actors/controller.hpp"
#include "controller_fixtures.hpp"
#include "deterministic.hpp"
#include "planner/profile/reference_profiles.hpp"

using namespace alpaserve;
using dettest::ask;
using dettest::model;
using dettest::node_double;
using dettest::placement_of;

namespace {

double counter(const net::actor_status& s, const std::string& name) {
  for (const auto& c : s.counters)
    if (c.name == name) return c.value;
  return -1;
}

}  // namespace

TEST_CASE("controller: a two-window schedule switches placement at the window start") {
  dettest::fixture fx;
  actors::controller_settings settings;
  settings.expected_nodes = {"n0", "n1"};
  settings.models = {model("test-2GB-100ms", "a"), model("test-4GB-150ms", "b")};
  planner::placement_with_replacement schedule;
  schedule.start_times = {0.0, 0.4};
  schedule.placements = {placement_of({{0}, {1}}), placement_of({{1}, {0}})};  // a, b swap nodes
  settings.windows = schedule;
  settings.fixed_placement = schedule.placements[0];
  settings.solver = [](const std::vector<planner::model_data>&, const planner::cluster_env&) {
    return placement_of({{0}, {1}});  // recovery only; not called here
  };
  settings.backend = "emulated";
  settings.replan_interval_s = 0;
  auto disp = std::make_shared<dettest::dispatcher_log>();
  auto dispatcher = dettest::spawn_fake_dispatcher(fx, disp);
  auto controller =
      fx.track(actors::spawn_controller(fx.sys(), "ctl", std::move(settings), dispatcher));
  auto status = [&] { return dettest::status_of(fx, controller); };
  std::vector<node_double> nodes(2);
  nodes[0].name = "n0";
  nodes[1].name = "n1";
  dettest::spawn_answerer answerer;
  auto answer_spawns = [&] { answerer(fx, nodes); };
  for (auto& n : nodes) {
    n.agent = dettest::spawn_fake_agent(fx, n.log);
    auto accepted = ask<net::register_answer>(
        fx, controller, net::register_node{n.name, "emulated-v100", 1, 16e9, n.agent});
    fx.run();
    REQUIRE(accepted->values.size() == 1);
  }
  REQUIRE(nodes[0].log->spawns.size() == 1);
  CHECK(nodes[0].log->spawns[0].spec.shards.at(0).model == "a");
  answer_spawns();
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(disp->tables.size() == 1);
  CHECK(status().state == "serving [window 0 of 2]");
  CHECK(counter(status(), "windows") == 2);
  CHECK(counter(status(), "window") == 0);

  // A tick before the start (the deterministic clock fires it at once) switches nothing.
  fx.sched().trigger_timeouts();
  fx.run();
  if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(350)) {
    CHECK(status().state == "serving [window 0 of 2]");
    CHECK(nodes[0].log->spawns.size() == 1);
  }

  // Past the start: window 1's placement is realized next to window 0's.
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  fx.sched().trigger_timeouts();
  fx.run();
  CHECK(status().state.find("serving (re-sharding: loading shards) (window 1)") == 0);
  REQUIRE(nodes[0].log->spawns.size() == 2);
  CHECK(nodes[0].log->spawns[1].spec.shards.at(0).model == "b");
  REQUIRE(nodes[1].log->spawns.size() == 2);
  CHECK(nodes[1].log->spawns[1].spec.shards.at(0).model == "a");
  CHECK(disp->tables.size() == 1);  // the old groups serve until the new table is installed
  answer_spawns();
  REQUIRE(disp->tables.size() == 2);
  CHECK(status().state == "serving [window 1 of 2]");
  CHECK(counter(status(), "window") == 1);
  CHECK(counter(status(), "replans") == 1);
  // The old generation drained (the manager doubles answer group_retire) and its stages stopped.
  CHECK(nodes[0].log->retired.size() == 1);
  CHECK(nodes[1].log->retired.size() == 1);

  // The last window lasts: later ticks change nothing.
  fx.sched().trigger_timeouts();
  fx.run();
  CHECK(disp->tables.size() == 2);
  CHECK(nodes[0].log->spawns.size() == 2);
}
