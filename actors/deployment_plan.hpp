#pragma once
// What the controller sends to realize a placement, computed as plain data before any message
// goes out: every stage worker to spawn (node, local devices, shards, how activations cross its
// pipeline boundaries), the wiring of each pipeline, and which node agents stop a previous
// generation's workers. No CAF: the controller actor turns the plan into spawn_stage /
// stage_wire / retire_group messages. docs/runtime.md "Deployment plan".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/deployment.hpp"
#include "planner/policy/placement.hpp"

namespace alpaserve::actors {

// Where a real (cpu / cuda) model's computation comes from: a model-zoo architecture, and its
// weights from a safetensors file (on the workers' filesystem) or from a seed. The CAF-free
// twin of controller_settings' real_model_source.
struct model_source {
  std::string architecture;
  uint64_t seed = 0;
  std::string weights_path;  // empty = seeded weights
  std::string definition;    // a model folder's definition (JSON); non-empty: used instead
};

// The device backend the stage workers use, and what real backends need to run models.
struct deployment_backend {
  std::string name = "emulated";                    // anything else is a real backend (cpu, cuda)
  std::map<std::string, model_source> real_models;  // by model name
  bool have_nccl = false;                           // nccl_built() in the runtime
};

struct planned_shard {
  std::string model;
  double latency_s = 0;  // the stage's batch-1 latency from the profile
  // The stage's latency per supported batch size (1, 2, 4, 8, 16) from the profile; 0 = absent.
  std::vector<double> batch_latency_s;
  double weight_bytes = 0;  // the stage's weight bytes per device from the profile
  // Real backends only (empty / 0 on emulated devices).
  std::string architecture;
  uint64_t seed = 0;
  std::string weights_path;
  int layer_begin = 0;  // layers [layer_begin, layer_end) of the architecture
  int layer_end = 0;
  std::string definition;  // model folder: the definition the workers compute
};

struct planned_stage {
  int node = 0;  // index into the plan's node list
  std::string node_name;
  std::vector<int> devices;  // local device ordinals, one per op rank
  int stage = 0;
  int num_stages = 0;
  std::vector<planned_shard> shards;
  // Activations over NCCL (choose_activation_link) from the previous stage's leader / to the
  // next stage's next_op ranks; false: as bytes through the actors.
  bool recv_over_nccl = false;
  bool send_over_nccl = false;
  int next_op = 0;  // the next stage's op ranks when send_over_nccl, else 0
};

struct planned_group {
  int group = 0;            // the layout's group id (never reused across generations)
  std::string description;  // describe_group: logs, inspect, the routing table
  std::vector<int> models;  // model ids, as placed
  std::vector<planned_stage> stages;
  // Models whose shards are left out of every stage (real backend without an architecture):
  // model name -> why. The group serves its other models.
  std::map<std::string, std::string> failed_models;
};

// stage_wire: stage `from_stage` of plans[group_index] forwards to `to_stage`, or to the
// group's manager when to_stage is to_group_manager.
struct pipeline_link {
  static constexpr int to_group_manager = -1;
  size_t group_index = 0;  // index into deployment_plan::groups
  int from_stage = 0;
  int to_stage = to_group_manager;
};

// retire_group{group}: sent to the agents of `nodes` (each named once, in stage order).
struct group_retirement {
  int group = 0;
  std::vector<std::string> nodes;
};

// A generation that is being replaced: its layouts and the node list their indices refer to.
struct generation_layout {
  std::vector<group_layout> groups;
  std::vector<node_devices> nodes;
};

struct deployment_plan {
  std::string backend;
  std::vector<planned_group> groups;     // in layout order
  std::vector<pipeline_link> wiring;     // per group: stage 0 -> 1 -> ... -> last -> manager
  std::vector<group_retirement> retire;  // the previous generation's groups, if one was given
};

// Plans the deployment of `layouts` (layout_groups, group ids as they will be used) on `nodes`
// for `models` (indexed by the layouts' model ids). Throws std::invalid_argument, naming the
// group, when a model id or node index is out of range, or a model has no profile for its
// group's config or a profile with another stage count. A real model without a known
// architecture is not an error: it is listed in its group's failed_models.
[[nodiscard]] deployment_plan plan_deployment(const std::vector<group_layout>& layouts,
                                              const std::vector<node_devices>& nodes,
                                              const std::vector<planner::model_data>& models,
                                              const deployment_backend& backend,
                                              const generation_layout* previous = nullptr);

// Which node agents stop each group's workers when `generation` retires (also for a re-plan's
// new generation that is abandoned). Throws std::invalid_argument on a node index out of range.
[[nodiscard]] std::vector<group_retirement> retirements(const generation_layout& generation);

}  // namespace alpaserve::actors
