#pragma once
// From a placement (which groups, which models) to a deployment (which node and which local
// devices run each pipeline stage of each group). Plain functions, no CAF: the controller
// (actors/controller_deploy.cpp, through actors/deployment_plan.hpp) calls them.
//
// Device order: the cluster's devices are numbered node by node in config order (node 0's
// devices, then node 1's, ...). Group g takes the next op*pp devices in that order, stage k the
// op devices k*op .. k*op+op-1 of its range, so a group whose range crosses a node boundary is a
// pipeline spanning nodes (its stages talk over the network). When that order would split a
// stage's op devices over two nodes (the planner sees devices, not nodes), stages are packed
// instead: largest first, each kept on its group's previous stage's node when it fits, else
// best fit over the nodes.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/batch_queue.hpp"
#include "planner/policy/placement.hpp"

namespace alpaserve::actors {

// A node as the controller sees it once its agent registered.
struct node_devices {
  std::string name;
  int num_devices = 0;
  double memory_bytes = 0;  // per device
  std::string device_kind;
};

struct stage_layout {
  int node = 0;                    // index into the node list
  std::vector<int> local_devices;  // op device indices on that node
};

struct group_layout {
  int group = 0;
  planner::parallel_config config;
  std::vector<stage_layout> stages;  // pp entries
  std::vector<int> models;           // model ids
};

// Throws std::invalid_argument when the placement needs more devices than the nodes have or no
// layout keeps every stage's op devices on one node (intra-op all-reduce stays inside a node).
[[nodiscard]] std::vector<group_layout> layout_groups(const planner::placement& p,
                                                      const std::vector<node_devices>& nodes);

// A re-shard's layout (docs/runtime.md "Re-sharding real models"): each group of `p` equal to a
// usable group of the running generation (same parallel config, same models) stays on the
// devices it runs on, so it keeps serving untouched; the other groups are laid out on the
// devices left, as layout_groups would. kept[g] is the index into `running` that group g keeps
// (its layout, id included), or -1 for a new group (id g, to be offset by the caller). When the
// new groups do not fit the devices left, nothing is kept: layout_groups(p, nodes).
struct sticky_layout_result {
  std::vector<group_layout> layout;
  std::vector<int> kept;
};
[[nodiscard]] sticky_layout_result sticky_layout(const planner::placement& p,
                                                 const std::vector<node_devices>& nodes,
                                                 const std::vector<group_layout>& running,
                                                 const std::vector<node_devices>& running_nodes,
                                                 const std::vector<bool>& usable);

// "(1,1,2) on n0:0 | n1:0" for logs, inspect and the routing table.
[[nodiscard]] std::string describe_group(const group_layout& g,
                                         const std::vector<node_devices>& nodes);

// Per-stage batch-1 latencies of model m in group g (throws std::invalid_argument when the
// model has no profile for the group's parallel config).
[[nodiscard]] const std::vector<double>& group_stage_latency(const group_layout& g,
                                                             const planner::model_data& m);

// What group g's manager batches (actors/batch_queue.hpp): each of its models except those in
// `failed` (by name), with max batch = min(max_batch_size, the model's cap in `model_caps`, 0 or
// absent = no cap) and the profiled per-stage latencies of the group's config per supported batch
// size. The rule itself only picks profiled sizes, so the largest profiled size bounds a batch.
[[nodiscard]] std::vector<batch_model> group_batching(
    const group_layout& g, const std::vector<planner::model_data>& models, int max_batch_size,
    const std::map<std::string, int>& model_caps, const std::map<std::string, std::string>& failed);

using placement_solver = std::function<planner::placement(const std::vector<planner::model_data>&,
                                                          const planner::cluster_env&)>;

}  // namespace alpaserve::actors
