#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "actors/controller_phase.hpp"
#include "actors/membership.hpp"

using namespace alpaserve;
using actors::controller_phase;
using actors::join_action;
using actors::member_view;
using actors::placed_node;

TEST_CASE("recovery: nothing to do while every placed node is alive under its incarnation") {
  const std::vector<std::string> expected = {"n0", "n1"};
  const std::map<std::string, member_view> members = {{"n0", {true, 1}}, {"n1", {true, 2}}};
  const auto rp = actors::plan_recovery(expected, {{"n0", 1}, {"n1", 2}}, members);
  CHECK_FALSE(rp.needed());
  CHECK(rp.target == expected);
}

TEST_CASE("recovery: groups left drained by an abandoned re-shard need a new placement") {
  const std::map<std::string, member_view> members = {{"n0", {true, 1}}, {"n1", {true, 2}}};
  auto rp = actors::plan_recovery({"n0", "n1"}, {{"n0", 1}, {"n1", 2}}, members);
  REQUIRE_FALSE(rp.needed());
  rp.drained = true;
  CHECK(rp.needed());
  CHECK(rp.lost.empty());
  CHECK(rp.target == std::vector<std::string>{"n0", "n1"});
  CHECK(rp.describe() == "groups drained by an abandoned re-shard");
  rp.lost = {"n1"};
  CHECK(rp.describe() == "lost n1; groups drained by an abandoned re-shard");
}

TEST_CASE("recovery: a dead node is lost and the others are the target") {
  const std::map<std::string, member_view> members = {
      {"n0", {true, 1}}, {"n1", {false, 2}}, {"n2", {true, 3}}};
  const auto rp =
      actors::plan_recovery({"n0", "n1", "n2"}, {{"n0", 1}, {"n1", 2}, {"n2", 3}}, members);
  CHECK(rp.needed());
  CHECK(rp.lost == std::vector<std::string>{"n1"});
  CHECK(rp.joined.empty());
  CHECK(rp.target == std::vector<std::string>{"n0", "n2"});
  CHECK(rp.describe() == "lost n1");
}

TEST_CASE(
    "recovery: a node registered again (restarted, or back after a freeze) is lost and "
    "joined") {
  // n1 was placed under incarnation 2 and registered again as 3 before its loss was seen.
  const std::map<std::string, member_view> members = {{"n0", {true, 1}}, {"n1", {true, 3}}};
  const auto rp = actors::plan_recovery({"n0", "n1"}, {{"n0", 1}, {"n1", 2}}, members);
  CHECK(rp.lost == std::vector<std::string>{"n1"});
  CHECK(rp.joined == std::vector<std::string>{"n1"});
  CHECK(rp.target == std::vector<std::string>{"n0", "n1"});  // config order
  CHECK(rp.describe() == "lost n1; joined n1");
}

TEST_CASE("recovery: after re-placing on the survivors, the node coming back only joins") {
  // The running generation is on n0 and n2 (n1 was lost); n1 registers again.
  const std::map<std::string, member_view> members = {
      {"n0", {true, 1}}, {"n1", {true, 4}}, {"n2", {true, 3}}};
  const auto rp = actors::plan_recovery({"n0", "n1", "n2"}, {{"n0", 1}, {"n2", 3}}, members);
  CHECK(rp.lost.empty());
  CHECK(rp.joined == std::vector<std::string>{"n1"});
  CHECK(rp.target == std::vector<std::string>{"n0", "n1", "n2"});
}

TEST_CASE("recovery: every node dead leaves no target and unknown placed nodes count as lost") {
  const std::map<std::string, member_view> members = {{"n0", {false, 1}}};
  const auto rp = actors::plan_recovery({"n0", "n1"}, {{"n0", 1}, {"n1", 2}}, members);
  CHECK(rp.lost == std::vector<std::string>{"n0", "n1"});
  CHECK(rp.target.empty());
}

TEST_CASE("a node joining is counted at start-up, placed at once when serving, else later") {
  CHECK(actors::on_node_join(controller_phase::waiting_for_nodes) == join_action::start_up);
  CHECK(actors::on_node_join(controller_phase::serving) == join_action::place_now);
  CHECK(actors::on_node_join(controller_phase::failed) == join_action::refuse);
  for (auto p : {controller_phase::planning, controller_phase::loading, controller_phase::wiring,
                 controller_phase::installing, controller_phase::replanning,
                 controller_phase::resharding_loading, controller_phase::resharding_wiring,
                 controller_phase::resharding_installing}) {
    CHECK(actors::on_node_join(p) == join_action::place_later);
    // The phase table agrees: the join is remembered, the phase kept.
    CHECK(actors::transition(p, actors::controller_event::node_joined) == p);
  }
  CHECK(actors::transition(controller_phase::serving, actors::controller_event::node_joined) ==
        controller_phase::replanning);
}

TEST_CASE("recovery back-off after abandoned recoveries: 1, 2, 4 ... at most 16 s") {
  CHECK(actors::recovery_backoff_s(1) == 1);
  CHECK(actors::recovery_backoff_s(2) == 2);
  CHECK(actors::recovery_backoff_s(3) == 4);
  CHECK(actors::recovery_backoff_s(10) == 16);
}
