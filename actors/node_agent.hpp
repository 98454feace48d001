#pragma once
// The node agent: one per node process. It registers the node's devices with the controller,
// starts the stage workers the controller asks for (spawn_stage), stops a retired group's, and
// answers `inspect` for every actor of its node. When the controller shuts down in order the node
// stops. When it is lost (its process killed, frozen or cut off past the heartbeat bound, or this
// node was), the agent keeps its stage workers serving and asks its process to look the
// controller up again (on_controller_lost); once found (rejoin_controller) it registers again,
// reporting the stages it runs, and keeps those the controller adopts (register_answer): a
// restarted controller adopts the running placement, one that re-placed this node's groups
// meanwhile has it stop them (docs/runtime.md "Controller loss"). Commands from a controller
// older than the newest one heard are ignored (actors/epoch_gate.hpp).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "net/protocols.hpp"

namespace alpaserve::actors {

class node_metrics;
class epoch_gate;

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
  // The process's epoch gate, shared with its stage workers (and dispatcher); null: a private one.
  std::shared_ptr<epoch_gate> epochs;
  net::dispatcher_actor dispatcher;  // reported at registration when this node hosts it
  bool worker = true;                // offers its devices (false: a dispatcher-only node)
  // Weights files this node may send to other nodes' loading ranks (weights_fetch): the
  // config's model weights files; the shards' files of each spawn_stage are added.
  std::vector<std::string> weights_files;
};

[[nodiscard]] net::node_agent_actor spawn_node_agent(caf::actor_system& sys,
                                                     node_agent_setup setup);

}  // namespace alpaserve::actors
