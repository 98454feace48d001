// The stage worker's protocol (emulated backend), message by message, on the deterministic
// scheduler: stage_load -> stage_ready, stage_wire -> true, tasks run FCFS, each emulated run
// ending through a delayed stage_done_tick the test fires from the coordinator's clock.
//
// The emulated run ends on the real steady clock (actors/lead_timer.hpp waits out the last
// < 1 ms spinning): the test sleeps past each stage time before it fires the tick, so every tick
// finishes its run at once. Which run ends next and what leaves the stage in which order is
// decided by the messages alone.

#include <chrono>
#include <thread>

#include "actors/stage_worker.hpp"
#include "deterministic.hpp"

using namespace alpaserve;
using dettest::ask;

namespace {

net::shard_spec shard(const std::string& model, double latency_s) {
  net::shard_spec s;
  s.model = model;
  s.latency_s = latency_s;
  s.weight_bytes = 1e6;
  return s;
}

net::stage_task task(uint64_t id, const std::string& model) {
  net::stage_task t;
  t.request_id = id;
  t.model = model;
  t.payload = "input " + std::to_string(id);
  return t;
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

}  // namespace

TEST_CASE("stage worker (emulated): load, wire, and FCFS order through timer ticks") {
  dettest::fixture fx;
  net::spawn_stage spec;
  spec.group = 3;
  spec.stage = 1;
  spec.num_stages = 2;
  spec.devices = {0};
  spec.backend = "emulated";
  // Three models with different stage times: an order by stage time (or LIFO) would differ
  // from the arrival order used below.
  spec.shards = {shard("slow", 0.006), shard("mid", 0.004), shard("fast", 0.002)};
  const auto ranks = actors::spawn_stage_ranks(fx.sys(), spec, {"n0", 16e9, "127.0.0.1"});
  REQUIRE(ranks.size() == 1);
  const net::stage_actor worker = fx.track(ranks[0]);
  fx.run();
  CHECK(dettest::status_of(fx, worker).state == "loading");

  // stage_load: the emulated executor loads synchronously and answers stage_ready.
  auto loaded = ask<net::stage_ready>(fx, worker, net::stage_load{});
  fx.step();
  fx.expect_next<net::stage_load>(worker);
  fx.run();
  REQUIRE(loaded->values.size() == 1);
  CHECK(loaded->values[0].worker.address() == worker.address());
  CHECK(loaded->values[0].failed_models.empty());
  CHECK(dettest::status_of(fx, worker).state == "idle");

  // stage_wire: finished tasks go to the sink.
  auto out = std::make_shared<std::vector<net::stage_task>>();
  auto sink = dettest::spawn_sink(fx, out);
  auto wired = ask<bool>(fx, worker, net::stage_wire{sink});
  fx.run();
  REQUIRE(wired->values.size() == 1);
  CHECK(wired->values[0]);

  // Three tasks arrive back to back: 1 (slow) runs, 2 (mid) and 3 (fast) wait in that order.
  caf::anon_send(worker, task(1, "slow"));
  caf::anon_send(worker, task(2, "mid"));
  caf::anon_send(worker, task(3, "fast"));
  fx.run();
  CHECK(out->empty());
  CHECK(fx.sched().has_pending_timeout());  // task 1's stage_done_tick
  {
    const auto st = dettest::status_of(fx, worker);
    CHECK(st.state == "busy");
    CHECK(st.queue_length == 3);
  }

  // Each step: the stage time passes, the test fires the worker's tick, the finished task
  // leaves for the sink, and the next one in arrival order starts (arming the next tick).
  const std::vector<std::pair<uint64_t, double>> expected = {{1, 0.006}, {2, 0.004}, {3, 0.002}};
  for (size_t k = 0; k < expected.size(); ++k) {
    const auto [id, stage_s] = expected[k];
    INFO("step " << k << ": task " << id);
    CHECK(!fx.sched().has_job());
    REQUIRE(fx.sched().has_pending_timeout());
    sleep_s(stage_s + 0.002);
    REQUIRE(fx.sched().trigger_timeouts() == 1);
    fx.expect_next<net::stage_done_tick>(worker);
    fx.step();
    const auto& leaving = fx.expect_next<net::stage_task>(sink);
    CHECK(leaving.request_id == id);
    fx.step();
    CHECK(!fx.sched().has_job());
    REQUIRE(out->size() == k + 1);
    CHECK(fx.sched().has_pending_timeout() == (k + 1 < expected.size()));
  }

  // Arrival order out, each with this stage's times appended.
  REQUIRE(out->size() == 3);
  double waited_before = 0;
  for (size_t k = 0; k < 3; ++k) {
    const auto& t = (*out)[k];
    INFO("task " << t.request_id);
    CHECK(t.request_id == expected[k].first);
    CHECK(t.payload == "input " + std::to_string(t.request_id));  // emulated: passed through
    CHECK(t.error.empty());
    REQUIRE(t.nominal_s.size() == 1);
    REQUIRE(t.run_s.size() == 1);
    REQUIRE(t.queue_s.size() == 1);
    CHECK(t.nominal_s[0] == expected[k].second);
    CHECK(t.run_s[0] >= expected[k].second);  // an emulated run never ends early
    // FCFS: each task waited at least for the runs of the tasks before it.
    CHECK(t.queue_s[0] >= waited_before * 0.99);
    waited_before += expected[k].second;
  }
  const auto st = dettest::status_of(fx, worker);
  CHECK(st.state == "idle");
  CHECK(st.queue_length == 0);
}

TEST_CASE("stage worker (emulated): a model it holds no shard of fails the task, in order") {
  dettest::fixture fx;
  net::spawn_stage spec;
  spec.backend = "emulated";
  spec.devices = {0};
  spec.shards = {shard("a", 0.002)};
  const net::stage_actor worker =
      fx.track(actors::spawn_stage_ranks(fx.sys(), spec, {"n0", 16e9, "127.0.0.1"})[0]);
  auto out = std::make_shared<std::vector<net::stage_task>>();
  auto loaded = ask<net::stage_ready>(fx, worker, net::stage_load{});
  auto wired = ask<bool>(fx, worker, net::stage_wire{dettest::spawn_sink(fx, out)});
  fx.run();
  REQUIRE(loaded->values.size() == 1);
  REQUIRE(wired->values.size() == 1);

  caf::anon_send(worker, task(1, "a"));
  caf::anon_send(worker, task(2, "unknown"));
  fx.run();
  CHECK(out->empty());  // task 2 waits behind task 1 even though it fails at once
  sleep_s(0.004);
  REQUIRE(fx.sched().trigger_timeouts() == 1);
  fx.run();
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].request_id == 1);
  CHECK((*out)[0].error.empty());
  CHECK((*out)[1].request_id == 2);
  CHECK((*out)[1].error.find("no shard of model 'unknown'") != std::string::npos);
}
