#include "actors/controller_phase.hpp"

#include <iterator>

namespace alpaserve::actors {

namespace {

using P = controller_phase;
using E = controller_event;

// The whole life cycle. Start-up failures are terminal (the cluster never served); failures of
// a re-plan abandon it and go back to serving the running placement (make before break: the old
// generation is untouched until the new routing table is installed). A node lost or (re)joining
// during a re-plan or a start-up step keeps the phase; the actor re-plans for it once the phase
// is back to serving (actors/membership.hpp plan_recovery).
constexpr controller_transition table[] = {
    {P::waiting_for_nodes, E::node_registered, P::waiting_for_nodes},
    {P::waiting_for_nodes, E::all_registered, P::planning},
    // A restarted controller adopts the running placement instead of placing afresh.
    {P::waiting_for_nodes, E::adopted, P::serving},

    {P::planning, E::placement_ready, P::loading},
    {P::planning, E::placement_invalid, P::failed},
    // A node (re)joining during start-up is remembered and placed onto once serving.
    {P::planning, E::node_joined, P::planning},

    {P::loading, E::stage_failed, P::loading},  // its group is left out, the others serve
    {P::loading, E::shards_loaded, P::wiring},
    {P::loading, E::node_joined, P::loading},

    {P::wiring, E::wired, P::installing},
    {P::wiring, E::wiring_failed, P::failed},
    {P::wiring, E::node_joined, P::wiring},

    {P::installing, E::routing_installed, P::serving},
    {P::installing, E::routing_failed, P::failed},
    {P::installing, E::node_joined, P::installing},

    {P::serving, E::replan_tick, P::serving},  // the actor asks for the observed traffic
    {P::serving, E::drift_detected, P::replanning},
    {P::serving, E::node_lost, P::replanning},
    {P::serving, E::node_joined, P::replanning},  // re-place onto the enlarged set of nodes
    {P::serving, E::all_nodes_lost, P::failed},
    {P::serving, E::window_started, P::resharding_loading},  // the window's placement

    {P::replanning, E::replan_computed_keep, P::serving},
    {P::replanning, E::replan_computed_switch, P::resharding_loading},
    {P::replanning, E::replan_failed, P::serving},
    {P::replanning, E::node_lost, P::replanning},
    {P::replanning, E::node_joined, P::replanning},  // remembered
    {P::replanning, E::all_nodes_lost, P::failed},

    // The new placement could not be laid out on the nodes: nothing was sent, keep the old one.
    {P::resharding_loading, E::placement_invalid, P::serving},
    {P::resharding_loading, E::stage_failed, P::serving},  // abandon: stop the new groups
    {P::resharding_loading, E::shards_loaded, P::resharding_wiring},
    {P::resharding_loading, E::node_lost, P::resharding_loading},
    {P::resharding_loading, E::node_joined, P::resharding_loading},  // remembered
    {P::resharding_loading, E::all_nodes_lost, P::failed},

    {P::resharding_wiring, E::wired, P::resharding_installing},
    {P::resharding_wiring, E::wiring_failed, P::serving},  // abandon
    {P::resharding_wiring, E::node_lost, P::resharding_wiring},
    {P::resharding_wiring, E::node_joined, P::resharding_wiring},  // remembered
    {P::resharding_wiring, E::all_nodes_lost, P::failed},

    {P::resharding_installing, E::routing_installed, P::serving},  // retire the old generation
    {P::resharding_installing, E::routing_failed, P::serving},     // abandon
    {P::resharding_installing, E::node_lost, P::resharding_installing},
    {P::resharding_installing, E::node_joined, P::resharding_installing},  // remembered
    {P::resharding_installing, E::all_nodes_lost, P::failed},
};

// One row per (phase, event) at most, so the table reads as a function.
constexpr bool rows_are_unique() {
  for (size_t i = 0; i < std::size(table); ++i)
    for (size_t j = i + 1; j < std::size(table); ++j)
      if (table[i].from == table[j].from && table[i].event == table[j].event) return false;
  return true;
}
static_assert(rows_are_unique(), "two rows for one (phase, event) pair");

// `failed` is terminal: no row leaves it.
constexpr bool failed_is_terminal() {
  for (const auto& row : table)
    if (row.from == P::failed) return false;
  return true;
}
static_assert(failed_is_terminal(), "a row leaves the failed phase");

}  // namespace

std::optional<controller_phase> transition(controller_phase from, controller_event event) noexcept {
  for (const auto& row : table)
    if (row.from == from && row.event == event) return row.to;
  return std::nullopt;
}

controller_transition_table controller_transitions() noexcept {
  return {table, std::size(table)};
}

bool serves_requests(controller_phase p) noexcept {
  return p == P::serving || replan_under_way(p);
}

bool replan_under_way(controller_phase p) noexcept {
  return p == P::replanning || p == P::resharding_loading || p == P::resharding_wiring ||
         p == P::resharding_installing;
}

std::string_view to_string(controller_phase p) noexcept {
  switch (p) {
    case P::waiting_for_nodes:
      return "waiting for nodes";
    case P::planning:
      return "planning";
    case P::loading:
      return "loading shards";
    case P::wiring:
      return "wiring pipelines";
    case P::installing:
      return "installing routing";
    case P::serving:
      return "serving";
    case P::replanning:
      return "serving (re-planning)";
    case P::resharding_loading:
      return "serving (re-sharding: loading shards)";
    case P::resharding_wiring:
      return "serving (re-sharding: wiring pipelines)";
    case P::resharding_installing:
      return "serving (re-sharding: installing routing)";
    case P::failed:
      return "failed";
  }
  return "unknown phase";
}

std::string_view to_string(controller_event e) noexcept {
  switch (e) {
    case E::node_registered:
      return "node_registered";
    case E::all_registered:
      return "all_registered";
    case E::placement_ready:
      return "placement_ready";
    case E::placement_invalid:
      return "placement_invalid";
    case E::stage_failed:
      return "stage_failed";
    case E::shards_loaded:
      return "shards_loaded";
    case E::wired:
      return "wired";
    case E::wiring_failed:
      return "wiring_failed";
    case E::routing_installed:
      return "routing_installed";
    case E::routing_failed:
      return "routing_failed";
    case E::replan_tick:
      return "replan_tick";
    case E::drift_detected:
      return "drift_detected";
    case E::replan_computed_keep:
      return "replan_computed_keep";
    case E::replan_computed_switch:
      return "replan_computed_switch";
    case E::replan_failed:
      return "replan_failed";
    case E::node_lost:
      return "node_lost";
    case E::all_nodes_lost:
      return "all_nodes_lost";
    case E::node_joined:
      return "node_joined";
    case E::adopted:
      return "adopted";
    case E::window_started:
      return "window_started";
  }
  return "unknown event";
}

}  // namespace alpaserve::actors
