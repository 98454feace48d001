#include "metrics/runtime_metrics.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>

namespace alpaserve::metrics {

namespace {

constexpr std::array<const char*, request_outcome_count> outcome_names = {
    "ok",
    "rejected_unknown_model",
    "rejected_slo",
    "rejected_overloaded",
    "rejected_bad_input",
    "failed_node_lost",
    "failed_timeout",
    "failed_model_unavailable",
    "rejected_not_placed",
};

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

const char* to_string(request_outcome o) noexcept {
  const auto i = static_cast<size_t>(o);
  return i < outcome_names.size() ? outcome_names[i] : "unknown";
}

std::optional<request_outcome> outcome_from_string(std::string_view s) noexcept {
  for (size_t i = 0; i < outcome_names.size(); ++i)
    if (s == outcome_names[i]) return static_cast<request_outcome>(i);
  return std::nullopt;
}

struct runtime_metrics::model_entry {
  model_entry(const std::string& n, double slo, double window_s, int buckets)
      : name(n), slo_s(slo), window(window_s, buckets) {}
  std::string name;
  std::atomic<double> slo_s;  // <= 0: no SLO (the "_unknown" entry)
  std::array<counter_handle, request_outcome_count> requests;
  histogram_handle latency, queue, batch;
  gauge_handle attainment;  // invalid for "_unknown"
  sliding_ratio window;
  std::mutex stage_mu;
  std::vector<std::pair<histogram_handle, histogram_handle>> stages;  // predicted, measured
};

struct runtime_metrics::device_entry {
  gauge_handle busy, weight_bytes;
};

runtime_metrics::runtime_metrics(registry& reg, runtime_metrics_options options)
    : reg_(reg),
      opt_(std::move(options)),
      clock_(opt_.clock ? opt_.clock : std::function<double()>(steady_seconds)),
      requests_(reg.counter("alpaserve_requests_total",
                            "Requests answered, by model and outcome (ok, each rejection reason, "
                            "each failure).",
                            {"model", "outcome"})),
      request_latency_(reg.histogram("alpaserve_request_latency_seconds",
                                     "End-to-end latency of requests answered ok: arrival at the "
                                     "dispatcher to reply.",
                                     {"model"}, opt_.latency_buckets)),
      queue_latency_(reg.histogram("alpaserve_queue_latency_seconds",
                                   "Time requests answered ok spent waiting in queues.", {"model"},
                                   opt_.latency_buckets)),
      stage_predicted_(reg.histogram("alpaserve_stage_predicted_seconds",
                                     "Stage time the admission rule predicted, per stage run.",
                                     {"model", "stage"}, opt_.latency_buckets)),
      stage_measured_(reg.histogram("alpaserve_stage_measured_seconds",
                                    "Stage time measured by the stage worker, per stage run.",
                                    {"model", "stage"}, opt_.latency_buckets)),
      batch_size_(reg.histogram("alpaserve_batch_size", "Requests per executed batch.", {"model"},
                                opt_.batch_size_buckets)),
      device_busy_(reg.gauge("alpaserve_device_busy_ratio",
                             "Fraction of the last measuring interval the device was executing.",
                             {"device"})),
      weight_bytes_(reg.gauge("alpaserve_loaded_weight_bytes",
                              "Bytes of model weights loaded on the device.", {"device"})),
      group_generation_(reg.gauge("alpaserve_group_generation",
                                  "Generation of the group's current configuration (bumped on "
                                  "every re-shard).",
                                  {"group"})),
      placement_generation_(reg.gauge("alpaserve_placement_generation",
                                      "Generation of the installed placement (0: none yet).")),
      replans_(reg.counter("alpaserve_replans_total", "Placements re-planned and installed.")),
      slo_attainment_(reg.gauge("alpaserve_slo_attainment_ratio",
                                "Fraction of the model's requests in the sliding window answered "
                                "ok within the SLO (NaN: no request in the window).",
                                {"model"})),
      placement_generation_h_(placement_generation_.labels({})),
      replans_h_(replans_.labels({})) {
  // Throws now rather than at the first request.
  (void)sliding_ratio(opt_.slo_window_s, opt_.slo_window_buckets);
  {
    std::lock_guard<std::mutex> lock(mu_);
    unknown_ = make_model(unknown_model_label, 0);
  }
  // Outside mu_: collect() takes the registry's hook lock, then mu_ (in the hook).
  hook_id_ = reg_.add_collect_hook([this] { update_attainment_gauges(); });
}

runtime_metrics::~runtime_metrics() {
  reg_.remove_collect_hook(hook_id_);
}

runtime_metrics::model_entry* runtime_metrics::make_model(const std::string& name, double slo_s) {
  auto e = std::make_unique<model_entry>(name, slo_s, opt_.slo_window_s, opt_.slo_window_buckets);
  for (size_t i = 0; i < request_outcome_count; ++i)
    e->requests[i] = requests_.labels({name, outcome_names[i]});
  e->latency = request_latency_.labels({name});
  e->queue = queue_latency_.labels({name});
  e->batch = batch_size_.labels({name});
  if (slo_s > 0) {
    e->attainment = slo_attainment_.labels({name});
    e->attainment.set(std::numeric_limits<double>::quiet_NaN());
  }
  model_entry* raw = e.get();
  models_[name] = std::move(e);
  return raw;
}

runtime_metrics::model_handle runtime_metrics::add_model(const std::string& name, double slo_s) {
  if (name == unknown_model_label)
    throw metrics_error(std::string("model name '") + unknown_model_label + "' is reserved");
  if (!(slo_s > 0) || !std::isfinite(slo_s))
    throw metrics_error("model '" + name + "': SLO must be a finite number of seconds > 0");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  if (it != models_.end()) {
    it->second->slo_s.store(slo_s, std::memory_order_relaxed);
    return it->second.get();
  }
  return make_model(name, slo_s);
}

runtime_metrics::model_handle runtime_metrics::model(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  return it != models_.end() ? it->second.get() : unknown_;
}

runtime_metrics::device_handle runtime_metrics::device(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& d = devices_[name];
  if (!d) {
    d = std::make_unique<device_entry>();
    d->busy = device_busy_.labels({name});
    d->weight_bytes = weight_bytes_.labels({name});
  }
  return d.get();
}

void runtime_metrics::on_request_done(model_handle m, request_outcome o, double latency_s,
                                      double queue_s) {
  const auto i = static_cast<size_t>(o);
  if (i >= request_outcome_count) return;
  m->requests[i].inc();
  if (o == request_outcome::ok) {
    m->latency.observe(latency_s);
    m->queue.observe(queue_s);
  }
  const double slo = m->slo_s.load(std::memory_order_relaxed);
  if (slo > 0) m->window.record(clock_(), o == request_outcome::ok && latency_s <= slo);
}

void runtime_metrics::on_request_done(const std::string& model_name, request_outcome o,
                                      double latency_s, double queue_s) {
  on_request_done(model(model_name), o, latency_s, queue_s);
}

void runtime_metrics::on_stage_done(model_handle m, int stage, double predicted_s,
                                    double measured_s) {
  if (stage < 0) return;
  const auto s = static_cast<size_t>(stage);
  histogram_handle predicted, measured;
  {
    std::lock_guard<std::mutex> lock(m->stage_mu);
    while (m->stages.size() <= s) {
      const std::string idx = std::to_string(m->stages.size());
      m->stages.emplace_back(stage_predicted_.labels({m->name, idx}),
                             stage_measured_.labels({m->name, idx}));
    }
    predicted = m->stages[s].first;
    measured = m->stages[s].second;
  }
  predicted.observe(predicted_s);
  measured.observe(measured_s);
}

void runtime_metrics::on_batch(model_handle m, int batch_size) {
  m->batch.observe(static_cast<double>(batch_size));
}

void runtime_metrics::set_device_busy_ratio(device_handle d, double ratio) {
  d->busy.set(ratio);
}

void runtime_metrics::set_loaded_weight_bytes(device_handle d, double bytes) {
  d->weight_bytes.set(bytes);
}

void runtime_metrics::set_group_generation(int group, int64_t generation) {
  gauge_handle h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = groups_.find(group);
    if (it == groups_.end())
      it = groups_.emplace(group, group_generation_.labels({std::to_string(group)})).first;
    h = it->second;
  }
  h.set(static_cast<double>(generation));
}

void runtime_metrics::set_placement_generation(int64_t generation) {
  placement_generation_h_.set(static_cast<double>(generation));
}

void runtime_metrics::on_replan() {
  replans_h_.inc();
}

std::optional<double> runtime_metrics::slo_attainment(model_handle m) const {
  if (!(m->slo_s.load(std::memory_order_relaxed) > 0)) return std::nullopt;
  return m->window.ratio(clock_());
}

void runtime_metrics::update_attainment_gauges() {
  const double now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, m] : models_) {
    if (!m->attainment.valid()) continue;
    const auto r = m->window.ratio(now);
    m->attainment.set(r ? *r : std::numeric_limits<double>::quiet_NaN());
  }
}

}  // namespace alpaserve::metrics
