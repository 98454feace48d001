// real_executor on the cpu backend: loads and runs on its job thread, its output equals calling
// real_stage::run directly, per-model load failures, and stage_queue driving it with completions
// brought back to the test's thread the way the actor does (a mailbox).

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "actors/real_stage.hpp"
#include "actors/stage_executor.hpp"
#include "actors/stage_queue.hpp"
#include "net/tensor_wire.hpp"

using namespace alpaserve;
using namespace std::chrono_literals;

namespace {

actors::stage_shard_spec tiny_shard(const std::string& model, uint64_t seed) {
  actors::stage_shard_spec s;
  s.model = model;
  s.latency_s = 0.002;
  s.architecture = "bert-tiny";  // planner/model_zoo: the smallest real model
  s.seed = seed;
  s.layer_begin = 0;
  s.layer_end = 2;
  return s;
}

actors::stage_spec cpu_spec(std::vector<actors::stage_shard_spec> shards) {
  actors::stage_spec spec;
  spec.group = 5;
  spec.stage = 0;
  spec.num_stages = 2;
  spec.backend = "cpu";
  spec.devices = {0};
  spec.shards = std::move(shards);
  return spec;
}

std::string token_ids(std::vector<float> ids) {
  return net::encode_f32({1, static_cast<int64_t>(ids.size())}, ids.data());
}

struct load_outcome {
  std::vector<actors::shard_failure> failed;
  std::thread::id thread;
};

load_outcome load(actors::stage_executor& ex, const actors::stage_spec& spec) {
  std::promise<load_outcome> p;
  auto f = p.get_future();
  ex.load(spec, [&p](std::vector<actors::shard_failure> failed) {
    p.set_value({std::move(failed), std::this_thread::get_id()});
  });
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  return f.get();
}

// Completions from the job thread, taken on the test's thread (what the actor's mailbox does).
class mailbox {
 public:
  void push(uint64_t token, actors::stage_run_result r) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.emplace_back(token, std::move(r));
    }
    cv_.notify_one();
  }
  std::pair<uint64_t, actors::stage_run_result> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    REQUIRE(cv_.wait_for(lock, 60s, [this] { return !items_.empty(); }));
    auto item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, actors::stage_run_result>> items_;
};

}  // namespace

TEST_CASE("real_executor: a cpu run on its job thread equals real_stage::run") {
  const auto spec = cpu_spec({tiny_shard("tiny", 7)});
  actors::real_executor ex({});
  const load_outcome loaded = load(ex, spec);
  CHECK(loaded.failed.empty());
  CHECK(loaded.thread != std::this_thread::get_id());
  CHECK(ex.backend() == "cpu");
  CHECK(ex.allreduce() == "none");
  CHECK(ex.nominal_seconds("tiny") == 0.002);

  // The reference: the same plan loaded into a real_stage and run directly.
  actors::real_stage direct;
  REQUIRE(direct.load(actors::make_real_stage_plan(spec, {}), nullptr).empty());
  CHECK(ex.weight_bytes() == direct.weight_bytes());
  CHECK(ex.weight_bytes() > 0);

  const std::string input = token_ids({3, 1, 4, 1, 5, 9, 2, 6});
  std::promise<std::pair<actors::stage_run_result, std::thread::id>> p;
  auto f = p.get_future();
  ex.start({"tiny", input, {}}, [&p](actors::stage_run_result r) {
    p.set_value({std::move(r), std::this_thread::get_id()});
  });
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  auto [result, thread] = f.get();
  CHECK(thread == loaded.thread);  // the executor's job thread
  REQUIRE(result.error.empty());
  CHECK(result.device_shape.empty());
  CHECK(result.run_s > 0);
  const actors::real_stage::output expected = direct.run("tiny", input);
  REQUIRE(expected.error.empty());
  CHECK(result.payload == expected.payload);  // bit-identical bytes
  CHECK(actors::tensor_from_wire(result.payload).shape == std::vector<int64_t>{1, 8, 256});
}

