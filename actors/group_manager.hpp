#pragma once
// The group manager: the one owner of the reply of every request its group serves. The
// dispatcher delegates a request to it (group_request); it queues it (actors/batch_queue.hpp)
// and, when stage 0 is free, sends the next batch down its pipeline as one task (stage 0 -> ...
// -> last stage -> back to the manager; inputs concatenated, outputs split per request:
// actors/batch_tensor.hpp) and answers each client exactly once:
// with the result, or with an explicit failure when a stage's node is lost (failed_node_lost),
// the request outlives the request timeout (failed_timeout), or a stage could not run its input
// (rejected_bad_input). It reports each finished request's measured stage times to the
// dispatcher, which corrects its admission mirror with them.

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/batch_queue.hpp"
#include "net/messages.hpp"
#include "planner/sim/dispatch_rule.hpp"

namespace alpaserve::actors {

class node_metrics;
class epoch_gate;

struct group_manager_setup {
  std::string node;  // for logs and inspect
  int group = 0;
  std::string description;               // "(1,1,2) on n0:0 | n1:0"
  std::vector<net::stage_actor> stages;  // leaders, in pipeline order
  net::dispatcher_feedback_actor dispatcher;
  double request_timeout_s = 30;
  // Batching (docs/runtime.md "Batching"): the group's models with their max batch size and
  // profiled latencies per batch size; empty (or every max batch 1) = no batching, each request
  // goes to stage 0 at once. `overheads`: the dispatcher's (hop and reply costs of the rule).
  std::vector<batch_model> batching;
  planner::dispatch_overheads overheads;
  // Counts every request delegated to it, once, when it answers (actors/node_metrics.hpp).
  std::shared_ptr<node_metrics> metrics;
  // The process's epoch gate (actors/epoch_gate.hpp): group_retire from an older controller is
  // ignored. Null: none checked.
  std::shared_ptr<epoch_gate> epochs;
};

[[nodiscard]] net::group_manager_actor spawn_group_manager(caf::actor_system& sys,
                                                           group_manager_setup setup);

}  // namespace alpaserve::actors
