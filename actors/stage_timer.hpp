#pragma once
// "Call me back at monotonic time T": what the emulated stage executor needs from its owner to
// let a stage's profiled time elapse without sleeping or owning a thread. The stage worker
// implements it with lead_timer (a delayed_send sent early by a learned lead); tests drive it
// with a fake clock. No CAF here.

#include <functional>

namespace alpaserve::actors {

// Seconds on the process's monotonic clock (std::chrono::steady_clock, the clock of
// monotonic_seconds()).
[[nodiscard]] double steady_seconds() noexcept;

class stage_timer {
 public:
  virtual ~stage_timer();
  // Monotonic seconds on the timer's clock.
  [[nodiscard]] virtual double now() const = 0;
  // Calls `fn` once, on the owner's thread, at `due` or as soon after as the timer can. May call
  // it before returning when `due` is (nearly) reached already.
  virtual void call_at(double due, std::function<void()> fn) = 0;
};

}  // namespace alpaserve::actors
