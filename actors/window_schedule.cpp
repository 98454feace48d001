#include "actors/window_schedule.hpp"

#include <cmath>

namespace alpaserve::actors {

size_t window_schedule::due(double now) const noexcept {
  if (!zero) return 0;
  return planner::window_at(schedule.start_times, clock(now));
}

std::optional<size_t> window_schedule::switch_due(double now) const noexcept {
  if (!zero || switching) return std::nullopt;
  const size_t d = due(now);
  if (d <= serving || d >= num_windows()) return std::nullopt;
  return d;
}

std::optional<double> window_schedule::until_next(double now) const noexcept {
  if (!zero) return std::nullopt;
  const double t = clock(now);
  const double next = planner::next_window_start(schedule.start_times, t);
  if (!std::isfinite(next)) return std::nullopt;
  return next - t;
}

size_t window_schedule::next_index(double now) const noexcept {
  if (!zero) return 0;
  const size_t d = due(now);
  return d + 1 < schedule.start_times.size() ? d + 1 : 0;
}

}  // namespace alpaserve::actors
