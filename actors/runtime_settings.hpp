#pragma once
// What the node process hands its actors: the controller's and the dispatcher's settings and the
// runtime's timeouts, all from the cluster config (docs/config.md `[runtime]`, `[dispatcher]`,
// `[planner]`); nothing here is a literal the actors pick themselves. No CAF here.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/deployment.hpp"
#include "actors/deployment_record.hpp"
#include "actors/dispatch_core.hpp"
#include "planner/policy/placement.hpp"
#include "planner/policy/replan_rule.hpp"

namespace alpaserve::actors {

class node_metrics;  // actors/node_metrics.hpp: the process's metrics; null = none
class epoch_gate;    // actors/epoch_gate.hpp

// The runtime's timeouts (config `[runtime]`).
struct runtime_timeouts {
  // Accepted requests not answered by then fail with failed_timeout (the group managers'
  // safety net; a stage that never answers cannot hold a request forever).
  double request_timeout_s = 30;
  // How long a retiring group may take to answer its in-flight requests before it is stopped
  // (their replies then are failed_timeout from the sweep); at least request_timeout_s.
  double drain_timeout_s = 35;
  // How long a node agent may take to start a stage (spawn + load its shards: real weights from
  // disk can take minutes).
  double stage_start_timeout_s = 300;
  // How long the controller waits for the dispatcher to take a routing table or a stage to take
  // its wiring.
  double control_timeout_s = 10;
};

// Where a real (cpu / cuda) model's computation comes from: a model-zoo architecture, and its
// weights from a safetensors file (on the workers' filesystem) or from a seed.
// Or a model folder (docs/models.md): `definition` is its model.json as
// kernels::model_definition_json writes it, weights_path its model.safetensors.
struct real_model_source {
  std::string architecture;
  uint64_t seed = 0;
  std::string weights_path;
  std::string definition;  // non-empty: a model folder's model, `architecture` is ignored
};

// A policy's whole result for a cluster: one window, or a Clockwork++ schedule of several.
using schedule_solver = std::function<planner::placement_with_replacement(
    const std::vector<planner::model_data>&, const planner::cluster_env&)>;

struct controller_settings {
  std::vector<std::string> expected_nodes;  // worker nodes, config order: wait for all of them
  std::vector<planner::model_data> models;  // every configured model with its profile and SLO
  placement_solver solver;                  // used when `fixed_placement` is empty
  std::optional<planner::placement> fixed_placement;
  // Time windows (Clockwork++, docs/runtime.md "Time windows (Clockwork++)"): a time-segmented
  // placement file's schedule (`fixed_placement` is then its first window), or, without a file,
  // `first_solver`: the policy's whole result for the first placement (`solver` stays what
  // recovery uses). A schedule of two or more windows switches placement at each window start,
  // measured from when the first generation started serving; drift re-planning is off then.
  std::optional<planner::placement_with_replacement> windows;
  schedule_solver first_solver;
  std::string policy_name = "builtin";  // for logs / inspect
  std::string backend = "emulated";     // device backend the stage workers use
  // backend cpu / cuda: what each model computes, by model name (every placed model needs one).
  std::map<std::string, real_model_source> real_models;
  // Re-planning on traffic drift (docs/runtime.md "Re-planning"): every replan_interval_s the
  // observed traffic is compared with the plan; 0 = plan once. On every backend (real ones
  // re-shard their weights, docs/runtime.md "Re-sharding real models"); with a fixed placement
  // only when replan_with_placement_file is set.
  double replan_interval_s = 0;
  bool replan_with_placement_file = false;
  planner::replan_thresholds replan;
  runtime_timeouts timeouts;
  // Batching (docs/runtime.md "Batching"): the largest batch a group forms for any model (1 = no
  // batching) and, by model name, a smaller cap (0 or absent: the largest profiled size).
  int max_batch_size = 1;
  std::map<std::string, int> model_max_batch_size;
  planner::dispatch_overheads overheads;  // the dispatcher's: the batch rule's hop and reply costs
  std::shared_ptr<node_metrics> metrics;  // placement generations, re-plans (and group managers)
  // The deployment record (actors/deployment_record.hpp): where it is kept (empty: not kept, so
  // a restarted controller starts the cluster afresh) and what it held when this controller
  // started (read by the node process, which reports a bad file before anything starts).
  std::string record_path;
  std::optional<deployment_record> record;
};

struct dispatcher_settings {
  dispatch_settings core;  // admission: overheads (dispatcher.overhead_s), queue bound, payload
  std::shared_ptr<node_metrics> metrics;  // requests it does not admit; its readiness
  // The node's epoch gate (actors/epoch_gate.hpp), shared with the group managers it starts;
  // null = a private one.
  std::shared_ptr<epoch_gate> epochs;
};

}  // namespace alpaserve::actors
