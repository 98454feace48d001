#include "metrics/sliding_ratio.hpp"

#include <cmath>

#include "metrics/registry.hpp"

namespace alpaserve::metrics {

sliding_ratio::sliding_ratio(double window_s, int buckets) {
  if (!(window_s > 0) || !std::isfinite(window_s) || buckets < 1)
    throw metrics_error("sliding_ratio: need a finite window_s > 0 and buckets >= 1");
  width_ = window_s / buckets;
  slots_.resize(static_cast<size_t>(buckets));
}

int64_t sliding_ratio::bucket_of(double t) const {
  return static_cast<int64_t>(std::floor(t / width_));
}

void sliding_ratio::record(double now_s, bool good, uint64_t count) {
  if (!std::isfinite(now_s)) return;
  const int64_t b = bucket_of(now_s);
  const int64_t n = static_cast<int64_t>(slots_.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (newest_ != INT64_MIN && b <= newest_ - n) {  // older than the whole window
    dropped_ += count;
    return;
  }
  if (b > newest_) newest_ = b;
  slot& s = slots_[static_cast<size_t>(((b % n) + n) % n)];
  if (s.index != b) {
    if (s.index > b) {  // the slot already holds a later bucket: this event is too old
      dropped_ += count;
      return;
    }
    s = slot{b, 0, 0};
  }
  s.total += count;
  if (good) s.good += count;
}

sliding_ratio::totals sliding_ratio::in_window(double now_s) const {
  totals t;
  if (!std::isfinite(now_s)) return t;
  const int64_t b = bucket_of(now_s);
  const int64_t n = static_cast<int64_t>(slots_.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (const slot& s : slots_) {
    if (s.index == INT64_MIN || s.index > b || s.index <= b - n) continue;
    t.good += s.good;
    t.total += s.total;
  }
  return t;
}

std::optional<double> sliding_ratio::ratio(double now_s) const {
  const totals t = in_window(now_s);
  if (t.total == 0) return std::nullopt;
  return static_cast<double>(t.good) / static_cast<double>(t.total);
}

uint64_t sliding_ratio::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace alpaserve::metrics
