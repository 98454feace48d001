// The FCFS stage discipline (stage_queue) on the emulated executor, driven by a fake timer so
// queue and run times are exact: order across several models with interleaved arrivals, tasks
// failed upstream passing through in their place, runs that fail here.

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/lead_timer.hpp"
#include "actors/stage_executor.hpp"
#include "actors/stage_queue.hpp"

using namespace alpaserve;
using actors::stage_job;

namespace {

// Fires callbacks only when the test advances its clock, in due order.
class fake_timer final : public actors::stage_timer {
 public:
  [[nodiscard]] double now() const override { return now_; }
  void call_at(double due, std::function<void()> fn) override { due_.emplace(due, std::move(fn)); }
  void advance_to(double t) {
    while (!due_.empty() && due_.begin()->first <= t) {
      auto it = due_.begin();
      now_ = std::max(now_, it->first);
      std::function<void()> fn = std::move(it->second);
      due_.erase(it);
      fn();
    }
    now_ = std::max(now_, t);
  }
  [[nodiscard]] size_t pending() const { return due_.size(); }

 private:
  double now_ = 0;
  std::multimap<double, std::function<void()>> due_;
};

actors::stage_spec emulated_spec(const std::map<std::string, double>& latency) {
  actors::stage_spec spec;
  spec.group = 2;
  spec.stage = 1;
  spec.num_stages = 3;
  spec.backend = "emulated";
  for (const auto& [model, s] : latency) {
    actors::stage_shard_spec shard;
    shard.model = model;
    shard.latency_s = s;
    shard.weight_bytes = 1e6;
    spec.shards.push_back(shard);
  }
  return spec;
}

struct left_stage {
  stage_job job;
  double at = 0;  // fake time it left the stage
};

// An emulated stage on a fake timer with a queue whose completions come straight back (the
// timer calls back on the owner's thread).
struct emulated_stage {
  fake_timer timer;
  actors::emulated_executor executor{timer};
  std::vector<left_stage> out;
  std::optional<actors::stage_queue> queue;

  explicit emulated_stage(const std::map<std::string, double>& latency) {
    std::vector<actors::shard_failure> failed{{"sentinel", "load never reported"}};
    executor.load(emulated_spec(latency),
                  [&](std::vector<actors::shard_failure> f) { failed = std::move(f); });
    REQUIRE(failed.empty());
    queue.emplace(
        executor,
        [this](uint64_t token, actors::stage_run_result r) {
          REQUIRE(queue->complete(token, std::move(r)));
        },
        [this](stage_job j) {
          out.push_back({std::move(j), timer.now()});
        },
        [this] { return timer.now(); });
  }
  void arrive(double t, stage_job job) {
    timer.advance_to(t);
    queue->enqueue(std::move(job));
  }
};

stage_job job(uint64_t id, const std::string& model) {
  stage_job j;
  j.request_id = id;
  j.model = model;
  j.payload = "payload-" + std::to_string(id);
  return j;
}

}  // namespace

TEST_CASE("stage_queue: FCFS over several models with interleaved arrivals, exact times") {
  const std::map<std::string, double> latency = {{"a", 0.010}, {"b", 0.004}, {"c", 0.020}};
  emulated_stage st(latency);
  struct arrival {
    double t;
    uint64_t id;
    std::string model;
  };
  // Arrivals while busy (1-3), one after a completion but while still busy (4), one at an idle
  // stage (5), and two at the same instant (6, 7).
  const std::vector<arrival> arrivals = {{0.000, 1, "a"}, {0.001, 2, "b"}, {0.002, 3, "c"},
                                         {0.012, 4, "a"}, {0.050, 5, "b"}, {0.051, 6, "c"},
                                         {0.051, 7, "a"}};
  for (const auto& a : arrivals) {
    st.arrive(a.t, job(a.id, a.model));
    CHECK(st.queue->busy());
  }
  CHECK(st.queue->length() == 3);  // 5 runs until 0.054, 6 and 7 wait
  st.timer.advance_to(1.0);
  CHECK_FALSE(st.queue->busy());
  CHECK(st.queue->length() == 0);
  CHECK(st.timer.pending() == 0);

  // The oracle: one server, FCFS, service time = the model's latency.
  REQUIRE(st.out.size() == arrivals.size());
  double free_at = 0, busy = 0;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    const auto& a = arrivals[i];
    const double start = std::max(a.t, free_at);
    const double run = latency.at(a.model);
    free_at = start + run;
    busy += run;
    const auto& got = st.out[i];
    INFO("request " << a.id);
    CHECK(got.job.request_id == a.id);
    CHECK(got.job.error.empty());
    CHECK(got.job.payload == "payload-" + std::to_string(a.id));  // emulated: passed through
    REQUIRE(got.job.queue_s.size() == 1);
    REQUIRE(got.job.run_s.size() == 1);
    REQUIRE(got.job.nominal_s.size() == 1);
    CHECK(got.job.queue_s[0] == Approx(start - a.t).margin(1e-12));
    CHECK(got.job.run_s[0] == Approx(run).margin(1e-12));
    CHECK(got.job.nominal_s[0] == run);
    CHECK(got.at == Approx(free_at).margin(1e-12));
  }
  // Spot checks of the oracle itself: request 4 waited for 2 and 3 (ends 0.014 and 0.034).
  CHECK(st.out[3].job.queue_s[0] == Approx(0.034 - 0.012).margin(1e-12));
  CHECK(st.out[4].job.queue_s[0] == Approx(0.0).margin(1e-12));
  CHECK(st.queue->processed() == arrivals.size());
  CHECK(st.queue->busy_seconds() == Approx(busy).margin(1e-12));
}

