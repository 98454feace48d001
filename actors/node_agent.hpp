#pragma once
// The node agent: one per node process. It registers the node's devices with the controller,
// starts the stage workers the controller asks for (spawn_stage), stops a retired group's, and
// answers `inspect` for every actor of its node. When the controller goes away the node stops
// (an orderly controller shutdown is logged as info, a lost controller as an error).

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
  // Its readiness (registered, no stage loading) and its stage workers' device metrics.
  std::shared_ptr<node_metrics> metrics;
};

[[nodiscard]] net::node_agent_actor spawn_node_agent(caf::actor_system& sys,
                                                     node_agent_setup setup);

}  // namespace alpaserve::actors
