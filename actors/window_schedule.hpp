#pragma once
// The controller's time windows (Clockwork++, docs/runtime.md "Time windows (Clockwork++)"),
// without CAF: which window's placement serves, which one is being realized, when the window
// clock started and what is due at a given time. actors/controller_windows.cpp acts on it.

#include <cstddef>
#include <optional>

#include "planner/policy/placement.hpp"

namespace alpaserve::actors {

struct window_schedule {
  planner::placement_with_replacement schedule;
  size_t serving = 0;               // the window whose placement the running generation is
  std::optional<size_t> switching;  // the window whose generation is being realized
  std::optional<double> zero;       // monotonic seconds at the window clock's zero

  [[nodiscard]] size_t num_windows() const noexcept { return schedule.placements.size(); }
  // Seconds on the window clock at monotonic time `now` (0 before the clock started).
  [[nodiscard]] double clock(double now) const noexcept { return zero ? now - *zero : 0.0; }
  // The window the schedule has in force at monotonic time `now`.
  [[nodiscard]] size_t due(double now) const noexcept;
  // The window to switch to at `now`: the one in force when it is later than the serving one
  // and no switch is under way (boundaries passed while a switch or a recovery was under way
  // are skipped: it goes straight to the window in force). None before the clock started.
  [[nodiscard]] std::optional<size_t> switch_due(double now) const noexcept;
  // Seconds from `now` until the next window starts; none after the last start (or before the
  // clock started).
  [[nodiscard]] std::optional<double> until_next(double now) const noexcept;
  // The index of the next window start after `now` (0 when there is none).
  [[nodiscard]] size_t next_index(double now) const noexcept;
};

}  // namespace alpaserve::actors
