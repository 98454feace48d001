#include "actors/node_metrics.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "net/messages.hpp"

namespace alpaserve::actors {
namespace {

double steady_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

metrics::request_outcome outcome_of(net::reply_status s) {
  using metrics::request_outcome;
  using net::reply_status;
  switch (s) {
    case reply_status::ok:
      return request_outcome::ok;
    case reply_status::rejected_unknown_model:
      return request_outcome::rejected_unknown_model;
    case reply_status::rejected_slo:
      return request_outcome::rejected_slo;
    case reply_status::rejected_overloaded:
      return request_outcome::rejected_overloaded;
    case reply_status::rejected_bad_input:
      return request_outcome::rejected_bad_input;
    case reply_status::failed_node_lost:
      return request_outcome::failed_node_lost;
    case reply_status::failed_timeout:
      return request_outcome::failed_timeout;
    case reply_status::failed_model_unavailable:
      return request_outcome::failed_model_unavailable;
    case reply_status::rejected_not_placed:
      return request_outcome::rejected_not_placed;
  }
  return request_outcome::rejected_overloaded;
}

}  // namespace

struct node_metrics::device_state {
  metrics::runtime_metrics::device_handle handle = nullptr;
  std::atomic<double> busy_s{0.0};  // run seconds of every worker on the device so far
  double weights = 0;               // node_metrics::mu_
  double sampled_at = 0;            // the last busy ratio's end (node_metrics::mu_)
  double sampled_busy = 0;          // busy_s then
};

std::string device_label(const std::string& node, const std::string& backend, int index) {
  return fmt::format("{}/{}:{}", node, backend, index);
}

node_metrics::node_metrics(std::string node, double busy_interval_s)
    : node_(std::move(node)), busy_interval_s_(busy_interval_s), runtime_(registry_) {
  hook_ = registry_.add_collect_hook([this] { update_busy_ratios(); });
}

node_metrics::~node_metrics() {
  registry_.remove_collect_hook(hook_);
}

void node_metrics::add_model(const std::string& name, double slo_s) {
  runtime_.add_model(name, slo_s);
}

void node_metrics::on_request_done(const std::string& model, net::reply_status status,
                                   double latency_s, double queue_s) {
  runtime_.on_request_done(model, outcome_of(status), latency_s, queue_s);
}

void node_metrics::on_request_served(const std::string& model, double latency_s,
                                     const std::vector<double>& queue_s,
                                     const std::vector<double>& predicted_s,
                                     const std::vector<double>& measured_s, int batch_size) {
  auto m = runtime_.model(model);
  double queued = 0;
  for (double q : queue_s) queued += q;
  runtime_.on_request_done(m, metrics::request_outcome::ok, latency_s, queued);
  const size_t n = std::min(predicted_s.size(), measured_s.size());
  for (size_t k = 0; k < n; ++k)
    runtime_.on_stage_done(m, static_cast<int>(k), predicted_s[k], measured_s[k]);
  runtime_.on_batch(m, batch_size);
}

void node_metrics::on_placement_installed(int64_t generation, const std::vector<int>& groups,
                                          bool replanned) {
  for (int g : groups) runtime_.set_group_generation(g, generation);
  runtime_.set_placement_generation(generation);
  if (replanned) runtime_.on_replan();
}

void node_metrics::set_component(const std::string& component, bool ready,
                                 const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  components_[component] = {ready, reason};
}

metrics::readiness node_metrics::readiness() const {
  std::lock_guard<std::mutex> lock(mu_);
  metrics::readiness r;
  if (components_.empty()) {
    r.reason = "starting";
    return r;
  }
  r.ready = true;
  for (const auto& [component, state] : components_) {
    if (state.first) continue;
    r.ready = false;
    r.reason += (r.reason.empty() ? "" : "; ") + component + ": " + state.second;
  }
  return r;
}

node_metrics::device_state* node_metrics::device(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& d = devices_[name];
  if (!d) {
    d = std::make_unique<device_state>();
    d->handle = runtime_.device(name);
    d->sampled_at = steady_now();
  }
  return d.get();
}

void node_metrics::update_busy_ratios() {
  const double now = steady_now();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, d] : devices_) {
    const double span = now - d->sampled_at;
    if (span < busy_interval_s_) continue;  // too short to say much: keep the last value
    const double busy = d->busy_s.load(std::memory_order_relaxed);
    // A run is counted when it ends, so one longer than the interval can push it above 1.
    runtime_.set_device_busy_ratio(d->handle,
                                   std::clamp((busy - d->sampled_busy) / span, 0.0, 1.0));
    d->sampled_at = now;
    d->sampled_busy = busy;
  }
}

node_metrics::device_usage::device_usage(std::shared_ptr<node_metrics> m, std::vector<int> devices,
                                         const std::string& backend)
    : metrics_(std::move(m)) {
  if (!metrics_) return;
  for (int d : devices)
    devices_.push_back(metrics_->device(device_label(metrics_->node_, backend, d)));
}

node_metrics::device_usage::~device_usage() {
  release();
}

node_metrics::device_usage::device_usage(device_usage&& other) noexcept
    : metrics_(std::move(other.metrics_)),
      devices_(std::move(other.devices_)),
      busy_seen_(other.busy_seen_),
      weights_(other.weights_) {
  other.devices_.clear();
  other.weights_ = 0;
}

node_metrics::device_usage& node_metrics::device_usage::operator=(device_usage&& other) noexcept {
  if (this == &other) return *this;
  release();
  metrics_ = std::move(other.metrics_);
  devices_ = std::move(other.devices_);
  busy_seen_ = other.busy_seen_;
  weights_ = other.weights_;
  other.devices_.clear();
  other.weights_ = 0;
  return *this;
}

void node_metrics::device_usage::busy_total(double cumulative_s) {
  const double delta = cumulative_s - busy_seen_;
  busy_seen_ = cumulative_s;
  if (!(delta > 0)) return;
  for (auto* d : devices_) metrics::detail::atomic_add(d->busy_s, delta);
}

void node_metrics::device_usage::weight_bytes(double per_device) {
  if (!metrics_) return;
  std::lock_guard<std::mutex> lock(metrics_->mu_);
  for (auto* d : devices_) {
    d->weights = std::max(0.0, d->weights - weights_ + per_device);
    metrics_->runtime_.set_loaded_weight_bytes(d->handle, d->weights);
  }
  weights_ = per_device;
}

void node_metrics::device_usage::release() {
  if (metrics_ && weights_ != 0) weight_bytes(0);
  metrics_.reset();
  devices_.clear();
}

}  // namespace alpaserve::actors
