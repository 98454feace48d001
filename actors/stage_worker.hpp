#pragma once
// The stage worker: one op rank of one pipeline stage, for every backend (emulated, cpu, cuda).
// Its FCFS order is actors/stage_queue.hpp, how it runs a request actors/stage_executor.hpp;
// the actor only moves messages between them. Rank 0 (the leader) is the stage's address: it
// hands every task to its peer ranks too (each rank needs the full input; their all-reduces pair
// up), forwards its own output to the next stage (or the group manager), and the peers drop
// theirs. An emulated stage has one rank.

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "net/messages.hpp"

namespace alpaserve::actors {

class node_metrics;
class epoch_gate;

struct stage_rank_options {
  std::string node;                       // for logs and inspect
  double device_memory_bytes = 0;         // real backends: per-device budget for weights
  std::string host = "127.0.0.1";         // real backends: where this rank listens for Gloo
  std::shared_ptr<node_metrics> metrics;  // its devices' busy time and loaded weights
  // The node's epoch gate: stage_wire from an older controller is ignored. Null: none checked.
  std::shared_ptr<epoch_gate> epochs;
};

// Spawns every op rank of `spec` (one per device; emulated: one) and returns them, the leader
// first. Nothing is loaded yet: each rank loads on stage_load.
[[nodiscard]] std::vector<net::stage_actor> spawn_stage_ranks(caf::actor_system& sys,
                                                              const net::spawn_stage& spec,
                                                              const stage_rank_options& options);

}  // namespace alpaserve::actors
