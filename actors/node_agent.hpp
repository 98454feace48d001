#pragma once
// The node agent: one per node process. It registers the node's devices with the controller,
// starts the stage workers the controller asks for (spawn_stage), stops a retired group's, and
// answers `inspect` for every actor of its node. When the controller shuts down in order the node
// stops. When it is lost (its node killed, frozen or cut off past the heartbeat bound, or this
// node was), the agent stops its stage workers (their placement is gone) and asks its process to
// look the controller up again (on_controller_lost); once found (rejoin_controller) it registers
// again and the controller places onto it like a restarted node.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "net/protocols.hpp"

namespace alpaserve::actors {

class node_metrics;

struct node_agent_setup {
  std::string node;
  int num_devices = 0;
  double device_memory_bytes = 0;
  std::string device_kind;
  std::string host = "127.0.0.1";    // the Gloo ranks of its tensor-parallel stages listen here
  net::controller_actor controller;  // may be remote; null: a standalone node
  std::vector<net::status_actor> local_actors;  // listed by inspect (controller, dispatcher)
  double stage_start_timeout_s = 300;           // a rank's stage_load
  double control_timeout_s = 10;                // the controller's answer to register_node
  // Its readiness (registered, no stage loading) and its stage workers' device metrics.
  std::shared_ptr<node_metrics> metrics;
  // Called (on the agent's thread) when the controller is lost, not shut down in order; empty:
  // the agent stops instead.
  std::function<void()> on_controller_lost;
};

[[nodiscard]] net::node_agent_actor spawn_node_agent(caf::actor_system& sys,
                                                     node_agent_setup setup);

}  // namespace alpaserve::actors