TEST_CASE("real_executor: a shard that fails to load is reported by model, the others serve") {
  auto missing = tiny_shard("missing-file", 1);
  missing.weights_path = "/nonexistent/w.safetensors";
  actors::real_executor ex({});
  const load_outcome loaded = load(ex, cpu_spec({tiny_shard("tiny", 1), missing}));
  REQUIRE(loaded.failed.size() == 1);
  CHECK(loaded.failed[0].model == "missing-file");
  CHECK_THAT(loaded.failed[0].error,
             Catch::Contains("group 5 stage 0: shard of model 'missing-file' layers [0, 2)") &&
                 Catch::Contains("/nonexistent/w.safetensors"));

  std::promise<actors::stage_run_result> p;
  auto f = p.get_future();
  ex.start({"missing-file", token_ids({1, 2}), {}},
           [&p](actors::stage_run_result r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  CHECK_THAT(f.get().error, Catch::Contains("holds no shard of model 'missing-file'"));
}

TEST_CASE("real_executor: a spec that cannot become a plan fails every shard with the reason") {
  auto unknown = tiny_shard("odd", 1);
  unknown.architecture = "no-such-arch";
  actors::real_executor ex({});
  const load_outcome loaded = load(ex, cpu_spec({tiny_shard("tiny", 1), unknown}));
  REQUIRE(loaded.failed.size() == 2);
  CHECK(loaded.failed[0].model == "tiny");
  CHECK(loaded.failed[1].model == "odd");
  for (const auto& f : loaded.failed)
    CHECK_THAT(f.error, Catch::Contains("unknown model architecture 'no-such-arch'"));
  CHECK(loaded.thread != std::this_thread::get_id());  // reported like any load
  CHECK(ex.weight_bytes() == 0);

  actors::real_rank_options outside;
  outside.rank = 1;  // the stage has one device
  CHECK_THROWS_WITH(actors::make_real_stage_plan(cpu_spec({tiny_shard("tiny", 1)}), outside),
                    Catch::Contains("op rank 1 outside the stage's 1 devices"));
}

TEST_CASE("stage_queue on real_executor: FCFS, outputs as computed directly, queue = waiting") {
  const auto spec = cpu_spec({tiny_shard("x", 11), tiny_shard("y", 12)});
  // Before the executor: its job thread may still be inside push() when the last item was
  // taken, and the executor joins that thread when it goes.
  mailbox box;
  actors::real_executor ex({});
  REQUIRE(load(ex, spec).failed.empty());
  actors::real_stage direct;
  REQUIRE(direct.load(actors::make_real_stage_plan(spec, {}), nullptr).empty());

  std::vector<actors::stage_job> out;
  actors::stage_queue queue(
      ex, [&box](uint64_t token, actors::stage_run_result r) { box.push(token, std::move(r)); },
      [&out](actors::stage_job j) { out.push_back(std::move(j)); });
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"x", token_ids({1, 2, 3, 4})}, {"y", token_ids({5, 6, 7, 8})}, {"x", token_ids({9, 8})}};
  const double first_arrival = actors::steady_seconds();
  for (size_t i = 0; i < requests.size(); ++i) {
    actors::stage_job j;
    j.request_id = i + 1;
    j.model = requests[i].first;
    j.payload = requests[i].second;
    queue.enqueue(std::move(j));
  }
  // Request 1 may start on the job thread before 2 and 3 have arrived: at most this much early.
  const double arrival_spread = actors::steady_seconds() - first_arrival;
  // A task that failed upstream waits its turn behind the three.
  actors::stage_job failed;
  failed.request_id = 4;
  failed.model = "x";
  failed.error = "upstream";
  queue.enqueue(std::move(failed));
  CHECK(queue.length() == 4);
  while (out.size() < 4) {
    auto [token, result] = box.pop();
    REQUIRE(queue.complete(token, std::move(result)));
  }
  CHECK_FALSE(queue.busy());
  for (size_t i = 0; i < requests.size(); ++i) {
    INFO("request " << i + 1);
    CHECK(out[i].request_id == i + 1);
    REQUIRE(out[i].error.empty());
    CHECK(out[i].payload == direct.run(requests[i].first, requests[i].second).payload);
    CHECK(out[i].nominal_s == std::vector<double>{0.002});
  }
  CHECK(out[3].request_id == 4);
  CHECK(out[3].error == "upstream");
  CHECK(out[3].run_s.empty());
  // They arrived (nearly) together and ran one at a time: each waited in the stage at least as
  // long as the runs before it took, less the spread of the arrivals.
  CHECK(out[1].queue_s.at(0) >= out[0].run_s.at(0) - arrival_spread);
  CHECK(out[2].queue_s.at(0) >= out[0].run_s.at(0) + out[1].run_s.at(0) - arrival_spread);
  CHECK(out[0].run_s.at(0) > 0);
  CHECK(queue.processed() == 3);
}

TEST_CASE("real_executor: destroying it finishes the runs already started, callbacks included") {
  std::vector<std::string> outputs;
  std::mutex m;
  {
    actors::real_executor ex({});
    REQUIRE(load(ex, cpu_spec({tiny_shard("tiny", 3)})).failed.empty());
    for (float id : {1.0f, 2.0f, 3.0f})
      ex.start({"tiny", token_ids({id, id}), {}}, [&](actors::stage_run_result r) {
        std::lock_guard<std::mutex> lock(m);
        outputs.push_back(r.error.empty() ? r.payload : "error: " + r.error);
      });
  }  // joins the job thread after the three runs
  REQUIRE(outputs.size() == 3);
  for (const auto& o : outputs) CHECK_FALSE(o.rfind("error: ", 0) == 0);
  CHECK(outputs[0] != outputs[1]);  // different inputs, different outputs, in order started
}
