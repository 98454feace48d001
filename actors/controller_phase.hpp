#pragma once
// The controller's life cycle as an explicit state machine, without CAF: which phase it is in
// (waiting for nodes, starting the first placement, serving, re-planning and re-sharding while
// the running placement serves, failed) and which events move it between phases. The controller
// actor keeps the phase, feeds every outcome of its requests through `transition` and acts on
// the answer; an event the table does not list for the current phase is a late or stray answer
// (an older realization's reply, a tick after a node loss) that it logs and ignores.
// docs/runtime.md "Controller state machine" shows the table and what each phase means.

#include <cstddef>
#include <optional>
#include <string_view>

namespace alpaserve::actors {

enum class controller_phase {
  waiting_for_nodes,  // not every worker node of the config has registered yet
  planning,           // every node registered: computing the placement and its deployment plan
  loading,            // stage workers are being spawned and load their shards
  wiring,             // group managers spawned; each stage is told its next stage
  installing,         // the routing table is on its way to the dispatcher
  serving,            // the dispatcher routes to the running placement
  // The running placement keeps serving in every phase below until `failed`.
  replanning,             // a re-plan (traffic drift or node loss) runs on a background thread
  resharding_loading,     // the new generation's stage workers load their shards
  resharding_wiring,      // the new generation's pipelines are being wired
  resharding_installing,  // the routing table that switches to the new generation is on its way
  failed,                 // terminal: nothing serves (start-up failed or every node was lost)
};

enum class controller_event {
  node_registered,  // a worker node registered; others are still missing
  all_registered,   // the last missing worker node registered
  placement_ready,  // the placement and its deployment plan are computed
  // The placement cannot be realized (solver error, placement problems, no layout on the nodes,
  // a model without a profile for its group's config); nothing was sent.
  placement_invalid,
  // A stage could not be started, or (while re-sharding) one of its shards failed to load. At
  // start-up its group is left out of the routing table and the others serve; while re-sharding
  // it abandons the re-plan.
  stage_failed,
  shards_loaded,           // every spawn_stage of the generation was answered
  wired,                   // every stage_wire was acknowledged
  wiring_failed,           // a stage_wire failed
  routing_installed,       // the dispatcher accepted the routing table
  routing_failed,          // the dispatcher did not accept it
  replan_tick,             // time to compare the observed traffic with the plan
  drift_detected,          // the traffic drifted: re-plan
  replan_computed_keep,    // the new placement is not worth switching to
  replan_computed_switch,  // the new placement (or the one after a node loss) is to be realized
  replan_failed,           // the solver threw
  node_lost,               // a worker node's agent went down and others are left
  all_nodes_lost,          // the last live worker node's agent went down
  // A worker node registered (again) after the first placement: restarted, or back after being
  // frozen or cut off past the heartbeat bound. Serving: re-place onto the enlarged set of
  // nodes; during a start-up step or a re-plan: remembered, handled once serving.
  node_joined,
  // A restarted controller found the cluster still serving the placement its deployment record
  // names and adopted it (docs/runtime.md "Controller loss"); lost groups are re-placed once
  // serving, like a node loss.
  adopted,
  // A time window of the running schedule starts (docs/runtime.md "Time windows (Clockwork++)"):
  // its placement is realized as a new generation, as a re-plan's is (make before break).
  window_started,
};

inline constexpr size_t num_controller_phases = static_cast<size_t>(controller_phase::failed) + 1;
inline constexpr size_t num_controller_events =
    static_cast<size_t>(controller_event::window_started) + 1;

// One row of the transition table.
struct controller_transition {
  controller_phase from;
  controller_event event;
  controller_phase to;
};

// The phase `event` leads to from `from`; nullopt when the table has no such row (the event is
// not valid in that phase: the caller logs it and changes nothing). A row whose `to` equals its
// `from` is a valid event that keeps the phase (a registration, a loss noted for later).
[[nodiscard]] std::optional<controller_phase> transition(controller_phase from,
                                                         controller_event event) noexcept;

// Every row, in table order (docs and tests walk it).
struct controller_transition_table {
  const controller_transition* rows;
  size_t size;
};
[[nodiscard]] controller_transition_table controller_transitions() noexcept;

// True in the phases where the dispatcher routes to a running placement (serving, re-planning
// and re-sharding): a node loss or a node joining there is answered by a re-plan.
[[nodiscard]] bool serves_requests(controller_phase p) noexcept;
// True while a re-plan is computed or its new generation realized: the old generation serves,
// a node loss is remembered and handled once the phase is back to serving.
[[nodiscard]] bool replan_under_way(controller_phase p) noexcept;

// For logs and `inspect`: "waiting for nodes", "loading shards", "serving",
// "serving (re-sharding: loading shards)", "failed" (the caller appends counts and reasons).
[[nodiscard]] std::string_view to_string(controller_phase p) noexcept;
[[nodiscard]] std::string_view to_string(controller_event e) noexcept;

}  // namespace alpaserve::actors
