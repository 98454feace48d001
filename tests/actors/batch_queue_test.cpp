#include <catch2/catch.hpp>

#include "actors/batch_queue.hpp"

using namespace alpaserve::actors;

namespace {
batch_model model(const std::string& name, int max_batch) {
  batch_model m;
  m.name = name;
  m.max_batch = max_batch;
  m.latency = {{0.1, 0.1}, {0.12, 0.12}, {0.2, 0.2}, {0.4, 0.4}, {}};
  return m;
}
}  // namespace

TEST_CASE("batch_queue: without batching every request goes out at once") {
  batch_queue q({model("a", 1)}, {});
  REQUIRE_FALSE(q.holds());
  q.push(1, "a", "k", 10);
  q.push(2, "a", "k", 10);
  REQUIRE(q.next(0) == std::vector<uint64_t>{1});
  REQUIRE(q.next(0) == std::vector<uint64_t>{2});  // stage 0 queues it itself
  REQUIRE(q.next(0).empty());
}

TEST_CASE("batch_queue: holds requests while stage 0 is busy, then batches the FCFS run") {
  batch_queue q({model("a", 8), model("b", 8)}, {0.0, 0.0, 0.0});
  REQUIRE(q.holds());
  q.push(1, "a", "k", 10);
  REQUIRE(q.next(0) == std::vector<uint64_t>{1});  // idle stage 0: runs alone
  for (uint64_t id = 2; id <= 6; ++id) q.push(id, "a", "k", 10);
  q.push(7, "b", "k", 10);
  q.push(8, "a", "k", 10);
  REQUIRE(q.next(0.1).empty());  // stage 0 busy
  q.stage0_free();
  // run of 5 a's -> batch of 4 (largest supported size <= 5)
  REQUIRE(q.next(0.1) == std::vector<uint64_t>{2, 3, 4, 5});
  q.stage0_free();
  REQUIRE(q.next(0.3) == std::vector<uint64_t>{6});  // b (7) ends the run
  q.stage0_free();
  REQUIRE(q.next(0.4) == std::vector<uint64_t>{7});
  q.stage0_free();
  REQUIRE(q.next(0.5) == std::vector<uint64_t>{8});
  REQUIRE(q.batches() == 5);
  REQUIRE(q.batched_requests() == 8);
}

TEST_CASE("batch_queue: keys split runs, deadlines bound the size, per-model caps apply") {
  batch_queue q({model("a", 2), model("c", 8)}, {0.0, 0.0, 0.0});
  q.push(1, "a", "x", 10);
  q.push(2, "a", "x", 10);
  q.push(3, "a", "x", 10);
  REQUIRE(q.next(0).size() == 2);  // cap 2
  q.stage0_free();
  q.push(4, "a", "y", 10);  // another input shape: cannot be concatenated with 3
  REQUIRE(q.next(0) == std::vector<uint64_t>{3});
  q.stage0_free();
  REQUIRE(q.next(0) == std::vector<uint64_t>{4});
  q.stage0_free();
  // deadline 0.3 for the 3rd request: batch 4 (0.4) misses it, 2 (0.24) fits
  q.push(5, "c", "x", 10);
  q.push(6, "c", "x", 10);
  q.push(7, "c", "x", 0.3);
  q.push(8, "c", "x", 10);
  REQUIRE(q.next(0) == std::vector<uint64_t>{5, 6});
}

TEST_CASE("batch_queue: remove, take_all, and unknown models that never batch") {
  batch_queue q({model("a", 8)}, {});
  q.push(1, "zz", "k", 10);
  q.push(2, "zz", "k", 10);
  q.push(3, "a", "k", 10);
  q.push(4, "a", "k", 10);
  REQUIRE(q.next(0) == std::vector<uint64_t>{1});
  q.stage0_free();
  REQUIRE(q.remove(2));
  REQUIRE_FALSE(q.remove(2));
  REQUIRE(q.waiting() == 2);
  REQUIRE(q.take_all() == std::vector<uint64_t>{3, 4});
  REQUIRE(q.waiting() == 0);
}

TEST_CASE("batch_queue: a model profiled at batch 1 only never holds requests") {
  batch_model m = model("a", 16);
  m.latency = {{0.1}, {}, {}, {}, {}};
  batch_queue q({m}, {});
  REQUIRE_FALSE(q.holds());
}

TEST_CASE("batch_queue: a model whose batches cost almost linearly never batches") {
  // 2 stages at 0.1 s; batch b costs 0.095 b per stage: a batch ends later than its members
  // pipelined one by one (planner::batch_no_later), whatever the deadline allows
  batch_model lin = model("lin", 16);
  lin.latency = {{0.1, 0.1}, {0.19, 0.19}, {0.38, 0.38}, {0.76, 0.76}, {1.52, 1.52}};
  batch_queue q({lin}, {});
  REQUIRE_FALSE(q.holds());  // served as without batching: nothing is held
  for (uint64_t id = 1; id <= 4; ++id) q.push(id, "lin", "k", 100);
  for (uint64_t id = 1; id <= 4; ++id) REQUIRE(q.next(0) == std::vector<uint64_t>{id});
  REQUIRE(q.batched_requests() == 4);
  REQUIRE(q.batches() == 4);

  // next to a sublinear model the group holds, and the linear one still goes one by one
  batch_queue both({lin, model("a", 8)}, {});
  REQUIRE(both.holds());
  for (uint64_t id = 1; id <= 3; ++id) both.push(id, "lin", "k", 100);
  for (uint64_t id = 4; id <= 7; ++id) both.push(id, "a", "k", 100);
  for (uint64_t id = 1; id <= 3; ++id) {
    REQUIRE(both.next(0) == std::vector<uint64_t>{id});
    both.stage0_free();
  }
  REQUIRE(both.next(0) == std::vector<uint64_t>{4, 5, 6, 7});
}

#include "actors/batch_tensor.hpp"
#include "net/tensor_wire.hpp"

TEST_CASE("batch_tensor: keys, concatenation along dimension 0 and the split back") {
  const std::vector<float> a = {1, 2, 3}, b = {4, 5, 6, 7, 8, 9};
  const std::string ta = alpaserve::net::encode_f32({1, 3}, a.data());
  const std::string tb = alpaserve::net::encode_f32({2, 3}, b.data());
  const std::string tc = alpaserve::net::encode_f32({1, 4}, b.data());
  REQUIRE(batch_key(ta) == batch_key(tb));
  REQUIRE(batch_key(ta) != batch_key(tc));
  REQUIRE(batch_key("junk").empty());
  REQUIRE(batch_rows(tb) == 2);
  std::string error;
  const std::string cat = concat_batch({ta, tb}, &error);
  REQUIRE(error.empty());
  auto t = alpaserve::net::decode_tensor(cat);
  REQUIRE(t->shape == std::vector<int64_t>{3, 3});
  const auto parts = split_batch(cat, {1, 2}, &error);
  REQUIRE(parts == std::vector<std::string>{ta, tb});
  REQUIRE(concat_batch({ta, tc}, &error).empty());
  REQUIRE_FALSE(error.empty());
  error.clear();
  REQUIRE(split_batch(cat, {1, 1}, &error).empty());
  REQUIRE_THAT(error, Catch::Contains("3 rows for 2 input rows"));
}
