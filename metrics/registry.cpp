#include "metrics/registry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace alpaserve::metrics {

namespace {

std::atomic<uint64_t> g_ignored_increments{0};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Unit words that are not Prometheus base units (seconds, bytes, ratios).
const std::set<std::string>& non_base_units() {
  static const std::set<std::string> words = {
      "milliseconds", "microseconds", "nanoseconds", "millis",    "micros",  "nanos",
      "ms",           "us",           "ns",          "minutes",   "hours",   "days",
      "kilobytes",    "megabytes",    "gigabytes",   "terabytes", "kb",      "mb",
      "gb",           "kib",          "mib",         "gib",       "percent", "percentage"};
  return words;
}

void check_name(const std::string& name, metric_type type) {
  if (!is_valid_metric_name(name))
    throw metrics_error("metric name '" + name + "' does not match [a-zA-Z_:][a-zA-Z0-9_:]*");
  // The unit is the last word, or the one before "_total": split on '_' and ':'.
  std::vector<std::string> words(1);
  for (char c : name) {
    if (c == '_' || c == ':')
      words.emplace_back();
    else
      words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (words.size() >= 2 && words.back() == "total") words.pop_back();
  if (non_base_units().count(words.back()))
    throw metrics_error("metric name '" + name + "' uses the non-base unit '" + words.back() +
                        "' (use seconds, bytes or a 0..1 ratio)");
  const bool total = ends_with(name, "_total");
  if (type == metric_type::counter && !total)
    throw metrics_error("counter '" + name + "' must end in _total");
  if (type != metric_type::counter && total)
    throw metrics_error(std::string(to_string(type)) + " '" + name +
                        "' must not end in _total (reserved for counters)");
  if (type == metric_type::histogram) {
    for (const char* s : {"_bucket", "_sum", "_count"})
      if (ends_with(name, s)) throw metrics_error("histogram '" + name + "' must not end in " + s);
  }
}

void check_labels(const std::string& name, const std::vector<std::string>& labels,
                  metric_type type) {
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (!is_valid_label_name(l))
      throw metrics_error("label name '" + l + "' of '" + name +
                          "' does not match [a-zA-Z_][a-zA-Z0-9_]* or starts with __");
    if (type == metric_type::histogram && l == "le")
      throw metrics_error("histogram '" + name + "' must not use the label 'le'");
    if (!seen.insert(l).second)
      throw metrics_error("label name '" + l + "' given twice for '" + name + "'");
  }
}

void check_bounds(const std::string& name, const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]))
      throw metrics_error("histogram '" + name +
                          "': bucket bounds must be finite (+Inf is implicit)");
    if (i > 0 && !(bounds[i] > bounds[i - 1]))
      throw metrics_error("histogram '" + name + "': bucket bounds must be strictly increasing");
  }
}

}  // namespace

const char* to_string(metric_type t) noexcept {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

bool is_valid_metric_name(const std::string& name) noexcept {
  if (name.empty()) return false;
  if (!(is_alpha_(name[0]) || name[0] == ':')) return false;
  for (char c : name)
    if (!(is_alpha_(c) || is_digit(c) || c == ':')) return false;
  return true;
}

bool is_valid_label_name(const std::string& name) noexcept {
  if (name.empty() || !is_alpha_(name[0])) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  for (char c : name)
    if (!(is_alpha_(c) || is_digit(c))) return false;
  return true;
}

std::vector<double> linear_buckets(double start, double width, int count) {
  if (count < 1 || !(width > 0) || !std::isfinite(start) || !std::isfinite(width))
    throw metrics_error("linear_buckets: need count >= 1 and a finite width > 0");
  std::vector<double> b;
  for (int i = 0; i < count; ++i) b.push_back(start + width * i);
  return b;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (count < 1 || !(start > 0) || !(factor > 1) || !std::isfinite(start) || !std::isfinite(factor))
    throw metrics_error("exponential_buckets: need count >= 1, start > 0 and factor > 1");
  std::vector<double> b;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) b.push_back(v);
  return b;
}

// ---- handles ----

