#pragma once
// What a client gets back from a cluster, as plain data without CAF: the outcome of a request,
// its reply, what the cluster serves, and the status of its actors. net/messages.hpp makes them
// CAF messages (inspect overloads); tools/ and the client API see only this header.

#include <cstdint>
#include <string>
#include <vector>

namespace alpaserve::net {

// The outcome of one request: every request gets exactly one reply with one of these.
enum class reply_status : uint8_t {
  ok,
  rejected_unknown_model,
  rejected_slo,         // the admission rule predicts the deadline would be missed
  rejected_overloaded,  // queues full, or the cluster is not ready yet
  rejected_bad_input,   // malformed or oversized payload
  failed_node_lost,     // a node serving the request (or every group of the model) died
  failed_timeout,       // accepted but not finished within the safety timeout
  // Every group that would serve the model failed to load its shards (bad weights file, model
  // too large for the device); the message says which shard and why.
  failed_model_unavailable,
  // The model is configured but the running placement has no room for it (a re-plan on
  // changed traffic may place it); the request was never accepted.
  rejected_not_placed,
};
[[nodiscard]] std::string to_string(reply_status s);
[[nodiscard]] bool is_rejection(reply_status s) noexcept;
[[nodiscard]] bool is_failure(reply_status s) noexcept;

// group manager or dispatcher -> client: the one reply of a request.
struct infer_reply {
  uint64_t request_id = 0;
  reply_status status = reply_status::ok;
  std::string message;                // why, for rejections and failures
  std::string result;                 // output tensor bytes when ok
  int32_t group = -1;                 // the group that served (or would have served) it
  double server_s = 0;                // dispatcher arrival -> reply sent, on the dispatcher's node
  double predicted_s = 0;             // the admission rule's predicted latency
  std::vector<double> stage_queue_s;  // per stage: waiting in the stage worker's FCFS queue
  std::vector<double> stage_run_s;    // per stage: measured execution (emulated: timer) time
  std::vector<double> stage_nominal_s;  // per stage: the profiled (emulated) stage time
};

struct model_route_info {
  std::string name;
  double slo_s = 0;
  std::string unavailable;  // non-empty: its shards failed to load everywhere; why
  // Non-empty: every group that served it is drained for a re-shard under way (why); requests
  // are rejected_not_placed with this reason until the new placement serves.
  std::string switching;
};

// client -> dispatcher: is the cluster serving, and what?
struct cluster_info {
  bool ready = false;
  std::string state;  // "waiting for nodes (2/3)", "serving", ...
  std::vector<model_route_info> models;
  std::vector<std::string> groups;  // descriptions
};

// The status of actors (`inspect`): node agents answer for every actor of their node.
struct counter_value {
  std::string name;
  double value = 0;
};
struct actor_status {
  std::string node;
  std::string role;  // node-agent, controller, dispatcher, group-manager, stage-worker
  std::string name;
  std::string state;
  int64_t queue_length = 0;
  std::vector<std::string> shards;
  std::vector<counter_value> counters;
};
struct cluster_status {
  std::vector<actor_status> actors;
};

}  // namespace alpaserve::net
