#include "actors/lead_timer.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <utility>

namespace alpaserve::actors {

void lateness_estimate::observe(double late) noexcept {
  constexpr double step = 20e-6;
  q90_ += late > q90_ ? 0.9 * step : -0.1 * step;
  q90_ = std::clamp(q90_, min_timer_lead_s, max_timer_lead_s);
}

lead_timer::lead_timer(arm_fn arm, std::function<double()> clock)
    : arm_(std::move(arm)),
      clock_(clock ? std::move(clock) : std::function<double()>(steady_seconds)) {
  if (!arm_) throw std::invalid_argument("lead_timer: no function to arm the owner's timer");
}

void lead_timer::call_at(double due, std::function<void()> fn) {
  const uint64_t token = ++next_token_;
  pending_[token] = waiting{due, 0, std::move(fn)};
  wait(token);
}

void lead_timer::on_tick(uint64_t token) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;
  lateness_.observe(clock_() - it->second.tick_due);
  wait(token);
}

void lead_timer::wait(uint64_t token) {
  auto it = pending_.find(token);
  const double now = clock_();
  const double left = it->second.due - now;
  const double lead = lateness_.q90();
  if (left > lead) {
    it->second.tick_due = now + (left - lead);
    arm_(left - lead, token);
    return;
  }
  while (clock_() < it->second.due) std::this_thread::yield();
  std::function<void()> fn = std::move(it->second.fn);
  pending_.erase(it);  // before fn: it may call call_at again
  fn();
}

}  // namespace alpaserve::actors
