#pragma once
// The small C++ client library: connect to a cluster's dispatcher over CAF and submit requests.
// Every call returns exactly one reply per request: the cluster's answer, or a synthesized
// failed_timeout / failed_node_lost reply when the cluster does not answer in time or the
// connection to the dispatcher drops (the client monitors it: every outstanding request then
// fails at once with failed_node_lost), so no caller ever hangs. No CAF in this header.
//
//   alpaserve::net::client c({"127.0.0.1", 7700});
//   c.wait_ready(30);
//   auto r = c.submit("bert-1.3b", alpaserve::net::encode_f32({1, 4}, data));
//   if (r.reply.status == alpaserve::net::reply_status::ok) { ... r.reply.result ... }
//
// Concurrency: one client may be used from one thread at a time; replay() runs its own actor.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/client_types.hpp"
#include "net/runtime_settings.hpp"

namespace alpaserve::net {

struct client_options {
  std::string host = "127.0.0.1";  // the controller node (it hosts the dispatcher)
  int port = 0;
  double connect_timeout_s = 10;
  double request_timeout_s = 60;   // per request; then a failed_timeout reply is synthesized
  bool connect_dispatcher = true;  // false: only node_status() (inspect of a broken cluster)
  runtime_settings caf;
};

struct timed_reply {
  infer_reply reply;
  double e2e_s = 0;  // client send -> client receive
};

class client {
 public:
  // Connects and looks up the dispatcher; throws std::runtime_error saying why it failed.
  explicit client(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  [[nodiscard]] cluster_info info();
  // Polls info() until the cluster serves; throws std::runtime_error on timeout.
  cluster_info wait_ready(double timeout_s);

  // slo_s: 0 = the model's SLO; a negative or non-finite value is answered here with
  // rejected_bad_input (never sent).
  [[nodiscard]] timed_reply submit(const std::string& model, std::string payload, double slo_s = 0);

  // Open-loop replay: request i is sent at start + offsets[i] (seconds, non-decreasing) for
  // model models[i] with `payload`. progress(sent, answered) is called from the caller's thread
  // about 10 times a second. Returns one reply per request, in request order.
  std::vector<timed_reply> replay(const std::vector<double>& offsets,
                                  const std::vector<std::string>& models,
                                  const std::string& payload,
                                  const std::function<void(size_t, size_t)>& progress = {},
                                  double slo_s = 0);

  // Closed-loop burst with `window` requests outstanding: total replies per second measured at
  // the client (used for the admission-throughput figure).
  std::vector<timed_reply> burst(size_t count, size_t window, const std::string& model,
                                 const std::string& payload, double slo_s);

  // The status of every actor of the node listening on host:port (through its node agent).
  [[nodiscard]] cluster_status node_status(const std::string& host, int port);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace alpaserve::net
