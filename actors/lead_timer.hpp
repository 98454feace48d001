#pragma once
// A timer that fires early by a learned lead and waits out the rest yielding, so an emulated
// stage takes its profiled time even though the actor's timer (CAF's timer thread plus the
// scheduler's wake-up) is late by 0.1 ms on a quiet machine and several ms on a loaded one.
// The lead follows the observed lateness (its ~90th percentile, clamped to [0.2, 1] ms): where
// timers are punctual it spins little, where they are late it still ends on time. No CAF here:
// the owner arms its own timer (the stage worker: a delayed_send to itself) and reports ticks.

#include <cstdint>
#include <functional>
#include <map>

#include "actors/stage_timer.hpp"

namespace alpaserve::actors {

inline constexpr double min_timer_lead_s = 200e-6;
inline constexpr double max_timer_lead_s = 1e-3;

// Streaming estimate of the 90th percentile of timer lateness (stochastic approximation: a late
// sample pushes the estimate up 9x as hard as an early one pushes it down), clamped to
// [min_timer_lead_s, max_timer_lead_s].
class lateness_estimate {
 public:
  // One timer that was due at t fired at t + late (seconds; negative = early).
  void observe(double late) noexcept;
  // The current estimate: how early to arm a timer.
  [[nodiscard]] double q90() const noexcept { return q90_; }

 private:
  double q90_ = min_timer_lead_s;
};

// stage_timer on top of an owner-provided coarse timer. Concurrency: single-threaded; call_at,
// on_tick and the armed callbacks all run on the owner's thread (the actor).
class lead_timer final : public stage_timer {
 public:
  // Asks the owner to call on_tick(token) after delay_s seconds (the actor: delayed_send).
  using arm_fn = std::function<void(double delay_s, uint64_t token)>;
  // `clock`: monotonic seconds (default: steady_seconds); tests pass a fake one.
  explicit lead_timer(arm_fn arm, std::function<double()> clock = {});

  [[nodiscard]] double now() const override { return clock_(); }
  // More than the lead left: arms the owner's timer for (due - now - lead). Otherwise waits out
  // the rest yielding the thread and calls `fn` before returning.
  void call_at(double due, std::function<void()> fn) override;
  // The owner's timer for `token` fired: learns its lateness, then arms again or finishes as
  // call_at does. Unknown (already fired) tokens are ignored.
  void on_tick(uint64_t token);

  [[nodiscard]] const lateness_estimate& lateness() const noexcept { return lateness_; }
  // Callbacks not yet called.
  [[nodiscard]] size_t pending() const noexcept { return pending_.size(); }

 private:
  struct waiting {
    double due = 0;       // when to call fn
    double tick_due = 0;  // when the armed owner timer should fire
    std::function<void()> fn;
  };
  void wait(uint64_t token);

  arm_fn arm_;
  std::function<double()> clock_;
  lateness_estimate lateness_;
  std::map<uint64_t, waiting> pending_;  // by token
  uint64_t next_token_ = 0;
};

}  // namespace alpaserve::actors
