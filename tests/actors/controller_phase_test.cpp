#include <catch2/catch.hpp>

#include <initializer_list>
#include <set>
#include <string>
#include <utility>

#include "actors/controller_phase.hpp"

using namespace alpaserve;
using actors::controller_event;
using actors::controller_phase;
using E = controller_event;
using P = controller_phase;

namespace {

// Applies `steps` from `from`, requiring each event to be valid and to land on the phase given.
controller_phase walk(controller_phase from,
                      std::initializer_list<std::pair<controller_event, controller_phase>> steps) {
  controller_phase at = from;
  for (const auto& [event, expected] : steps) {
    INFO(std::string(to_string(at)) + " --" + std::string(to_string(event)) + "-->");
    const auto next = actors::transition(at, event);
    REQUIRE(next.has_value());
    CHECK(*next == expected);
    at = *next;
  }
  return at;
}

std::vector<controller_phase> all_phases() {
  std::vector<controller_phase> out;
  for (size_t i = 0; i < actors::num_controller_phases; ++i)
    out.push_back(static_cast<controller_phase>(i));
  return out;
}

std::vector<controller_event> all_events() {
  std::vector<controller_event> out;
  for (size_t i = 0; i < actors::num_controller_events; ++i)
    out.push_back(static_cast<controller_event>(i));
  return out;
}

}  // namespace

TEST_CASE(
    "controller start-up: waiting for nodes, planning, loading, wiring, installing, serving") {
  walk(P::waiting_for_nodes, {{E::node_registered, P::waiting_for_nodes},
                              {E::node_registered, P::waiting_for_nodes},
                              {E::all_registered, P::planning},
                              {E::placement_ready, P::loading},
                              {E::stage_failed, P::loading},  // that group is left out
                              {E::shards_loaded, P::wiring},
                              {E::wired, P::installing},
                              {E::routing_installed, P::serving}});
  // No phase of start-up serves requests, so a node loss there is not answered by a re-plan.
  for (P p : {P::waiting_for_nodes, P::planning, P::loading, P::wiring, P::installing}) {
    CHECK_FALSE(actors::serves_requests(p));
    CHECK_FALSE(actors::transition(p, E::node_lost));
  }
  // Every start-up failure is terminal, and nothing leaves `failed`.
  CHECK(actors::transition(P::planning, E::placement_invalid) == P::failed);
  CHECK(actors::transition(P::wiring, E::wiring_failed) == P::failed);
  CHECK(actors::transition(P::installing, E::routing_failed) == P::failed);
  for (E e : all_events()) CHECK_FALSE(actors::transition(P::failed, e));
  // A node registering once the placement is made is not used.
  CHECK_FALSE(actors::transition(P::planning, E::node_registered));
  CHECK_FALSE(actors::transition(P::serving, E::all_registered));
}

TEST_CASE("controller re-plan that switches: the old generation serves until the new table") {
  const P end = walk(P::serving, {{E::replan_tick, P::serving},
                                  {E::drift_detected, P::replanning},
                                  {E::replan_computed_switch, P::resharding_loading},
                                  {E::shards_loaded, P::resharding_wiring},
                                  {E::wired, P::resharding_installing},
                                  {E::routing_installed, P::serving}});
  CHECK(end == P::serving);
  for (P p :
       {P::replanning, P::resharding_loading, P::resharding_wiring, P::resharding_installing}) {
    CHECK(actors::serves_requests(p));
    CHECK(actors::replan_under_way(p));
    // Ticks are not valid while a re-plan is under way: the actor drops them and schedules
    // the next one when the phase is back to serving (one tick chain, never two).
    CHECK_FALSE(actors::transition(p, E::replan_tick));
    CHECK_FALSE(actors::transition(p, E::drift_detected));
  }
  CHECK(actors::serves_requests(P::serving));
  CHECK_FALSE(actors::replan_under_way(P::serving));
}

TEST_CASE("controller re-plan that is kept, or whose solver fails, goes back to serving") {
  walk(P::serving, {{E::drift_detected, P::replanning}, {E::replan_computed_keep, P::serving}});
  walk(P::serving, {{E::drift_detected, P::replanning}, {E::replan_failed, P::serving}});
  // A late re-plan answer after the phase moved on is rejected.
  CHECK_FALSE(actors::transition(P::serving, E::replan_computed_keep));
  CHECK_FALSE(actors::transition(P::serving, E::replan_computed_switch));
  CHECK_FALSE(actors::transition(P::resharding_loading, E::replan_computed_switch));
}

TEST_CASE("controller re-plan aborted when a new group fails to start keeps the old placement") {
  const auto to_resharding = [] {
    return walk(P::serving, {{E::drift_detected, P::replanning},
                             {E::replan_computed_switch, P::resharding_loading}});
  };
  walk(to_resharding(), {{E::stage_failed, P::serving}});
  walk(to_resharding(), {{E::placement_invalid, P::serving}});  // no layout on the nodes
  walk(to_resharding(), {{E::shards_loaded, P::resharding_wiring}, {E::wiring_failed, P::serving}});
  walk(to_resharding(), {{E::shards_loaded, P::resharding_wiring},
                         {E::wired, P::resharding_installing},
                         {E::routing_failed, P::serving}});
  // After an abort, the aborted generation's late answers are not valid in serving.
  for (E late : {E::shards_loaded, E::stage_failed, E::wired, E::wiring_failed,
                 E::routing_installed, E::routing_failed})
    CHECK_FALSE(actors::transition(P::serving, late));
}

