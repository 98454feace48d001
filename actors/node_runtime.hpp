#pragma once
// One alpaserve node process: builds the actor system, spawns the node's actors, publishes its
// node agent on the configured port, registers with the controller, and runs until SIGINT or
// SIGTERM (or until the controller shuts down in order; a lost controller is looked up again,
// for as long as it takes, while the node serves on, and the node registers again). No CAF here:
// tools/ include it cheaply.

#include <string>

#include "actors/runtime_settings.hpp"
#include "net/runtime_settings.hpp"

namespace alpaserve::actors {

struct node_launch {
  std::string name;
  std::string host = "127.0.0.1";  // where this node listens (bind address when loopback)
  int port = 0;
  int num_devices = 0;
  double device_memory_bytes = 0;
  std::string device_kind = "emulated-v100";
  bool is_controller = false;  // a controller candidate: hosts the controller (see controllers)
  bool is_dispatcher = false;  // hosts the dispatcher and the group managers
  bool is_worker = true;       // offers its devices to the controller
  std::string controller_host = "127.0.0.1";
  int controller_port = 0;
  // Every other node of the config (host, port): the node connects to each directly, so that
  // no message between two nodes is relayed through a third (the controller's node, which may
  // be lost).
  std::vector<std::pair<std::string, int>> peers;
  // Every controller candidate (host, port), config order, and this node's place among them
  // (-1: not a candidate). A candidate runs the controller unless another one's already answers.
  std::vector<std::pair<std::string, int>> controllers;
  int candidate_index = -1;
  net::runtime_settings caf;
  controller_settings controller;  // used when is_controller (timeouts: by every node)
  dispatcher_settings dispatcher;  // used when is_dispatcher
  // How long a worker waits for the controller to come up, and looks it up again after losing it.
  double startup_timeout_s = 60;
  // /metrics, /healthz, /readyz over HTTP (docs/metrics.md): 0 = none. The bind address "" binds
  // like the node port: a loopback host's own address, else every interface.
  int metrics_port = 0;
  std::string metrics_bind_address;
  // Where the node port listens: "" = the host when it is a loopback address, else every
  // interface ([caf] bind_address, [[nodes]] bind_address).
  std::string bind_address;
  // The weights files of the config's models (`weights`, `folder`/model.safetensors): what this
  // node may send to a node that cannot read them (docs/real-execution.md "Weights over CAF").
  std::vector<std::string> weights_files;
};

// Runs the node until a signal arrives. Returns the process exit code: 0 after SIGINT/SIGTERM
// or an orderly shutdown of the controller, 1 when the port (or the metrics port) cannot be bound
// or the controller cannot be reached at start within startup_timeout_s, 2 when the controller's
// deployment record cannot be read.
int run_node(const node_launch& launch);

}  // namespace alpaserve::actors
