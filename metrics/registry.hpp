#pragma once
// A small, thread-safe Prometheus metric registry (docs/metrics.md). No CAF, no I/O: the runtime
// registers families once, asks each family for a handle per label set once (that takes the
// family's mutex and compares strings), and then updates through the handle on the hot path
// (one relaxed atomic read-modify-write, no lock, no hashing).
//
// Rules enforced at registration (metrics_error otherwise):
// - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not
//   start with "__" (reserved by Prometheus); a family's label names are distinct;
// - counters end in "_total"; gauges and histograms do not, and histograms do not end in
//   "_bucket", "_sum" or "_count" nor use the label "le";
// - base units only (seconds, bytes, ratios 0..1): a name whose unit word (the last word, or the
//   one before "_total") is a scaled or non-base unit ("milliseconds", "ms", "minutes", "hours",
//   "kilobytes", "mib", "percent", ...) is refused;
// - every name a family exposes (a histogram exposes name_bucket, name_sum, name_count) is
//   unique across the registry, so a duplicate or colliding family is refused;
// - histogram bucket bounds are finite and strictly increasing; +Inf is implicit.
// A handle stays valid as long as its registry lives.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace alpaserve::metrics {

class metrics_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class metric_type { counter, gauge, histogram };
[[nodiscard]] const char* to_string(metric_type t) noexcept;

// The checks the registry applies, exposed for tests and for callers that build names.
[[nodiscard]] bool is_valid_metric_name(const std::string& name) noexcept;
[[nodiscard]] bool is_valid_label_name(const std::string& name) noexcept;

// Bucket helpers (upper bounds, +Inf implicit). Both throw metrics_error on bad arguments.
[[nodiscard]] std::vector<double> linear_buckets(double start, double width, int count);
[[nodiscard]] std::vector<double> exponential_buckets(double start, double factor, int count);

namespace detail {
// Adds v to an atomic double (C++17 has no fetch_add for floating point).
inline void atomic_add(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

struct scalar_cell {
  std::atomic<double> value{0.0};
};

struct histogram_cell {
  explicit histogram_cell(const std::vector<double>* bounds)
      : upper(bounds), counts(new std::atomic<uint64_t>[bounds->size() + 1]) {
    for (size_t i = 0; i <= bounds->size(); ++i) counts[i].store(0, std::memory_order_relaxed);
  }
  const std::vector<double>* upper;  // the family's bounds; counts has one more slot (+Inf)
  std::unique_ptr<std::atomic<uint64_t>[]> counts;  // per bucket, NOT cumulative
  std::atomic<double> sum{0.0};
};
}  // namespace detail

// A counter of one label set. inc() ignores negative and NaN increments (a counter only grows;
// a bad increment must not throw on the request path) and counts them in ignored_increments().
class counter_handle {
 public:
  counter_handle() = default;
  void inc(double v = 1.0) const noexcept;
  [[nodiscard]] double value() const noexcept;
  [[nodiscard]] bool valid() const noexcept { return cell_ != nullptr; }
  [[nodiscard]] static uint64_t ignored_increments() noexcept;

 private:
  friend class counter_family;
  explicit counter_handle(detail::scalar_cell* c) : cell_(c) {}
  detail::scalar_cell* cell_ = nullptr;
};

class gauge_handle {
 public:
  gauge_handle() = default;
  void set(double v) const noexcept { cell_->value.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) const noexcept { detail::atomic_add(cell_->value, v); }
  void dec(double v = 1.0) const noexcept { detail::atomic_add(cell_->value, -v); }
  [[nodiscard]] double value() const noexcept {
    return cell_->value.load(std::memory_order_relaxed);
  }
  [[nodiscard]] bool valid() const noexcept { return cell_ != nullptr; }

 private:
  friend class gauge_family;
  explicit gauge_handle(detail::scalar_cell* c) : cell_(c) {}
  detail::scalar_cell* cell_ = nullptr;
};

// observe(v) counts v in the first bucket whose upper bound is >= v (Prometheus' "le"), or in
// +Inf; NaN observations are ignored.
class histogram_handle {
 public:
  histogram_handle() = default;
  void observe(double v) const noexcept;
  [[nodiscard]] bool valid() const noexcept { return cell_ != nullptr; }
  // Non-cumulative per-bucket counts (last entry: above the highest bound), count and sum.
  [[nodiscard]] std::vector<uint64_t> bucket_counts() const;
  [[nodiscard]] uint64_t count() const noexcept;
  [[nodiscard]] double sum() const noexcept { return cell_->sum.load(std::memory_order_relaxed); }

