#include <catch2/catch.hpp>

#include "planner/sim/batch_rule.hpp"

using namespace alpaserve::planner;

namespace {
config_profile profile_with(std::initializer_list<std::pair<int, std::vector<double>>> sizes) {
  config_profile p;
  for (const auto& [bs, lat] : sizes) p.latency[bs] = lat;
  p.weight_mem.assign(sizes.begin()->second.size(), 1.0);
  return p;
}
}  // namespace

TEST_CASE("batch_slot: the largest supported size at or below the count") {
  REQUIRE(batch_slot(0) == 0);
  REQUIRE(batch_slot(1) == 0);
  REQUIRE(batch_slot(3) == 1);
  REQUIRE(batch_slot(4) == 2);
  REQUIRE(batch_slot(15) == 3);
  REQUIRE(batch_slot(16) == 4);
  REQUIRE(batch_slot(1000) == 4);
}

TEST_CASE("fcfs_run stops at the first request that does not belong and at the cap") {
  const std::vector<int> models = {0, 0, 0, 1, 0};
  auto same = [&](size_t i) { return models[i] == models[0]; };
  REQUIRE(fcfs_run(0, 8, same) == 0);
  REQUIRE(fcfs_run(5, 8, same) == 3);  // request 3 is another model: FCFS is never broken
  REQUIRE(fcfs_run(5, 2, same) == 2);
  REQUIRE(fcfs_run(2, 8, same) == 2);  // only two have arrived
  REQUIRE(fcfs_run(5, 1, same) == 1);
}

TEST_CASE("choose_batch_size: largest profiled size that still meets the head's deadline") {
  const config_profile p =
      profile_with({{1, {0.1, 0.1}}, {2, {0.12, 0.12}}, {4, {0.2, 0.2}}, {8, {0.4, 0.4}}});
  const batch_latency_table t = batch_latency_table::of(&p);
  REQUIRE(t.largest_size() == 8);
  const dispatch_overheads o{0.0, 0.01, 0.02};  // finish = now + sum + 1 hop + reply
  // run 7 -> candidate 4: 0.4 + 0.01 + 0.02 = 0.43 <= 1
  REQUIRE(choose_batch_size(0.0, 7, 1.0, t, o) == 4);
  // run 16 -> 16 unprofiled, then 8: 0.83 <= 1
  REQUIRE(choose_batch_size(0.0, 16, 1.0, t, o) == 8);
  // deadline 0.5: 8 misses (0.83), 4 fits (0.43)
  REQUIRE(choose_batch_size(0.0, 16, 0.5, t, o) == 4);
  // deadline 0.3: 4 misses, 2 (0.27) fits
  REQUIRE(choose_batch_size(0.0, 16, 0.3, t, o) == 2);
  // already hopeless: the head runs alone
  REQUIRE(choose_batch_size(0.0, 16, 0.1, t, o) == 1);
  REQUIRE(choose_batch_size(0.0, 1, 10.0, t, o) == 1);
  // the earliest deadline of the candidate batch counts, not only the head's
  const std::vector<double> deadlines = {1.0, 1.0, 1.0, 1.0, 0.5, 1, 1, 1};
  auto earliest = [&](int size) {
    double d = deadlines[0];
    for (int i = 1; i < size; ++i) d = std::min(d, deadlines[static_cast<size_t>(i)]);
    return d;
  };
  REQUIRE(choose_batch_size(0.0, 8, t, o, earliest) == 4);
}

TEST_CASE("choose_batch_size: a profile without batch 2 skips to 1") {
  const config_profile p = profile_with({{1, {0.1}}, {4, {0.2}}});
  const batch_latency_table t = batch_latency_table::of(&p);
  REQUIRE(choose_batch_size(0.0, 3, 1.0, t, {}) == 1);
  REQUIRE(choose_batch_size(0.0, 5, 1.0, t, {}) == 4);
  REQUIRE(batch_finish(1.0, {0.1, 0.2}, {0.5, 0.01, 0.02}) == Approx(1.33));
}

TEST_CASE("batch-aware admission: a request joins the tail batch while it has not started") {
  const config_profile p = profile_with({{1, {0.1}}, {2, {0.12}}, {4, {0.2}}});
  const batch_latency_table t = batch_latency_table::of(&p);
  const std::vector<double>& lat1 = p.latency.at(1);
  std::vector<group_clock> clocks(1, group_clock(1));
  dispatch_candidate c{0, &lat1, &t, 4, 7};
  // 0: starts at once (0 - 0.1); 1: stage 0 busy -> a new tail batch at 0.1 (0.1 - 0.2)
  REQUIRE(admit_or_reject(0.0, 10, &c, 1, clocks, {}, dispatch_strategy::min_predicted_finish)
              .predicted_finish == Approx(0.1));
  REQUIRE(admit_or_reject(0.01, 10, &c, 1, clocks, {}, dispatch_strategy::min_predicted_finish)
              .predicted_finish == Approx(0.2));
  // 2 joins that batch (not started yet): batch of 2 runs 0.1 - 0.22
  REQUIRE(predict_join(0.02, 10, clocks[0], c, {}) == Approx(0.22));
  REQUIRE(admit_or_reject(0.02, 10, &c, 1, clocks, {}, dispatch_strategy::min_predicted_finish)
              .predicted_finish == Approx(0.22));
  REQUIRE(clocks[0].tail_count == 2);
  REQUIRE(clocks[0].free_at[0] == Approx(0.22));
  // 3 joins too, at the next profiled size >= 3 (4: 0.1 - 0.3)
  REQUIRE(predict_join(0.03, 10, clocks[0], c, {}) == Approx(0.3));
  // ... unless that breaks a deadline of the batch or its own
  REQUIRE(predict_join(0.03, 0.25, clocks[0], c, {}) < 0);
  // another model, or once the tail has started at stage 0, it cannot join
  dispatch_candidate other = c;
  other.model = 8;
  REQUIRE(predict_join(0.03, 10, clocks[0], other, {}) < 0);
  REQUIRE(predict_join(0.1, 10, clocks[0], c, {}) < 0);
  // batch-1 candidates never join
  dispatch_candidate plain{0, &lat1};
  REQUIRE(predict_join(0.03, 10, clocks[0], plain, {}) < 0);
  // a measured stage end later than the mirror forgets the tail
  observe_stage_end(clocks[0], 0, 0.5, 0.1, 0.1);
  REQUIRE(predict_join(0.03, 10, clocks[0], c, {}) < 0);
}
