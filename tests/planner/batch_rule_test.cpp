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

TEST_CASE("batch_no_later: a batch must free every stage no later than its members one by one") {
  // 2 balanced stages, batch-1 0.1 each: the 2nd of two requests sent one by one leaves stage 1
  // at 0.1 + 0.1 + 1 * 0.1 = 0.3.
  const std::vector<double> one = {0.1, 0.1};
  REQUIRE(batch_no_later({0.12, 0.12}, one, 2));        // 0.24 <= 0.3: strongly sublinear pays
  REQUIRE(batch_no_later({0.15, 0.15}, one, 2));        // 0.3 <= 0.3: equal is no later
  REQUIRE_FALSE(batch_no_later({0.16, 0.16}, one, 2));  // 0.32 > 0.3
  REQUIRE_FALSE(batch_no_later({0.19, 0.19}, one, 2));  // 0.95x linear: the batch delays
  // batch 16 at 0.92 x 16 batch-1 times (the zoo's bert-1.3b on V100): 2.944 > 0.2 + 15 * 0.1
  REQUIRE_FALSE(batch_no_later({1.472, 1.472}, one, 16));
  // one stage: no pipelining to lose, so any batch at most linear in cost pays
  REQUIRE(batch_no_later({0.19}, {0.1}, 2));
  REQUIRE(batch_no_later({1.6}, {0.1}, 16));
  REQUIRE_FALSE(batch_no_later({1.61}, {0.1}, 16));
  // every stage counts, not only the last: stage 0 of the batch (0.25) ends after the 2nd
  // one-by-one request leaves it (0.2), although the whole batch (0.55) beats 0.1 + 0.3 + 0.3
  REQUIRE_FALSE(batch_no_later({0.25, 0.3}, {0.1, 0.3}, 2));
  REQUIRE(batch_no_later({0.2, 0.35}, {0.1, 0.3}, 2));  // 0.2 <= 0.2, 0.55 <= 0.7
  // nothing to compare: the deadline alone decides
  REQUIRE(batch_no_later({0.5, 0.5}, {0.1}, 2));
  REQUIRE(batch_no_later({0.5, 0.5}, one, 1));
}

TEST_CASE("choose_batch_size: a profile almost linear in batch size on a pipeline never batches") {
  // 2 stages, each size costs 0.93 x size x batch-1 (as bert-1.3b / bert-2.6b on V100)
  config_profile p;
  for (int bs : {1, 2, 4, 8, 16}) {
    const double x = bs == 1 ? 0.1 : 0.093 * bs;
    p.latency[bs] = {x, x};
  }
  p.weight_mem = {1.0, 1.0};
  const batch_latency_table t = batch_latency_table::of(&p);
  REQUIRE(t.largest_size() == 16);
  REQUIRE(t.largest_paying_size() == 1);
  for (int slot = 1; slot < num_batch_slots; ++slot) REQUIRE_FALSE(t.pays(slot));
  // the deadline would allow batch 16 (finish 2.976 <= 100), batching does not pay: 1
  REQUIRE(choose_batch_size(0.0, 16, 100.0, t, {}) == 1);
  REQUIRE(choose_batch_size(0.0, 4, 100.0, t, {}) == 1);
  // admission predicts no batch either: the tail batch of 1 is not joined
  const std::vector<double>& lat1 = p.latency.at(1);
  std::vector<group_clock> clocks(1, group_clock(2));
  dispatch_candidate c{0, &lat1, &t, 16, 3};
  auto admit = [&](double now) {
    return admit_or_reject(now, 100, &c, 1, clocks, {}, dispatch_strategy::min_predicted_finish)
        .predicted_finish;
  };
  REQUIRE(admit(0.0) == Approx(0.2));
  REQUIRE(admit(0.01) == Approx(0.3));  // stage 0 busy until 0.1: a new tail at 0.1
  REQUIRE(predict_join(0.02, 100, clocks[0], c, {}) < 0);
  REQUIRE(admit(0.02) == Approx(0.4));  // pipelined behind it, one by one
  REQUIRE(clocks[0].tail_count == 1);
}

TEST_CASE(
    "choose_batch_size: strongly sublinear sizes batch, the sizes that do not pay are skipped") {
  // 2 stages, batch-1 0.1 each; 2 and 4 pay (0.24 <= 0.3, 0.4 <= 0.5), 8 does not (1.0 > 0.9)
  const config_profile p =
      profile_with({{1, {0.1, 0.1}}, {2, {0.12, 0.12}}, {4, {0.2, 0.2}}, {8, {0.5, 0.5}}});
  const batch_latency_table t = batch_latency_table::of(&p);
  REQUIRE(t.pays(1));
  REQUIRE(t.pays(2));
  REQUIRE_FALSE(t.pays(3));
  REQUIRE(t.largest_paying_size() == 4);
  REQUIRE(choose_batch_size(0.0, 16, 10.0, t, {}) == 4);
  REQUIRE(choose_batch_size(0.0, 8, 10.0, t, {}) == 4);
  REQUIRE(choose_batch_size(0.0, 3, 10.0, t, {}) == 2);
  REQUIRE(choose_batch_size(0.0, 16, 0.3, t, {}) == 2);  // the deadline still bounds it
  // admission joins up to a paying size only: the 5th request would need 8
  const std::vector<double>& lat1 = p.latency.at(1);
  std::vector<group_clock> clocks(1, group_clock(2));
  dispatch_candidate c{0, &lat1, &t, 8, 3};
  auto admit = [&](double now) {
    return admit_or_reject(now, 10, &c, 1, clocks, {}, dispatch_strategy::min_predicted_finish);
  };
  (void)admit(0.0);  // runs alone 0 - 0.2
  for (double now : {0.01, 0.02, 0.03, 0.04}) (void)admit(now);
  REQUIRE(clocks[0].tail_count == 4);  // a batch of 4 from stage 0's free time 0.1
  REQUIRE(clocks[0].free_at[1] == Approx(0.1 + 0.4));
  REQUIRE(predict_join(0.05, 10, clocks[0], c, {}) < 0);
}
