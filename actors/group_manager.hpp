#pragma once
// The group manager: the one owner of the reply of every request its group serves. The
// dispatcher delegates a request to it (group_request); it sends the request down its pipeline
// (stage 0 -> ... -> last stage -> back to the manager) and answers the client exactly once:
// with the result, or with an explicit failure when a stage's node is lost (failed_node_lost),
// the request outlives the request timeout (failed_timeout), or a stage could not run its input
// (rejected_bad_input). It reports each finished request's measured stage times to the
// dispatcher, which corrects its admission mirror with them.

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "net/messages.hpp"

namespace alpaserve::actors {

class node_metrics;

struct group_manager_setup {
  std::string node;  // for logs and inspect
  int group = 0;
  std::string description;               // "(1,1,2) on n0:0 | n1:0"
  std::vector<net::stage_actor> stages;  // leaders, in pipeline order
  net::dispatcher_feedback_actor dispatcher;
  double request_timeout_s = 30;
  // Counts every request delegated to it, once, when it answers (actors/node_metrics.hpp).
  std::shared_ptr<node_metrics> metrics;
};

[[nodiscard]] net::group_manager_actor spawn_group_manager(caf::actor_system& sys,
                                                           group_manager_setup setup);

}  // namespace alpaserve::actors
