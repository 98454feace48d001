#pragma once
// The fraction of "good" events among all events over a sliding time window (e.g. the SLO
// attainment of the last 60 s). The window is a ring of fixed-width time buckets: an event at time
// t lands in bucket floor(t / width); ratio(now) sums the buckets of the last `buckets` widths up
// to and including now's bucket, so the window covers between (buckets - 1) * width and buckets *
// width seconds of the past. Memory and cost are O(buckets), independent of the rate.
//
// The caller passes the time (seconds on any monotonic clock), so tests are deterministic. Events
// older than the window, or older than a bucket already reused for a later time, are dropped and
// counted in dropped(). Thread-safe (one mutex; each call touches a few integers).

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace alpaserve::metrics {

class sliding_ratio {
 public:
  // window_s > 0 and buckets >= 1, else metrics_error.
  sliding_ratio(double window_s, int buckets);

  void record(double now_s, bool good, uint64_t count = 1);

  struct totals {
    uint64_t good = 0;
    uint64_t total = 0;
  };
  [[nodiscard]] totals in_window(double now_s) const;
  // good / total over the window; nullopt when the window holds no event.
  [[nodiscard]] std::optional<double> ratio(double now_s) const;
  [[nodiscard]] uint64_t dropped() const;
  [[nodiscard]] double window_s() const noexcept {
    return width_ * static_cast<double>(slots_.size());
  }

 private:
  struct slot {
    int64_t index = INT64_MIN;  // which bucket of time this slot holds now
    uint64_t good = 0;
    uint64_t total = 0;
  };
  [[nodiscard]] int64_t bucket_of(double t) const;

  double width_;
  mutable std::mutex mu_;
  std::vector<slot> slots_;
  uint64_t dropped_ = 0;
  int64_t newest_ = INT64_MIN;  // the newest bucket index seen by record()
};

}  // namespace alpaserve::metrics
