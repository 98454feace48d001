#pragma once
// The runtime's metric families (docs/metrics.md lists each one's labels, unit and meaning) and
// plain methods the actors call. No CAF: the actors map their own types (net::reply_status) onto
// request_outcome. Handles (model_handle, device_handle) are looked up once and kept, so the
// per-request calls neither hash strings nor take the registry's locks.
//
// Label cardinality is bounded by the caller's configuration, never by client input: a request
// for a model that was not add_model()'ed is counted under model="_unknown".

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.hpp"
#include "metrics/sliding_ratio.hpp"

namespace alpaserve::metrics {

// Same names and order as net::reply_status (the actors convert one to the other).
enum class request_outcome : uint8_t {
  ok,
  rejected_unknown_model,
  rejected_slo,
  rejected_overloaded,
  rejected_bad_input,
  failed_node_lost,
  failed_timeout,
  failed_model_unavailable,
  rejected_not_placed,
};
inline constexpr size_t request_outcome_count = 9;
[[nodiscard]] const char* to_string(request_outcome o) noexcept;
[[nodiscard]] std::optional<request_outcome> outcome_from_string(std::string_view s) noexcept;

inline constexpr const char* unknown_model_label = "_unknown";

struct runtime_metrics_options {
  double slo_window_s = 60;     // alpaserve_slo_attainment_ratio looks back this far
  int slo_window_buckets = 60;  // ... in this many steps
  // Request, queue and stage time buckets (seconds; +Inf implicit).
  std::vector<double> latency_buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,      2.5,   5,    10,    25,   60};
  std::vector<double> batch_size_buckets = {1, 2, 4, 8, 16, 32, 64, 128};
  // Seconds on a monotonic clock for the SLO window; default std::chrono::steady_clock.
  std::function<double()> clock;
};

class runtime_metrics {
 public:
  struct model_entry;
  struct device_entry;
  using model_handle = model_entry*;  // valid as long as the runtime_metrics lives
  using device_handle = device_entry*;

  // Registers every family on `reg` (which must outlive this object). Throws metrics_error if
  // the registry already has one of the names. The families stay in the registry after this
  // object is gone (their last values keep being exported); the attainment hook is removed.
  explicit runtime_metrics(registry& reg, runtime_metrics_options options = {});
  ~runtime_metrics();
  runtime_metrics(const runtime_metrics&) = delete;
  runtime_metrics& operator=(const runtime_metrics&) = delete;

  // A configured model with its SLO (seconds): creates its series at 0 (every outcome), so
  // rate() works from the first scrape. Again for a known model: updates the SLO.
  model_handle add_model(const std::string& name, double slo_s);
  // The handle of a configured model, or of "_unknown" for any other name.
  [[nodiscard]] model_handle model(const std::string& name);
  // A device by name (e.g. "worker-1/cpu:0"); created on first use.
  [[nodiscard]] device_handle device(const std::string& name);

  // One request answered. latency_s: arrival at the dispatcher -> reply; queue_s: time spent
  // waiting (not computing). Counts alpaserve_requests_total{model,outcome}; for ok requests
  // observes both latency histograms; counts the request in the SLO window (met = ok and
  // latency_s <= the model's SLO; rejections and failures are misses).
  void on_request_done(model_handle m, request_outcome o, double latency_s, double queue_s);
  void on_request_done(const std::string& model_name, request_outcome o, double latency_s,
                       double queue_s);
  // One pipeline stage of one request (or batch): the admission rule's predicted time and the
  // measured one, into alpaserve_stage_{predicted,measured}_seconds{model,stage}.
  void on_stage_done(model_handle m, int stage, double predicted_s, double measured_s);
  // One batch executed for a model.
  void on_batch(model_handle m, int batch_size);

  void set_device_busy_ratio(device_handle d, double ratio);  // 0..1 over the caller's interval
  void set_loaded_weight_bytes(device_handle d, double bytes);
  void set_group_generation(int group, int64_t generation);
  void set_placement_generation(int64_t generation);
  void on_replan();

  // The current window's attainment (nullopt: no request in the window, or no such SLO).
  [[nodiscard]] std::optional<double> slo_attainment(model_handle m) const;
  [[nodiscard]] double now() const { return clock_(); }

 private:
  void update_attainment_gauges();                                 // collect hook
  model_entry* make_model(const std::string& name, double slo_s);  // mu_ held

  registry& reg_;
  runtime_metrics_options opt_;
  std::function<double()> clock_;
  counter_family& requests_;
  histogram_family& request_latency_;
  histogram_family& queue_latency_;
  histogram_family& stage_predicted_;
  histogram_family& stage_measured_;
  histogram_family& batch_size_;
  gauge_family& device_busy_;
  gauge_family& weight_bytes_;
  gauge_family& group_generation_;
  gauge_family& placement_generation_;
  counter_family& replans_;
  gauge_family& slo_attainment_;
  gauge_handle placement_generation_h_;
  counter_handle replans_h_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<model_entry>> models_;
  std::map<std::string, std::unique_ptr<device_entry>> devices_;
  std::map<int, gauge_handle> groups_;
  model_entry* unknown_ = nullptr;
  uint64_t hook_id_ = 0;
};

}  // namespace alpaserve::metrics