TEST_CASE("stage_queue: this stage appends to the times of earlier stages") {
  emulated_stage st({{"a", 0.003}});
  stage_job j = job(1, "a");
  j.queue_s = {0.5};
  j.run_s = {0.25};
  j.nominal_s = {0.2};
  st.arrive(0.0, std::move(j));
  st.timer.advance_to(1.0);
  REQUIRE(st.out.size() == 1);
  CHECK(st.out[0].job.queue_s == std::vector<double>{0.5, 0.0});
  CHECK(st.out[0].job.run_s == std::vector<double>{0.25, 0.003});
  CHECK(st.out[0].job.nominal_s == std::vector<double>{0.2, 0.003});
}

TEST_CASE("stage_queue: tasks failed upstream pass through untouched, in their FCFS place") {
  emulated_stage st({{"a", 0.010}});
  auto failed = [](uint64_t id) {
    stage_job j = job(id, "a");
    j.error = "stage 0: bad input " + std::to_string(id);
    j.queue_s = {0.1};
    j.run_s = {0.2};
    j.nominal_s = {0.3};
    j.envelope = std::string("reply-to-") + std::to_string(id);
    return j;
  };
  st.arrive(0.000, failed(1));  // idle stage: leaves at once
  REQUIRE(st.out.size() == 1);
  CHECK(st.out[0].at == 0.0);
  st.arrive(0.001, job(2, "a"));
  st.arrive(0.002, failed(3));
  st.arrive(0.003, job(4, "a"));
  st.arrive(0.004, failed(5));
  st.timer.advance_to(1.0);

  REQUIRE(st.out.size() == 5);
  std::vector<uint64_t> order;
  for (const auto& o : st.out) order.push_back(o.job.request_id);
  CHECK(order == std::vector<uint64_t>{1, 2, 3, 4, 5});
  for (size_t i : {0u, 2u, 4u}) {
    const stage_job& j = st.out[i].job;
    const std::string id = std::to_string(j.request_id);
    INFO("request " << id);
    CHECK(j.error == "stage 0: bad input " + id);
    CHECK(j.payload == "payload-" + id);
    CHECK(j.queue_s == std::vector<double>{0.1});
    CHECK(j.run_s == std::vector<double>{0.2});
    CHECK(j.nominal_s == std::vector<double>{0.3});
    CHECK(std::any_cast<std::string>(j.envelope) == "reply-to-" + id);
  }
  // 3 left when 2 finished (it kept its place behind 2), 5 when 4 finished.
  CHECK(st.out[1].at == Approx(0.011).margin(1e-12));
  CHECK(st.out[2].at == st.out[1].at);
  CHECK(st.out[3].at == Approx(0.021).margin(1e-12));
  CHECK(st.out[4].at == st.out[3].at);
  CHECK(st.queue->processed() == 2);  // the passed-through tasks did not run
}

TEST_CASE("stage_queue: a run that fails here carries its error and the next task still runs") {
  emulated_stage st({{"a", 0.010}});
  st.arrive(0.000, job(1, "a"));
  st.arrive(0.001, job(2, "nobody"));  // this stage holds no shard of it
  st.arrive(0.002, job(3, "a"));
  st.timer.advance_to(1.0);
  REQUIRE(st.out.size() == 3);
  CHECK(st.out[0].job.error.empty());
  const stage_job& bad = st.out[1].job;
  CHECK(bad.request_id == 2);
  CHECK_THAT(bad.error, Catch::Contains("no shard of model 'nobody'"));
  CHECK(bad.payload.empty());
  // Times are recorded like any run: it waited for 1 and took no time.
  CHECK(bad.queue_s.at(0) == Approx(0.009).margin(1e-12));
  CHECK(bad.run_s.at(0) == 0.0);
  CHECK(bad.nominal_s.at(0) == 0.0);
  // 3 started as soon as 2 failed (a completion nested inside the start of 2).
  CHECK(st.out[2].job.request_id == 3);
  CHECK(st.out[2].job.queue_s.at(0) == Approx(0.008).margin(1e-12));
  CHECK(st.out[2].at == Approx(0.020).margin(1e-12));
}