void counter_handle::inc(double v) const noexcept {
  if (!(v >= 0)) {  // negative or NaN
    g_ignored_increments.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  detail::atomic_add(cell_->value, v);
}

double counter_handle::value() const noexcept {
  return cell_->value.load(std::memory_order_relaxed);
}

uint64_t counter_handle::ignored_increments() noexcept {
  return g_ignored_increments.load(std::memory_order_relaxed);
}

void histogram_handle::observe(double v) const noexcept {
  if (std::isnan(v)) return;
  const auto& up = *cell_->upper;
  const size_t i = static_cast<size_t>(std::lower_bound(up.begin(), up.end(), v) - up.begin());
  cell_->counts[i].fetch_add(1, std::memory_order_relaxed);
  detail::atomic_add(cell_->sum, v);
}

std::vector<uint64_t> histogram_handle::bucket_counts() const {
  std::vector<uint64_t> out(cell_->upper->size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = cell_->counts[i].load(std::memory_order_relaxed);
  return out;
}

uint64_t histogram_handle::count() const noexcept {
  uint64_t n = 0;
  for (size_t i = 0; i <= cell_->upper->size(); ++i)
    n += cell_->counts[i].load(std::memory_order_relaxed);
  return n;
}

// ---- families ----

void family::check_arity(const std::vector<std::string>& values) const {
  if (values.size() != labels_.size())
    throw metrics_error("'" + name_ + "' has " + std::to_string(labels_.size()) +
                        " label(s), got " + std::to_string(values.size()) + " value(s)");
}

family_snapshot family::snapshot() const {
  family_snapshot out;
  out.name = name_;
  out.help = help_;
  out.type = type_;
  out.label_names = labels_;
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_series(out);
  return out;
}

counter_handle counter_family::labels(const std::vector<std::string>& values) {
  check_arity(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto& cell = cells_[values];
  if (!cell) cell = std::make_unique<detail::scalar_cell>();
  return counter_handle(cell.get());
}

void counter_family::snapshot_series(family_snapshot& out) const {
  for (const auto& [values, cell] : cells_) {
    series_snapshot s;
    s.label_values = values;
    s.value = cell->value.load(std::memory_order_relaxed);
    out.series.push_back(std::move(s));
  }
}

gauge_handle gauge_family::labels(const std::vector<std::string>& values) {
  check_arity(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto& cell = cells_[values];
  if (!cell) cell = std::make_unique<detail::scalar_cell>();
  return gauge_handle(cell.get());
}

void gauge_family::snapshot_series(family_snapshot& out) const {
  for (const auto& [values, cell] : cells_) {
    series_snapshot s;
    s.label_values = values;
    s.value = cell->value.load(std::memory_order_relaxed);
    out.series.push_back(std::move(s));
  }
}

histogram_handle histogram_family::labels(const std::vector<std::string>& values) {
  check_arity(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto& cell = cells_[values];
  if (!cell) cell = std::make_unique<detail::histogram_cell>(&bounds_);
  return histogram_handle(cell.get());
}

void histogram_family::snapshot_series(family_snapshot& out) const {
  out.bounds = bounds_;
  for (const auto& [values, cell] : cells_) {
    series_snapshot s;
    s.label_values = values;
    // Cumulative; _count is the +Inf bucket, so the two always agree even while observe() runs
    // concurrently (_sum may then lag or lead by the in-flight observations).
    uint64_t running = 0;
    s.bucket_counts.reserve(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      running += cell->counts[i].load(std::memory_order_relaxed);
      s.bucket_counts.push_back(running);
    }
    s.sum = cell->sum.load(std::memory_order_relaxed);
    out.series.push_back(std::move(s));
  }
}

// ---- registry ----

void registry::claim_names(const std::string& name, metric_type type) {
  std::vector<std::string> names = {name};
  if (type == metric_type::histogram) {
    names.push_back(name + "_bucket");
    names.push_back(name + "_sum");
    names.push_back(name + "_count");
  }
  for (const auto& n : names)
    if (exposed_names_.count(n))
      throw metrics_error("metric family '" + name +
                          "' collides with an already registered name '" + n + "'");
  exposed_names_.insert(names.begin(), names.end());
}

counter_family& registry::counter(const std::string& name, const std::string& help,
                                  const std::vector<std::string>& label_names) {
  check_name(name, metric_type::counter);
  check_labels(name, label_names, metric_type::counter);
  std::lock_guard<std::mutex> lock(mu_);
  claim_names(name, metric_type::counter);
  auto* f = new counter_family(name, help, metric_type::counter, label_names);
  families_[name].reset(f);
  if (label_names.empty()) (void)f->labels({});
  return *f;
}

gauge_family& registry::gauge(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names) {
  check_name(name, metric_type::gauge);
  check_labels(name, label_names, metric_type::gauge);
  std::lock_guard<std::mutex> lock(mu_);
  claim_names(name, metric_type::gauge);
  auto* f = new gauge_family(name, help, metric_type::gauge, label_names);
  families_[name].reset(f);
  if (label_names.empty()) (void)f->labels({});
  return *f;
}

histogram_family& registry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<std::string>& label_names,
                                      std::vector<double> bounds) {
  check_name(name, metric_type::histogram);
  check_labels(name, label_names, metric_type::histogram);
  check_bounds(name, bounds);
  std::lock_guard<std::mutex> lock(mu_);
  claim_names(name, metric_type::histogram);
  auto* f = new histogram_family(name, help, label_names, std::move(bounds));
  families_[name].reset(f);
  if (label_names.empty()) (void)f->labels({});
  return *f;
}

uint64_t registry::add_collect_hook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  const uint64_t id = next_hook_++;
  hooks_.emplace(id, std::move(hook));
  return id;
}

void registry::remove_collect_hook(uint64_t id) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  hooks_.erase(id);
}

std::vector<family_snapshot> registry::collect() const {
  std::lock_guard<std::mutex> collect_lock(collect_mu_);
  for (const auto& [id, h] : hooks_) h();
  std::vector<const family*> fams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, f] : families_) fams.push_back(f.get());
  }
  std::vector<family_snapshot> out;
  out.reserve(fams.size());
  for (const family* f : fams) out.push_back(f->snapshot());
  return out;
}

}  // namespace alpaserve::metrics
