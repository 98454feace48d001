#pragma once
// One node process's metrics and readiness (docs/metrics.md): the registry its HTTP exporter
// serves, the runtime's families (metrics/runtime_metrics.hpp), the per-device busy and weight
// accounting of its stage workers, and the readiness its actors publish. actors/node_runtime.cpp
// creates one per process and hands it to the actors through their setup structs; each actor
// makes one call per event. Every member is thread-safe (the actors run on CAF's threads, the
// exporter calls readiness() and collects on its own). A null pointer means no metrics (unit
// tests, metrics.enabled = false). No CAF here.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/http_exporter.hpp"
#include "metrics/registry.hpp"
#include "metrics/runtime_metrics.hpp"

namespace alpaserve::net {
enum class reply_status : uint8_t;  // net/messages.hpp
}

namespace alpaserve::actors {

class node_metrics {
  struct device_state;  // one device's busy and weight accounting

 public:
  // `node` names the devices ("<node>/<backend>:<index>"). Busy ratios are computed at a scrape
  // over the time since the previous computation, at most every `busy_interval_s`.
  explicit node_metrics(std::string node, double busy_interval_s = 1.0);
  ~node_metrics();
  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  [[nodiscard]] metrics::registry& registry() noexcept { return registry_; }
  [[nodiscard]] metrics::runtime_metrics& runtime() noexcept { return runtime_; }
  [[nodiscard]] const std::string& node() const noexcept { return node_; }

  // A configured model and its SLO in seconds (its series exist at 0 from now on).
  void add_model(const std::string& name, double slo_s);

  // One request answered, counted once per request: by the dispatcher when it does not admit it,
  // by the group manager for every request delegated to it. latency_s: admission -> reply;
  // queue_s: the part spent waiting in stage queues.
  void on_request_done(const std::string& model, net::reply_status status, double latency_s = 0,
                       double queue_s = 0);
  // One request answered ok after its pipeline ran: latency_s from admission to the reply, per
  // stage the time it waited in the stage's queue, the time the admission rule used (the
  // profiled stage time) and the measured run time; one batch of `batch_size`.
  void on_request_served(const std::string& model, double latency_s,
                         const std::vector<double>& queue_s, const std::vector<double>& predicted_s,
                         const std::vector<double>& measured_s, int batch_size = 1);
  // A placement (generation >= 1) installed at the dispatcher with these group ids; `replanned`:
  // it replaced a running one.
  void on_placement_installed(int64_t generation, const std::vector<int>& groups, bool replanned);

  // Readiness: ready when every component that reported is ready (and at least one did). A
  // component reports again whenever its state changes; `reason` says why it is not ready.
  void set_component(const std::string& component, bool ready, const std::string& reason);
  [[nodiscard]] metrics::readiness readiness() const;

  // The devices one stage worker (op rank) runs on: adds its run seconds to their busy time and
  // its loaded weights to theirs, and takes the weights back when destroyed (the worker stops).
  class device_usage {
   public:
    device_usage() = default;  // inert
    device_usage(std::shared_ptr<node_metrics> m, std::vector<int> devices,
                 const std::string& backend);
    ~device_usage();
    device_usage(device_usage&& other) noexcept;
    device_usage& operator=(device_usage&& other) noexcept;
    device_usage(const device_usage&) = delete;
    device_usage& operator=(const device_usage&) = delete;

    // The worker's cumulative busy seconds so far (stage_queue::busy_seconds()); the increase
    // since the last call counts on every device of the worker.
    void busy_total(double cumulative_s);
    // Weight bytes this worker holds on each of its devices (replaces its previous amount).
    void weight_bytes(double per_device);

   private:
    void release();
    std::shared_ptr<node_metrics> metrics_;
    std::vector<device_state*> devices_;
    double busy_seen_ = 0;
    double weights_ = 0;
  };

 private:
  device_state* device(const std::string& name);
  void update_busy_ratios();  // collect hook

  std::string node_;
  double busy_interval_s_;
  metrics::registry registry_;
  metrics::runtime_metrics runtime_;
  uint64_t hook_ = 0;

  mutable std::mutex mu_;  // devices_, components_
  std::map<std::string, std::unique_ptr<device_state>> devices_;
  std::map<std::string, std::pair<bool, std::string>> components_;
};

// The label of a device of this node: "<node>/<backend>:<index>".
[[nodiscard]] std::string device_label(const std::string& node, const std::string& backend,
                                       int index);

}  // namespace alpaserve::actors