TEST_CASE("controller node loss while serving and while re-planning") {
  // Serving: the loss starts a re-plan on the nodes left, which always switches.
  walk(P::serving, {{E::node_lost, P::replanning},
                    {E::replan_computed_switch, P::resharding_loading},
                    {E::shards_loaded, P::resharding_wiring},
                    {E::wired, P::resharding_installing},
                    {E::routing_installed, P::serving}});
  // While a re-plan is under way the loss keeps the phase (the actor remembers it) and is
  // handled as a fresh node_lost once the phase is back to serving.
  for (P p : {P::replanning, P::resharding_loading, P::resharding_wiring, P::resharding_installing})
    CHECK(actors::transition(p, E::node_lost) == p);
  walk(P::replanning, {{E::node_lost, P::replanning},
                       {E::replan_computed_keep, P::serving},
                       {E::node_lost, P::replanning}});
  walk(P::resharding_wiring, {{E::node_lost, P::resharding_wiring},
                              {E::wiring_failed, P::serving},
                              {E::node_lost, P::replanning}});
  // The last node lost: nothing can serve, from any serving phase.
  for (P p : {P::serving, P::replanning, P::resharding_loading, P::resharding_wiring,
              P::resharding_installing})
    CHECK(actors::transition(p, E::all_nodes_lost) == P::failed);
}

TEST_CASE("controller node joining: re-placed onto at once when serving, else remembered") {
  // Serving: a node registering again (restarted, or back after a freeze or a partition) starts
  // a re-plan onto the enlarged set of nodes, which always switches.
  walk(P::serving, {{E::node_joined, P::replanning},
                    {E::replan_computed_switch, P::resharding_loading},
                    {E::shards_loaded, P::resharding_wiring},
                    {E::wired, P::resharding_installing},
                    {E::routing_installed, P::serving}});
  // During start-up steps and re-plans it keeps the phase; handled once serving.
  for (P p : {P::planning, P::loading, P::wiring, P::installing, P::replanning,
              P::resharding_loading, P::resharding_wiring, P::resharding_installing})
    CHECK(actors::transition(p, E::node_joined) == p);
  walk(P::resharding_loading, {{E::node_joined, P::resharding_loading},
                               {E::stage_failed, P::serving},
                               {E::node_joined, P::replanning}});
  // Waiting for nodes counts registrations instead; nothing joins a failed cluster.
  CHECK_FALSE(actors::transition(P::waiting_for_nodes, E::node_joined));
  CHECK_FALSE(actors::transition(P::failed, E::node_joined));
}

TEST_CASE("a restarted controller adopts the running placement only while waiting for nodes") {
  walk(P::waiting_for_nodes, {{E::node_registered, P::waiting_for_nodes},
                              {E::adopted, P::serving},
                              {E::node_lost, P::replanning}});
  for (P p : all_phases())
    if (p != P::waiting_for_nodes) CHECK_FALSE(actors::transition(p, E::adopted));
}

TEST_CASE("a time window starts only while serving and re-shards like a re-plan") {
  walk(P::serving, {{E::window_started, P::resharding_loading},
                    {E::shards_loaded, P::resharding_wiring},
                    {E::wired, P::resharding_installing},
                    {E::routing_installed, P::serving}});
  walk(P::serving, {{E::window_started, P::resharding_loading}, {E::stage_failed, P::serving}});
  for (P p : all_phases())
    if (p != P::serving) CHECK_FALSE(actors::transition(p, E::window_started));
}

TEST_CASE("controller transition table: every pair it does not list is rejected") {
  const auto rows = actors::controller_transitions();
  REQUIRE(rows.size > 0);
  std::set<std::pair<P, E>> listed;
  for (size_t i = 0; i < rows.size; ++i) {
    const auto& row = rows.rows[i];
    CHECK(listed.insert({row.from, row.event}).second);  // one row per pair
    CHECK(actors::transition(row.from, row.event) == row.to);
  }
  size_t rejected = 0;
  for (P p : all_phases()) {
    for (E e : all_events()) {
      if (listed.count({p, e})) continue;
      INFO(std::string(to_string(p)) + " / " + std::string(to_string(e)));
      CHECK_FALSE(actors::transition(p, e));
      ++rejected;
    }
  }
  CHECK(rejected + listed.size() == actors::num_controller_phases * actors::num_controller_events);
  CHECK(rejected > listed.size());  // most events belong to one or two phases

  // Every phase is reachable from start-up, and from every phase but `failed` the table leads
  // to serving or failed (no phase the controller could get stuck in).
  std::set<P> reached = {P::waiting_for_nodes};
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < rows.size; ++i)
      if (reached.count(rows.rows[i].from) && reached.insert(rows.rows[i].to).second) grew = true;
  }
  CHECK(reached.size() == actors::num_controller_phases);
  for (P start : all_phases()) {
    std::set<P> from = {start};
    for (bool grew = true; grew;) {
      grew = false;
      for (size_t i = 0; i < rows.size; ++i)
        if (from.count(rows.rows[i].from) && from.insert(rows.rows[i].to).second) grew = true;
    }
    INFO(to_string(start));
    CHECK((from.count(P::serving) || start == P::failed));
    CHECK(from.count(P::failed));
  }
}

TEST_CASE("controller phase names: distinct, and 'serving...' exactly where requests are served") {
  std::set<std::string> names;
  for (P p : all_phases()) {
    const std::string name(to_string(p));
    CHECK(names.insert(name).second);
    CHECK((name.rfind("serving", 0) == 0) == actors::serves_requests(p));
  }
  std::set<std::string> events;
  for (E e : all_events()) CHECK(events.insert(std::string(to_string(e))).second);
}
