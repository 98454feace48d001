#include <catch2/catch.hpp>

#include "planner/sim/dispatch_rule.hpp"

using namespace alpaserve::planner;

TEST_CASE("predict_finish walks the stages: a request waits for each busy stage") {
  group_clock clock(2);
  clock.free_at = {1.0, 1.5};
  const std::vector<double> lat = {0.5, 0.5};
  // enters stage 0 at 1.0 (busy until then), leaves 1.5, stage 1 free at 1.5, leaves 2.0
  REQUIRE(predict_finish(0.2, clock, lat, {}) == Approx(2.0));
  // overheads: +0.1 before, +0.01 per hop, +0.02 after; stage 0 still gates at 1.0
  REQUIRE(predict_finish(0.2, clock, lat, {0.1, 0.01, 0.02}) == Approx(2.03));
}

TEST_CASE("admit_or_reject picks the earliest finisher and rejects without consuming capacity") {
  std::vector<group_clock> clocks(2, group_clock(1));
  clocks[0].free_at = {3.0};
  clocks[1].free_at = {1.0};
  const std::vector<double> lat = {1.0};
  dispatch_candidate cands[] = {{0, &lat}, {1, &lat}};

  auto d =
      admit_or_reject(0.0, 10.0, cands, 2, clocks, {}, dispatch_strategy::min_predicted_finish);
  REQUIRE(d.verdict == dispatch_verdict::admitted);
  REQUIRE(d.group == 1);
  REQUIRE(d.predicted_finish == Approx(2.0));
  REQUIRE(clocks[1].free_at[0] == Approx(2.0));

  // Deadline 2.5: best finish is 3.0 on group 1 -> rejected, and no clock moves.
  d = admit_or_reject(0.0, 2.5, cands, 2, clocks, {}, dispatch_strategy::min_predicted_finish);
  REQUIRE(d.verdict == dispatch_verdict::slo_unattainable);
  REQUIRE(clocks[0].free_at[0] == Approx(3.0));
  REQUIRE(clocks[1].free_at[0] == Approx(2.0));

  REQUIRE(admit_or_reject(0.0, 9.0, cands, 0, clocks, {}, dispatch_strategy::min_predicted_finish)
              .verdict == dispatch_verdict::no_replica);
}

TEST_CASE("the reference strategy dispatches by last-stage clock, ties to the first candidate") {
  // Group 0 is a 2-stage pipeline whose last stage frees later but whose finish would be earlier.
  std::vector<group_clock> clocks = {group_clock(2), group_clock(1)};
  clocks[0].free_at = {0.0, 0.6};
  clocks[1].free_at = {0.5};
  const std::vector<double> lat2 = {0.1, 0.1}, lat1 = {1.0};
  dispatch_candidate cands[] = {{0, &lat2}, {1, &lat1}};
  auto ref = choose_group(0.0, 9.0, cands, 2, clocks, {}, dispatch_strategy::min_last_stage_clock);
  REQUIRE(ref.group == 1);
  REQUIRE(ref.predicted_finish == Approx(1.5));
  auto ours = choose_group(0.0, 9.0, cands, 2, clocks, {}, dispatch_strategy::min_predicted_finish);
  REQUIRE(ours.group == 0);
  REQUIRE(ours.predicted_finish == Approx(0.7));

  clocks[0].free_at = {0.0, 0.5};  // equal last-stage clocks: the first candidate wins
  REQUIRE(
      choose_group(0.0, 9.0, cands, 2, clocks, {}, dispatch_strategy::min_last_stage_clock).group ==
      0);
}

TEST_CASE("observe_stage_end pushes a stale clock once and learns the latency scale") {
  group_clock clock(1);
  clock.free_at = {1.0};
  observe_stage_end(clock, 0, 1.4, 0.6, 0.4);
  REQUIRE(clock.free_at[0] == Approx(1.4));
  observe_stage_end(clock, 0, 1.4, 0.6, 0.4);  // same report again: no double push
  REQUIRE(clock.free_at[0] == Approx(1.4));
  REQUIRE(clock.latency_scale[0] > 1.0);
  REQUIRE(clock.latency_scale[0] < 1.5);
  for (int i = 0; i < 200; ++i) observe_stage_end(clock, 0, 0.0, 0.4, 0.4);
  REQUIRE(clock.latency_scale[0] == Approx(1.0).margin(1e-3));
}