 private:
  friend class histogram_family;
  explicit histogram_handle(detail::histogram_cell* c) : cell_(c) {}
  detail::histogram_cell* cell_ = nullptr;
};

// What the exposition writer reads: a consistent-per-series copy of one family.
struct series_snapshot {
  std::vector<std::string> label_values;
  double value = 0;                     // counter, gauge
  std::vector<uint64_t> bucket_counts;  // histogram: cumulative, last = +Inf = count
  double sum = 0;                       // histogram
};
struct family_snapshot {
  std::string name;
  std::string help;
  metric_type type = metric_type::counter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;           // histogram upper bounds without +Inf
  std::vector<series_snapshot> series;  // sorted by label values
};

class family {
 public:
  virtual ~family() = default;
  family(const family&) = delete;
  family& operator=(const family&) = delete;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& help() const noexcept { return help_; }
  [[nodiscard]] metric_type type() const noexcept { return type_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept { return labels_; }
  [[nodiscard]] family_snapshot snapshot() const;

 protected:
  family(std::string name, std::string help, metric_type type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}
  // Throws metrics_error unless values has one entry per label name.
  void check_arity(const std::vector<std::string>& values) const;
  virtual void snapshot_series(family_snapshot& out) const = 0;  // called with mu_ held

  mutable std::mutex mu_;

 private:
  std::string name_, help_;
  metric_type type_;
  std::vector<std::string> labels_;
};

class counter_family final : public family {
 public:
  // The handle for one label set (values in the order of label_names()), created at 0.
  [[nodiscard]] counter_handle labels(const std::vector<std::string>& values);

 private:
  friend class registry;
  using family::family;
  void snapshot_series(family_snapshot& out) const override;
  std::map<std::vector<std::string>, std::unique_ptr<detail::scalar_cell>> cells_;
};

class gauge_family final : public family {
 public:
  [[nodiscard]] gauge_handle labels(const std::vector<std::string>& values);

 private:
  friend class registry;
  using family::family;
  void snapshot_series(family_snapshot& out) const override;
  std::map<std::vector<std::string>, std::unique_ptr<detail::scalar_cell>> cells_;
};

class histogram_family final : public family {
 public:
  [[nodiscard]] histogram_handle labels(const std::vector<std::string>& values);
  [[nodiscard]] const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  friend class registry;
  histogram_family(std::string name, std::string help, std::vector<std::string> labels,
                   std::vector<double> bounds)
      : family(std::move(name), std::move(help), metric_type::histogram, std::move(labels)),
        bounds_(std::move(bounds)) {}
  void snapshot_series(family_snapshot& out) const override;
  std::vector<double> bounds_;
  std::map<std::vector<std::string>, std::unique_ptr<detail::histogram_cell>> cells_;
};

class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // Register a family (throws metrics_error, see the rules at the top). A family without labels
  // has its single series created at once, so it is exported as 0 before the first update.
  counter_family& counter(const std::string& name, const std::string& help,
                          const std::vector<std::string>& label_names = {});
  gauge_family& gauge(const std::string& name, const std::string& help,
                      const std::vector<std::string>& label_names = {});
  histogram_family& histogram(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names,
                              std::vector<double> bounds);

  // Runs before every collect() (e.g. to turn a sliding window into a gauge value). Hooks run in
  // registration order, one collect at a time; a hook may update metrics and register families
  // but must not add or remove hooks. remove_collect_hook(id) waits for a running collect.
  uint64_t add_collect_hook(std::function<void()> hook);
  void remove_collect_hook(uint64_t id);

  // Every family, sorted by name; series sorted by label values.
  [[nodiscard]] std::vector<family_snapshot> collect() const;

 private:
  void claim_names(const std::string& name, metric_type type);  // mu_ held

  mutable std::mutex mu_;
  mutable std::mutex collect_mu_;  // serializes hooks + snapshot
  std::map<std::string, std::unique_ptr<family>> families_;
  std::set<std::string> exposed_names_;
  std::map<uint64_t, std::function<void()>> hooks_;
  uint64_t next_hook_ = 1;
};

}  // namespace alpaserve::metrics
