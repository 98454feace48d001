#pragma once
// The runtime's actors (CAF). Each is thin: it keeps state and exchanges the messages of
// net/messages.hpp; decisions are calls into dispatch_core, deployment and the planner.
// docs/runtime.md shows who talks to whom.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/deployment.hpp"
#include "actors/dispatch_core.hpp"
#include "planner/placement.hpp"
#include "planner/replan_rule.hpp"

namespace alpaserve::actors {

// Seconds on this process's monotonic clock (CLOCK_MONOTONIC). Never sent to another process.
[[nodiscard]] double monotonic_seconds() noexcept;

// Where a real (cpu / cuda) model's computation comes from: a model-zoo architecture, and its
// weights from a safetensors file (on the workers' filesystem) or from a seed.
struct real_model_source {
  std::string architecture;
  uint64_t seed = 0;
  std::string weights_path;
};

struct controller_settings {
  std::vector<std::string> expected_nodes;  // worker nodes, config order: wait for all of them
  std::vector<planner::model_data> models;  // every configured model with its profile and SLO
  placement_solver solver;                  // used when `fixed_placement` is empty
  std::optional<planner::placement> fixed_placement;
  std::string policy_name = "builtin";  // for logs / inspect
  std::string backend = "emulated";     // device backend the stage workers use
  // backend cpu / cuda: what each model computes, by model name (every placed model needs one).
  std::map<std::string, real_model_source> real_models;
  double spawn_timeout_s = 60;
  // Re-planning on traffic drift (docs/runtime.md "Re-planning"): every replan_interval_s the
  // observed traffic is compared with the plan; 0 = plan once. Only for policy-placed clusters
  // on emulated devices (ignored with a fixed placement or a real backend).
  double replan_interval_s = 0;
  planner::replan_thresholds replan;
  double request_timeout_s = 30;  // group managers' safety net; bounds a retiring group's drain
};

struct dispatcher_settings {
  dispatch_settings core;
  double request_timeout_s = 30;  // accepted requests not finished by then fail (safety net)
};

// Spawned by the node process (stage workers and group managers are spawned by the node agent
// and the controller on request); `node` names the process in logs and inspect.
caf::actor spawn_dispatcher(caf::actor_system& sys, const std::string& node,
                            dispatcher_settings settings);
caf::actor spawn_controller(caf::actor_system& sys, const std::string& node,
                            controller_settings settings, caf::actor dispatcher);
// `controller` may be a remote actor; the agent registers its devices there. `host` is the
// node's address (the Gloo ranks of its tensor-parallel stages listen there).
caf::actor spawn_node_agent(caf::actor_system& sys, const std::string& node, int num_devices,
                            double device_memory_bytes, std::string device_kind,
                            caf::actor controller, std::vector<caf::actor> local_actors,
                            std::string host = "127.0.0.1");

}  // namespace alpaserve::actors