TEST_CASE("stage_queue: a completion with an unknown token is ignored") {
  emulated_stage st({{"a", 0.010}});
  st.arrive(0.0, job(1, "a"));
  CHECK_FALSE(st.queue->complete(12345, {}));
  CHECK(st.queue->busy());
  CHECK(st.out.empty());
  st.timer.advance_to(1.0);
  CHECK(st.out.size() == 1);
}

TEST_CASE("emulated_executor: reports its shards' weights and nominal times, fails non-emulated") {
  emulated_stage st({{"a", 0.010}, {"b", 0.004}});
  CHECK(st.executor.weight_bytes() == 2000000);
  CHECK(st.executor.nominal_seconds("b") == 0.004);
  CHECK(st.executor.nominal_seconds("zzz") == 0.0);
  CHECK(st.executor.backend() == "emulated");

  fake_timer timer;
  actors::emulated_executor wrong(timer);
  auto spec = emulated_spec({{"a", 0.010}, {"b", 0.004}});
  spec.backend = "cpu";
  std::vector<actors::shard_failure> failed;
  wrong.load(spec, [&](std::vector<actors::shard_failure> f) { failed = std::move(f); });
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].model == "a");
  CHECK(failed[1].model == "b");
  CHECK_THAT(failed[0].error, Catch::Contains("group 2 stage 1") && Catch::Contains("'cpu'"));
  CHECK(wrong.weight_bytes() == 0);
}

TEST_CASE("make_stage_executor: picks by backend and rejects unknown ones") {
  fake_timer timer;
  CHECK(actors::make_stage_executor("emulated", timer, {})->backend() == "emulated");
  CHECK_THROWS_WITH(actors::make_stage_executor("tpu", timer, {}),
                    Catch::Contains("unknown stage backend 'tpu'"));
}

TEST_CASE(
    "stage_queue on lead_timer: emulated runs take their nominal time with a late owner timer") {
  // The actor's arrangement on a fake clock: the owner's timer (delayed_send) fires 0.4 ms late;
  // lead_timer arms early by its learned lead and spins out the rest, so every run lasts its
  // nominal time or a hair more (the clock advances 1 µs per reading while spinning), never less.
  double clock = 0;
  std::multimap<double, uint64_t> owner_timer;  // fire time -> lead_timer token
  constexpr double owner_late = 0.4e-3;
  actors::lead_timer timer(
      [&](double delay, uint64_t token) { owner_timer.emplace(clock + delay + owner_late, token); },
      [&] { return clock += 1e-6; });
  actors::emulated_executor executor(timer);
  executor.load(emulated_spec({{"a", 0.005}}),
                [](std::vector<actors::shard_failure> f) { REQUIRE(f.empty()); });
  std::vector<stage_job> out;
  std::optional<actors::stage_queue> queue;
  queue.emplace(
      executor,
      [&](uint64_t token, actors::stage_run_result r) { REQUIRE(queue->complete(token, r)); },
      [&](stage_job j) { out.push_back(std::move(j)); }, [&] { return clock; });
  const int n = 200;
  for (int i = 0; i < n; ++i) queue->enqueue(job(static_cast<uint64_t>(i), "a"));
  while (!owner_timer.empty()) {  // the owner's event loop
    auto it = owner_timer.begin();
    clock = std::max(clock, it->first);
    const uint64_t token = it->second;
    owner_timer.erase(it);
    timer.on_tick(token);
  }
  REQUIRE(out.size() == static_cast<size_t>(n));
  size_t on_time = 0;
  for (const auto& j : out) {
    CHECK(j.run_s.at(0) >= 0.005);
    on_time += j.run_s.at(0) < 0.005 + 10e-6 ? 1 : 0;
  }
  // Until the lead has learned the 0.4 ms lateness the first runs end late; then all are on time.
  CHECK(on_time > static_cast<size_t>(n) * 3 / 4);
  CHECK(timer.lateness().q90() >= owner_late - 5e-6);  // oscillates by a step around it
  CHECK(timer.lateness().q90() < owner_late + 50e-6);
}
