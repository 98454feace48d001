#pragma once
// Every message the alpaserve processes exchange over CAF, in one place (docs/runtime.md has the
// flow). Each struct has an inspect() overload and is registered by register_message_types(),
// which EVERY process (node, client, test) calls before building its actor_system: CAF silently
// delivers an empty message when either side forgets a type.
//
// Tensors and payloads travel as bytes (std::string), never as std::vector<float>: CAF
// serializes vectors element by element (6-10x slower). Times that cross process boundaries
// are durations (seconds), never absolute clock readings, because two machines share no clock.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "net/client_types.hpp"
#include "net/protocols.hpp"

namespace caf {
class actor_system_config;
}

namespace alpaserve::net {

// client -> dispatcher. slo_s = 0 uses the model's configured SLO. The deadline is relative:
// the dispatcher turns it into an absolute time on its own clock when the request arrives.
struct infer_request {
  std::string model;
  uint64_t request_id = 0;
  std::string payload;  // a tensor in the wire format of net/tensor_wire.hpp
  double slo_s = 0;
};

// A model shard a stage worker holds: the model's layers of one pipeline stage.
struct shard_spec {
  std::string model;
  double latency_s = 0;     // profiled batch-1 latency of this stage
  double weight_bytes = 0;  // per device of the stage
  // Real backends (cpu, cuda) only: what to compute. architecture is a model-zoo name
  // (planner/profile/model_zoo.hpp); weights from `weights_path` (a safetensors file of the whole
  // model, on the worker's filesystem) or, when empty, from `seed`. The stage holds layers
  // [layer_begin, layer_end); its op rank r of n is the worker's position in spawn_stage.devices.
  std::string architecture;
  uint64_t seed = 0;
  std::string weights_path;
  int32_t layer_begin = 0;
  int32_t layer_end = 0;
  // Profiled latency of this stage per supported batch size (1, 2, 4, 8, 16; 0 = unprofiled):
  // the emulated stage time and the nominal time of a batch. Empty: latency_s for every size.
  std::vector<double> batch_latency_s;
  // A model folder's definition (kernels::model_definition_json), read on the controller; the
  // worker computes it instead of `architecture` when non-empty (weights_path is then the
  // folder's model.safetensors). docs/models.md "Model folders".
  std::string definition;
};

// controller -> node agent: spawn the worker of one pipeline stage and load its shards.
// Replies with the worker's handle once every shard is loaded.
struct spawn_stage {
  int32_t group = 0;
  int32_t stage = 0;
  int32_t num_stages = 1;
  std::vector<int32_t> devices;  // local device indices on that node (op of them)
  std::string backend;           // "emulated", "cpu", "cuda"
  std::vector<shard_spec> shards;
  rendezvous_actor rendezvous;  // real backends with op > 1 or a device link: where the ranks meet
  // cuda pipelines (actors::choose_activation_link): the input comes from the previous stage's
  // leader over an NCCL link; the output goes to the next stage's next_op ranks over one.
  bool recv_over_nccl = false;
  bool send_over_nccl = false;
  int32_t next_op = 0;
  uint64_t epoch = 0;  // the sending controller's (docs/runtime.md "Controller loss")
  // Where a rank that cannot read a shard's weights_path fetches the weights (weights_fetch),
  // tried in order: the node agents of the cluster's other live nodes, and their names.
  std::vector<node_agent_actor> weight_donors;
  std::vector<std::string> weight_donor_names;
};

// node agent -> controller, the answer to spawn_stage: the stage's (leader) worker once every
// shard was tried. Shards that failed to load are listed with the reason; the worker serves the
// others. A stage whose every op rank failed to start at all is answered with an error instead.
struct stage_ready {
  stage_actor worker;
  std::vector<std::string> failed_models;
  std::vector<std::string> errors;  // same order: "model 'm' stage layers [a, b) ...: why"
};

// A stage rank loading on a node that cannot read a shard's weights file -> a donor node agent
// (spawn_stage.weight_donors): bytes [offset, offset + max_bytes) of the msgpack tensor-wire
// encoding (net/tensor_wire.hpp, f32) of tensor `tensor` of the safetensors file `path`. The
// donor answers with at most min(max_bytes, its chunk size) bytes (actors/remote_weights.hpp:
// min(4 MiB, max_message_bytes / 4)) and the encoding's total length; error non-empty when it
// refuses (a file that is not a weights file of the cluster's models) or cannot read it.
struct weights_fetch {
  std::string path;
  std::string tensor;
  uint64_t offset = 0;
  uint64_t max_bytes = 0;
};
struct weights_chunk {
  uint64_t total_bytes = 0;
  std::string bytes;
  std::string error;
};
// node agent -> its weights donor actor: files it may send from now on (the shards' weights
// files of a spawn_stage it was sent, and the config's model weights files at start).
struct weights_allow {
  std::vector<std::string> paths;
};

// node agent -> stage worker (each op rank): load your shards; answered with stage_ready once
// done.
struct stage_load {};

// Rendezvous key-value store (the Gloo ranks of a tensor-parallel stage exchange addresses):
// kv_put is fire-and-forget; kv_get is answered with the value once some rank has put it.
struct kv_put {
  std::string key;
  std::string value;
};
struct kv_get {
  std::string key;
};

// group manager -> stage worker: where finished work goes (next stage, or the manager), and, for
// stage 0, whom to tell that it finished a batch (the manager, which forms the next one).
struct stage_wire {
  stage_sink_actor next;
  stage_free_actor free_to;  // stage 0 only; null elsewhere
  uint64_t epoch = 0;        // the sending controller's
};

// stage 0 (leader) -> group manager: it finished the batch `request_id`, so it is free.
struct stage_free {
  uint64_t request_id = 0;
};

// One batch of requests of one model moving through a pipeline: group manager -> stage 0 -> ... ->
// last stage -> group manager. It carries no reply address: the group manager owns the clients'
// replies (docs/runtime.md "Who answers a request") and knows which requests the batch holds.
struct stage_task {
  uint64_t request_id = 0;  // the group manager's sequence number of the batch
  std::string model;
  std::string payload;            // one tensor: the batch's inputs concatenated along dimension 0
  int32_t batch_size = 1;         // requests in the batch (the emulated stage time depends on it)
  std::vector<double> queue_s;    // appended by each stage
  std::vector<double> run_s;      // appended by each stage
  std::vector<double> nominal_s;  // appended by each stage
  std::string error;  // non-empty: a stage could not run it (bad input); passed on untouched
  // Non-empty: the payload did not travel with this message; the previous stage's leader sent a
  // tensor of this shape over the NCCL link to this stage's GPUs (payload is empty).
  std::vector<int64_t> device_shape;
};

// A stage worker's executor (real backends: its job thread) -> the worker: one run done.
struct stage_run_done {
  uint64_t token = 0;
  std::string payload;  // output tensor (wire format) when error is empty
  double queue_s = 0;
  double run_s = 0;
  std::string error;
  std::vector<int64_t> device_shape;  // non-empty: the output went over the NCCL link
};

// dispatcher -> group manager, delegated: from then on the manager owns the client's reply.
struct group_request {
  infer_request request;
  double admitted_at = 0;       // dispatcher clock (same process as the manager), seconds
  double deadline = 0;          // dispatcher clock, seconds
  double predicted_finish = 0;  // dispatcher clock, seconds
  uint64_t ticket = 0;          // the dispatcher's name for it (echoed in group_feedback)
};

// group manager -> dispatcher: one request of the group finished (or failed); stage_end is
// estimated on the dispatcher's clock so it can correct its mirror (observe_stage_end).
struct group_feedback {
  int32_t group = 0;
  uint64_t ticket = 0;  // group_request.ticket
  std::string model;
  bool completed = false;
  std::vector<double> stage_end;
  std::vector<double> stage_run_s;
  std::vector<double> stage_nominal_s;
};

// group manager -> dispatcher: stop routing to this group.
struct group_down {
  int32_t group = 0;
  std::string reason;
};

// One group in the routing table.
struct route_group {
  int32_t group = 0;
  group_manager_actor manager;
  std::vector<std::string> models;
  std::vector<std::vector<double>> stage_latency;  // per model (same order): per-stage seconds
  std::string description;                         // "(1,1,2) on n0:0 | n1:0"
  // Batching, per model (same order; empty = none): the largest batch the group forms and the
  // per-stage seconds per supported batch size (1, 2, 4, 8, 16; empty = unprofiled).
  std::vector<int32_t> max_batch;
  std::vector<std::vector<std::vector<double>>> batch_latency;
};

// controller -> dispatcher: the realized placement.
struct routing_table {
  std::vector<route_group> groups;
  std::vector<model_route_info> models;  // every model of the config (served or not)
  uint64_t epoch = 0;                    // the sending controller's
};

// Batching of one model in a group (the wire twin of actors::batch_model).
struct group_batch_model {
  std::string name;
  int32_t max_batch = 1;
  std::vector<std::vector<double>> latency;  // [batch size index][stage] seconds
};

// controller -> dispatcher: start the manager of a new group in the dispatcher's process (so the
// groups keep serving when the controller's process is lost). Answered with its handle.
struct start_group {
  uint64_t epoch = 0;
  int32_t group = 0;
  std::string description;
  std::vector<stage_actor> stages;  // leaders, in pipeline order
  double request_timeout_s = 30;
  std::vector<group_batch_model> batching;
};
struct group_started {
  group_manager_actor manager;
};

// A stage worker a node runs, reported when it registers (a restarted controller adopts it).
struct running_stage {
  int32_t group = 0;
  int32_t stage = 0;
  stage_actor leader;
};

// controller -> dispatcher: which group managers run in your process (a restarted controller
// adopts them).
struct running_group {
  int32_t group = 0;
  group_manager_actor manager;
};
struct groups_query {};
struct groups_report {
  std::vector<running_group> groups;
};

// node agent -> controller (the agent is the sender).
struct register_node {
  std::string name;
  std::string device_kind;
  int32_t num_devices = 0;
  double device_memory_bytes = 0;
  node_agent_actor agent;
  // What the node already runs (empty on a fresh start): its stage leaders. A restarted
  // controller adopts them (and asks the dispatcher for its group managers: groups_query).
  std::vector<running_stage> stages;
  dispatcher_actor dispatcher;  // null unless the node hosts the dispatcher
  bool worker = true;           // offers its devices (false: a dispatcher-only node)
  // The newest controller epoch the node has heard, and the newest deployment record it was
  // given (JSON; empty: none). A controller started on another candidate node, without the
  // record file, adopts from these (docs/runtime.md "Controller loss").
  uint64_t epoch_seen = 0;
  std::string record;
};

// controller -> every node agent, after each write of its deployment record: a copy (JSON) the
// node keeps in memory and hands to the next controller it registers with.
struct record_copy {
  uint64_t epoch = 0;
  std::string record;
};

// controller -> node agent, the answer to register_node: accepted or not, the controller's
// epoch (the node ignores commands from older ones from now on) and the groups whose running
// stage workers / managers the node keeps; it stops the others.
struct register_answer {
  bool accepted = false;
  uint64_t epoch = 0;
  std::vector<int32_t> keep_groups;
};

// controller -> dispatcher: the controller's progress before the first routing table
// ("waiting for nodes (2/3)", "loading shards"), shown to clients asking cluster_info.
struct controller_progress {
  std::string state;
};

// client -> dispatcher: is the cluster serving, and what?
struct cluster_info_query {};

// anyone -> any runtime actor: describe yourself. Node agents answer for every actor of
// their node (a cluster_status); other actors answer with one actor_status.
struct status_query {};

// Re-planning (docs/runtime.md "Re-planning"). controller -> dispatcher: the per-model
// arrivals since the last query (the window restarts).
struct traffic_query {};
struct traffic_report {
  double seconds = 0;
  std::vector<std::string> models;
  std::vector<int64_t> counts;
  std::vector<double> cvs;
};
// controller -> retiring group manager: take nothing new, answer (true) once every in-flight
// request has been answered, then stop.
struct group_retire {
  uint64_t epoch = 0;  // the sending controller's
};
// controller -> node agent: stop the stage workers of a retired group.
struct retire_group {
  int32_t group = 0;
  uint64_t epoch = 0;  // the sending controller's
};

// node process -> its own node agent: the controller, lost, was looked up again; register with
// it (docs/runtime.md "Failures").
struct rejoin_controller {
  controller_actor controller;
};

// Internal ticks (also registered: they are sent with delayed_send).
struct stage_done_tick {
  uint64_t token = 0;
};
struct sweep_tick {};
struct replan_tick {};
struct replan_done {};  // the controller's background re-plan finished

void register_message_types(caf::actor_system_config& cfg);

// ---- inspect() overloads -------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, infer_request& x) {
  return f(caf::meta::type_name("infer_request"), x.model, x.request_id, x.payload, x.slo_s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, infer_reply& x) {
  return f(caf::meta::type_name("infer_reply"), x.request_id, x.status, x.message, x.result,
           x.group, x.server_s, x.predicted_s, x.stage_queue_s, x.stage_run_s, x.stage_nominal_s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_spec& x) {
  return f(caf::meta::type_name("shard_spec"), x.model, x.latency_s, x.weight_bytes, x.architecture,
           x.seed, x.weights_path, x.layer_begin, x.layer_end, x.batch_latency_s, x.definition);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spawn_stage& x) {
  return f(caf::meta::type_name("spawn_stage"), x.group, x.stage, x.num_stages, x.devices,
           x.backend, x.shards, x.rendezvous, x.recv_over_nccl, x.send_over_nccl, x.next_op,
           x.epoch, x.weight_donors, x.weight_donor_names);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, weights_fetch& x) {
  return f(caf::meta::type_name("weights_fetch"), x.path, x.tensor, x.offset, x.max_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, weights_chunk& x) {
  return f(caf::meta::type_name("weights_chunk"), x.total_bytes, x.bytes, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, weights_allow& x) {
  return f(caf::meta::type_name("weights_allow"), x.paths);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_wire& x) {
  return f(caf::meta::type_name("stage_wire"), x.next, x.free_to, x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_free& x) {
  return f(caf::meta::type_name("stage_free"), x.request_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_task& x) {
  return f(caf::meta::type_name("stage_task"), x.request_id, x.model, x.payload, x.batch_size,
           x.queue_s, x.run_s, x.nominal_s, x.error, x.device_shape);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_run_done& x) {
  return f(caf::meta::type_name("stage_run_done"), x.token, x.payload, x.queue_s, x.run_s, x.error,
           x.device_shape);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_ready& x) {
  return f(caf::meta::type_name("stage_ready"), x.worker, x.failed_models, x.errors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_load&) {
  return f(caf::meta::type_name("stage_load"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_put& x) {
  return f(caf::meta::type_name("kv_put"), x.key, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_get& x) {
  return f(caf::meta::type_name("kv_get"), x.key);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_request& x) {
  return f(caf::meta::type_name("group_request"), x.request, x.admitted_at, x.deadline,
           x.predicted_finish, x.ticket);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_feedback& x) {
  return f(caf::meta::type_name("group_feedback"), x.group, x.ticket, x.model, x.completed,
           x.stage_end, x.stage_run_s, x.stage_nominal_s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_down& x) {
  return f(caf::meta::type_name("group_down"), x.group, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_group& x) {
  return f(caf::meta::type_name("route_group"), x.group, x.manager, x.models, x.stage_latency,
           x.description, x.max_batch, x.batch_latency);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_route_info& x) {
  return f(caf::meta::type_name("model_route_info"), x.name, x.slo_s, x.unavailable, x.switching);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routing_table& x) {
  return f(caf::meta::type_name("routing_table"), x.groups, x.models, x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_batch_model& x) {
  return f(caf::meta::type_name("group_batch_model"), x.name, x.max_batch, x.latency);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_group& x) {
  return f(caf::meta::type_name("start_group"), x.epoch, x.group, x.description, x.stages,
           x.request_timeout_s, x.batching);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_started& x) {
  return f(caf::meta::type_name("group_started"), x.manager);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, running_stage& x) {
  return f(caf::meta::type_name("running_stage"), x.group, x.stage, x.leader);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, running_group& x) {
  return f(caf::meta::type_name("running_group"), x.group, x.manager);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, groups_query&) {
  return f(caf::meta::type_name("groups_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, groups_report& x) {
  return f(caf::meta::type_name("groups_report"), x.groups);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_answer& x) {
  return f(caf::meta::type_name("register_answer"), x.accepted, x.epoch, x.keep_groups);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_node& x) {
  return f(caf::meta::type_name("register_node"), x.name, x.device_kind, x.num_devices,
           x.device_memory_bytes, x.agent, x.stages, x.dispatcher, x.worker, x.epoch_seen,
           x.record);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_copy& x) {
  return f(caf::meta::type_name("record_copy"), x.epoch, x.record);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, controller_progress& x) {
  return f(caf::meta::type_name("controller_progress"), x.state);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info_query&) {
  return f(caf::meta::type_name("cluster_info_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info& x) {
  return f(caf::meta::type_name("cluster_info"), x.ready, x.state, x.models, x.groups);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_query&) {
  return f(caf::meta::type_name("status_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, counter_value& x) {
  return f(caf::meta::type_name("counter_value"), x.name, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_status& x) {
  return f(caf::meta::type_name("actor_status"), x.node, x.role, x.name, x.state, x.queue_length,
           x.shards, x.counters);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status& x) {
  return f(caf::meta::type_name("cluster_status"), x.actors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_done_tick& x) {
  return f(caf::meta::type_name("stage_done_tick"), x.token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sweep_tick&) {
  return f(caf::meta::type_name("sweep_tick"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replan_tick&) {
  return f(caf::meta::type_name("replan_tick"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replan_done&) {
  return f(caf::meta::type_name("replan_done"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_query&) {
  return f(caf::meta::type_name("traffic_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_report& x) {
  return f(caf::meta::type_name("traffic_report"), x.seconds, x.models, x.counts, x.cvs);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_retire& x) {
  return f(caf::meta::type_name("group_retire"), x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retire_group& x) {
  return f(caf::meta::type_name("retire_group"), x.group, x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejoin_controller& x) {
  return f(caf::meta::type_name("rejoin_controller"), x.controller);
}

}  // namespace alpaserve::net
