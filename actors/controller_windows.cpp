// Time windows (Clockwork++; docs/runtime.md "Time windows (Clockwork++)"): a schedule of
// placements, each in force from its window's start on the window clock, whose zero is when the
// first generation started serving. At each start the controller realizes the window's
// placement through the path re-plans use (realize_placement: make before break; the old
// generation drains). The plain decisions are actors/window_schedule.hpp.

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/actor_support.hpp"
#include "actors/controller_state.hpp"

namespace alpaserve::actors {
namespace {

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string describe_placement(const planner::placement& p,
                               const std::vector<planner::model_data>& models) {
  std::vector<std::string> groups;
  for (size_t g = 0; g < p.num_groups(); ++g) {
    std::vector<std::string> names;
    for (int m : p.group_models[g])
      names.push_back(m >= 0 && static_cast<size_t>(m) < models.size()
                          ? models[static_cast<size_t>(m)].name
                          : std::to_string(m));
    groups.push_back(fmt::format("{} [{}]", p.group_configs[g].to_string(), fmt::join(names, " ")));
  }
  return fmt::format("{}", fmt::join(groups, " | "));
}

// Realizes window k's placement as a new generation; the running one serves until the new
// routing table is installed, then drains (controller_deploy.cpp).
void start_window(controller_self self, size_t k) {
  auto& st = self->state;
  auto& w = *st.windows;
  const planner::placement& p = w.schedule.placements[k];
  const double now = monotonic_seconds();
  spdlog::info(
      "{}: controller: window {} of {} starts at {:.3f} s on the window clock (due at "
      "{:.3f} s): switching placement",
      st.node, k, w.num_windows(), w.clock(now), w.schedule.start_times[k]);
  const auto problems = planner::placement_problems(p, st.settings.models, st.env);
  if (!problems.empty()) {
    // After a node loss the recovered placement runs on fewer devices than the schedule's.
    spdlog::warn(
        "{}: controller: window {} does not fit the live nodes ({}); the running "
        "placement keeps serving",
        st.node, k, fmt::join(problems, "; "));
    w.serving = k;
    return windows_on_serving(self);
  }
  w.switching = k;
  on_event(self, controller_event::window_started, fmt::format(" (window {})", k));
  st.previous = std::move(st.current);
  st.current = generation{};
  st.current.nodes = st.previous->nodes;
  st.current.incarnations = st.previous->incarnations;
  st.env = cluster_of(st.current.nodes);
  // The re-shard path of re-plans (real weights make room when they do not fit beside), but
  // with fresh groups even where the window repeats one: the event simulator starts each
  // window's groups empty, and the runtime does the same.
  st.fresh_groups = true;
  reshard_to(self, p);
}

}  // namespace

std::optional<planner::placement> plan_windows(controller_self self) {
  auto& st = self->state;
  std::optional<planner::placement_with_replacement> schedule;
  if (st.settings.windows)
    schedule = st.settings.windows;
  else if (!st.settings.fixed_placement && st.settings.first_solver)
    schedule = st.settings.first_solver(st.settings.models, st.env);
  if (!schedule) return std::nullopt;
  if (const auto problems = planner::schedule_problems(*schedule); !problems.empty())
    throw std::invalid_argument(fmt::format("{}", fmt::join(problems, "; ")));
  if (schedule->placements.size() < 2) return schedule->placements.front();
  window_schedule w;
  w.schedule = std::move(*schedule);
  // The first windows in the log (a policy's schedule over its whole train workload can have
  // hundreds); inspect and the schedule file have the rest.
  constexpr size_t logged = 8;
  const size_t shown = std::min(logged, w.num_windows());
  const std::vector<double> first_starts(
      w.schedule.start_times.begin(),
      w.schedule.start_times.begin() + static_cast<std::ptrdiff_t>(shown));
  spdlog::info(
      "{}: controller: time windows: {} windows starting at {:.3f}{} s on the window clock "
      "(zero: when the first placement serves); drift re-planning is off",
      st.node, w.num_windows(), fmt::join(first_starts, ", "),
      shown < w.num_windows() ? ", ..." : "");
  for (size_t k = 0; k < shown; ++k)
    spdlog::info("{}: controller: window {} from {:.3f} s: {}", st.node, k,
                 w.schedule.start_times[k],
                 describe_placement(w.schedule.placements[k], st.settings.models));
  st.settings.replan_interval_s = 0;
  st.windows = std::move(w);
  return st.windows->schedule.placements.front();
}

void windows_on_serving(controller_self self) {
  auto& st = self->state;
  if (!st.windows || st.phase != controller_phase::serving) return;
  auto& w = *st.windows;
  const double now = monotonic_seconds();
  if (!w.zero) {
    w.zero = now;
    spdlog::info("{}: controller: window 0 of {} serving; window clock zero at unix {:.3f}",
                 st.node, w.num_windows(), unix_seconds());
  }
  if (w.switching) {
    const size_t k = *w.switching;
    w.switching.reset();
    w.serving = k;  // the schedule moves on either way
    if (!st.previous && st.current.placement == w.schedule.placements[k])
      spdlog::info("{}: controller: window {} of {} serving at {:.3f} s on the window clock",
                   st.node, k, w.num_windows(), w.clock(now));
    else
      spdlog::warn(
          "{}: controller: window {}'s placement could not be realized; the running "
          "placement keeps serving",
          st.node, k);
  }
  if (const auto k = w.switch_due(now)) return start_window(self, *k);
  if (const auto dt = w.until_next(now))
    self->delayed_send(self, seconds_span(*dt + 0.001), net::replan_tick{});
}

bool window_tick(controller_self self) {
  auto& st = self->state;
  if (!st.windows || st.adopt_timer || st.recovery_waiting) return false;
  windows_on_serving(self);  // not serving: it is called again once the phase is back
  return true;
}

void describe_windows(const controller_state& st, net::actor_status& a) {
  if (!st.windows) return;
  const auto& w = *st.windows;
  a.counters.push_back({"window", static_cast<double>(w.serving)});
  a.counters.push_back({"windows", static_cast<double>(w.num_windows())});
  a.counters.push_back({"window_clock_s", w.clock(monotonic_seconds())});
  a.state += fmt::format(" [window {} of {}{}]", w.serving, w.num_windows(),
                         w.switching ? fmt::format(", switching to {}", *w.switching) : "");
}

}  // namespace alpaserve::actors
