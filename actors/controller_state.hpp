#pragma once
// The controller actor's state and the functions its two files share (actors/controller.cpp:
// registration, traffic, re-planning; actors/controller_deploy.cpp: realizing a placement and
// retiring a generation). Internal to the controller.

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/controller_phase.hpp"
#include "actors/deployment_plan.hpp"
#include "actors/runtime_settings.hpp"
#include "actors/window_schedule.hpp"
#include "net/messages.hpp"

namespace alpaserve::actors {

// The result of a re-plan computed off the actor's thread (the policies take seconds).
struct replan_job {
  std::mutex mutex;
  std::string reason;  // the drift, or the lost and joined nodes
  // Recovery (a node lost or (re)joined): always switched to, onto `target` (with the
  // incarnation each node registered under).
  bool recovery = false;
  std::vector<node_devices> target;
  std::vector<uint64_t> target_incarnations;
  std::vector<planner::model_data> models;  // with the observed traffic
  std::optional<planner::placement> placement;
  double running_score = 0, new_score = 0;
  std::string error;
};

// One realized placement: its groups, their actors, and the node list the layout refers to.
struct generation {
  std::vector<group_layout> layout;
  std::vector<node_devices> nodes;     // what layout's node indices refer to
  std::vector<uint64_t> incarnations;  // [node] the registration each node was realized on
  planner::placement placement;
  int first_group = 0;                                // layout[g].group == first_group + g
  std::vector<std::vector<net::stage_actor>> stages;  // [group][stage] leaders
  std::vector<net::group_manager_actor> managers;     // [group]; null: the group does not serve
  std::vector<std::string> failed_groups;             // [group] why it does not serve, "" = fine
  // Groups drained and unloaded to make room for a re-shard (not routed to, their models are
  // "being re-sharded" until the new generation serves).
  std::set<size_t> withdrawn;
  // [group] the previous generation's group index it keeps running (no reload), -1: new.
  std::vector<int> kept;
  std::vector<std::map<std::string, std::string>> failed_models;  // [group] model -> load error
};

struct controller_state {
  std::string node;
  controller_settings settings;
  net::dispatcher_actor dispatcher;        // null until the dispatcher's node registered
  std::string dispatcher_node;             // where it runs (empty: this process)
  net::node_agent_actor dispatcher_agent;  // its node's agent (gets the record copies)
  net::rendezvous_actor rendezvous;        // where tensor-parallel ranks meet (Gloo / NCCL)
  controller_phase phase = controller_phase::waiting_for_nodes;
  std::string detail;  // appended to the phase in logs and inspect ("(2/3)", a failure's reason)

  struct member {
    node_devices devices;
    net::node_agent_actor agent;
    bool alive = true;
    uint64_t incarnation = 0;  // bumped on every registration (actors/membership.hpp)
  };
  std::unordered_map<std::string, member> members;
  planner::cluster_env env;  // what the nodes of `current` offer

  generation current;                  // serving (or being realized at start-up)
  std::optional<generation> previous;  // serving while its replacement is realized
  size_t pending = 0;                  // answers still expected in this step (spawns, wirings)
  // Bumped per realization and abort: an answer meant for an older one is ignored.
  uint64_t epoch = 0;
  // This controller's epoch (docs/runtime.md "Controller loss"): one more than the deployment
  // record's when it started; carried by every control message it sends.
  uint64_t controller_epoch = 1;
  // Set while a restarted controller waits for the nodes of the placement it found recorded:
  // the record, the stage leaders each node reported, and whether the adoption timer runs.
  std::optional<deployment_record> adopting;
  std::map<std::string, std::vector<net::running_stage>> reported;
  bool adopt_timer = false;
  // The epoch of the newest record read (its file at start, or a node's copy) but not written.
  uint64_t record_epoch = 0;
  // Group ids are never reused, so a retired group's late messages cannot be mistaken for a
  // new group's.
  int next_group_id = 0;

  // Re-planning (docs/runtime.md "Re-planning").
  std::vector<planner::model_data> planned;  // the traffic the running placement was made for
  uint64_t incarnations = 0;                 // registrations so far
  int recovery_failures = 0;      // consecutive abandoned recoveries (back off before the next)
  bool recovery_waiting = false;  // a delayed recovery check is scheduled
  bool recovering = false;        // the generation being realized is a recovery's
  std::shared_ptr<replan_job> job;
  uint64_t replans = 0, replans_kept = 0;
  // The switch under way (docs/runtime.md "Re-sharding real models"): when it began (steady
  // seconds), how room was made, and the models no group served while it ran.
  double switch_started_s = 0;
  std::string switch_mode;
  std::vector<std::string> switch_unavailable;
  // This switch starts every group afresh (a time window), keeping none of the previous ones.
  bool fresh_groups = false;
  // The running time-window schedule (actors/controller_windows.cpp); none for one placement.
  std::optional<window_schedule> windows;
  static inline const char* name = "controller";
};

using controller_self = net::controller_actor::stateful_pointer<controller_state>;

// Feeds `event` through the phase table. Returns false (and changes nothing) when the table
// has no row for it in the current phase. Logs the new phase and tells the dispatcher.
bool on_event(controller_self self, controller_event event, std::string detail = {});

// What the policies see of a set of nodes: their devices, the smallest memory, the largest node.
[[nodiscard]] planner::cluster_env cluster_of(const std::vector<node_devices>& nodes);

// controller_deploy.cpp: realizes `p` as the current generation (the previous one, when set,
// keeps serving until the new routing table is installed).
void realize_placement(controller_self self, const planner::placement& p);
// controller_deploy.cpp: switches from `previous` to `p` (current holds only the nodes). Real
// backends load beside the running groups when the devices hold both; otherwise the running
// groups in the way are drained and unloaded first (actors/reshard_plan.hpp).
void reshard_to(controller_self self, const planner::placement& p);
// Stops a generation's groups once each drained (accepted requests are never dropped).
void retire_generation(controller_self self, generation gen);
// controller.cpp: called whenever the phase is back to serving: starts a recovery when a node
// was lost or (re)joined meanwhile, else schedules the next traffic check.
void schedule_replan(controller_self self);
// Writes the deployment record (actors/deployment_record.hpp) for the running generation, or
// marks it not serving (`serving` false: an orderly stop). Logs, never throws.
void persist_record(controller_self self, bool serving);
// controller_deploy.cpp tells it a recovery's new generation was abandoned (back off).
void recovery_abandoned(controller_self self);

// controller_windows.cpp (docs/runtime.md "Time windows (Clockwork++)").
// The first placement when a schedule decides it (a segmented placement file, or the policy's
// whole result): window 0's, and st.windows is set when there are two or more windows. None:
// the caller places as before. Throws what the solver throws.
[[nodiscard]] std::optional<planner::placement> plan_windows(controller_self self);
// Called whenever the phase is back to serving with no recovery to start: starts the window
// clock (the first time), notes a switch that completed or was abandoned, switches when a
// window is due, else schedules the tick of the next window start.
void windows_on_serving(controller_self self);
// A tick arrived: true when it was a window's (a schedule runs and it is not the adoption or
// recovery timer's), after switching if a window is due.
bool window_tick(controller_self self);
// inspect: the window serving, the number of windows, the window clock.
void describe_windows(const controller_state& st, net::actor_status& a);

}  // namespace alpaserve::actors
