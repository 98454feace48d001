// The node agent's protocol, message by message, on the deterministic scheduler: it registers
// with the controller, answers spawn_stage with the stage's loaded (emulated) worker, and stops a
// retired group's workers.

#include "actors/node_agent.hpp"
#include "deterministic.hpp"

using namespace alpaserve;
using dettest::ask;

TEST_CASE("node agent: registers, spawns a loaded stage worker, stops it on retire_group") {
  dettest::fixture fx;
  auto ctl = std::make_shared<dettest::controller_log>();
  auto controller = dettest::spawn_fake_controller(fx, ctl);
  fx.run();
  actors::node_agent_setup setup;
  setup.node = "n1";
  setup.num_devices = 2;
  setup.device_memory_bytes = 16e9;
  setup.device_kind = "emulated-v100";
  setup.controller = controller;
  auto agent = fx.track(actors::spawn_node_agent(fx.sys(), setup));

  // Its first message: register_node, with itself as the agent.
  fx.step();
  const auto& reg = fx.expect_next<net::register_node>(controller);
  CHECK(reg.name == "n1");
  CHECK(reg.num_devices == 2);
  CHECK(reg.agent.address() == agent.address());
  fx.run();
  REQUIRE(ctl->registrations.size() == 1);
  CHECK(dettest::status_of(fx, agent).state == "registered");

  // spawn_stage: answered once the worker loaded its shard.
  net::spawn_stage spec;
  spec.group = 5;
  spec.stage = 0;
  spec.num_stages = 1;
  spec.devices = {1};
  spec.backend = "emulated";
  spec.shards.push_back({"a", 0.010, 1e9, "", 0, "", 0, 0, {}, ""});
  // The registration answer carried the controller's epoch (1): a command of an older one is
  // refused (a controller cut off and back must not undo its successor's work).
  {
    net::spawn_stage old = spec;
    old.epoch = 0;
    auto refused = ask<net::stage_ready>(fx, agent, old);
    fx.run();
    REQUIRE(refused->count() == 1);
    CHECK(refused->errors.size() == 1);
    CHECK(dettest::status_of(fx, agent).counters.size() >= 3);
  }
  spec.epoch = 1;
  auto ready = ask<net::stage_ready>(fx, agent, spec);
  fx.run();
  REQUIRE(ready->count() == 1);
  REQUIRE(ready->values.size() == 1);
  const net::stage_actor worker = ready->values[0].worker;
  REQUIRE(worker);
  CHECK(ready->values[0].failed_models.empty());
  CHECK(dettest::status_of(fx, worker).state == "idle");

  // retire_group of another group leaves it alone; its own group's stops it.
  auto watch = std::make_shared<std::vector<caf::down_msg>>();
  fx.track(fx.sys().spawn([worker, watch](caf::event_based_actor* self) {
    self->monitor(worker);
    self->set_down_handler([watch](caf::down_msg& dm) { watch->push_back(dm); });
    return caf::behavior{[](int) {}};
  }));
  fx.run();
  caf::anon_send(agent, net::retire_group{4, 1});
  fx.run();
  CHECK(watch->empty());
  caf::anon_send(agent, net::retire_group{5, 0});  // its group, but from an older controller
  fx.run();
  CHECK(watch->empty());
  caf::anon_send(agent, net::retire_group{5, 1});
  fx.run();
  REQUIRE(watch->size() == 1);
  CHECK((*watch)[0].source == worker.address());
  CHECK((*watch)[0].reason == caf::exit_reason::user_shutdown);
}
