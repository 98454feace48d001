// The group manager's protocol, message by message, on the deterministic scheduler: requests go
// to stage 0, the last stage's hand-back answers the client, and a stage going down fails every
// in-flight request exactly once (later hand-backs of those requests answer nobody).

#include <map>
#include <string>

#include "actors/actor_support.hpp"
#include "actors/group_manager.hpp"
#include "deterministic.hpp"

using namespace alpaserve;
using dettest::ask;
using net::reply_status;

namespace {

net::group_request group_request(uint64_t id) {
  net::group_request r;
  r.request = {"a", id, "payload " + std::to_string(id), 0};
  r.admitted_at = 100.0;
  r.predicted_finish = 100.2;
  r.deadline = 101.0;
  return r;
}

// What the last stage hands back for the manager's sequence number `seq`.
net::stage_task finished(uint64_t seq) {
  net::stage_task t;
  t.request_id = seq;
  t.model = "a";
  t.payload = "result " + std::to_string(seq);
  t.queue_s = {0.001, 0.002};
  t.run_s = {0.010, 0.020};
  t.nominal_s = {0.010, 0.020};
  return t;
}

}  // namespace

TEST_CASE("group manager: a lost stage fails every in-flight request exactly once") {
  dettest::fixture fx;
  auto s0_log = std::make_shared<dettest::stage_log>();
  auto s1_log = std::make_shared<dettest::stage_log>();
  auto disp_log = std::make_shared<dettest::dispatcher_log>();
  auto s0 = dettest::spawn_fake_stage(fx, s0_log);
  auto s1 = dettest::spawn_fake_stage(fx, s1_log);
  auto dispatcher = dettest::spawn_fake_dispatcher(fx, disp_log);
  actors::group_manager_setup setup;
  setup.node = "n0";
  setup.group = 7;
  setup.description = "(1,1,2) on n0:0 | n0:1";
  setup.stages = {s0, s1};
  setup.dispatcher = dispatcher;
  auto manager = fx.track(actors::spawn_group_manager(fx.sys(), setup));
  fx.run();

  // Three requests, delegated to the manager: each becomes one stage_task to stage 0, numbered by
  // the manager's own sequence.
  std::map<uint64_t, std::shared_ptr<dettest::answers<net::infer_reply>>> clients;
  for (uint64_t id : {101, 102, 103}) {
    clients[id] = ask<net::infer_reply>(fx, manager, group_request(id));
    fx.step();  // the client sends
    fx.expect_next<net::group_request>(manager);
    fx.step();  // the manager sends the task down the pipeline
    const auto& task = fx.expect_next<net::stage_task>(s0);
    CHECK(task.request_id == s0_log->tasks.size() + 1);
    CHECK(task.payload == "payload " + std::to_string(id));
    fx.step();
  }
  fx.run();
  REQUIRE(s0_log->tasks.size() == 3);
  CHECK(s1_log->tasks.empty());  // stages pass tasks on themselves; the manager feeds stage 0
  for (auto& [id, c] : clients) CHECK(c->count() == 0);
  CHECK(dettest::status_of(fx, manager).queue_length == 3);

  // The last stage hands request 101 (sequence 1) back: its client gets the result, the
  // dispatcher the measured stage times.
  caf::anon_send(manager, finished(1));
  fx.run();
  REQUIRE(clients[101]->values.size() == 1);
  CHECK(clients[101]->values[0].request_id == 101);
  CHECK(clients[101]->values[0].status == reply_status::ok);
  CHECK(clients[101]->values[0].result == "result 1");
  CHECK(clients[101]->values[0].group == 7);
  CHECK(clients[101]->values[0].stage_run_s == std::vector<double>{0.010, 0.020});
  REQUIRE(disp_log->feedback.size() == 1);
  CHECK(disp_log->feedback[0].completed);
  CHECK(disp_log->feedback[0].group == 7);
  CHECK(disp_log->feedback[0].stage_end.size() == 2);

  // Stage 1's worker goes down: the manager learns it from its monitor.
  caf::anon_send_exit(s1, caf::exit_reason::kill);
  REQUIRE(fx.next_is(s1));
  fx.step();  // s1 takes the exit message and terminates
  const auto& down = fx.expect_next<caf::down_msg>(manager);
  CHECK(down.source == s1.address());
  fx.step();
  fx.run();

  // Requests 102 and 103 each got exactly one failed_node_lost; 101 still has its one answer.
  for (uint64_t id : {102, 103}) {
    INFO("request " << id);
    REQUIRE(clients[id]->count() == 1);
    REQUIRE(clients[id]->values.size() == 1);
    CHECK(clients[id]->values[0].request_id == id);
    CHECK(clients[id]->values[0].status == reply_status::failed_node_lost);
    CHECK(clients[id]->values[0].message.find("lost its stage 1") != std::string::npos);
  }
  CHECK(clients[101]->count() == 1);
  REQUIRE(disp_log->downs.size() == 1);
  CHECK(disp_log->downs[0].group == 7);
  REQUIRE(disp_log->feedback.size() == 3);  // one per failed request: frees its queue slot
  CHECK(!disp_log->feedback[1].completed);
  CHECK(!disp_log->feedback[2].completed);

  // A stage still holding those requests hands them back later: nobody is answered again.
  caf::anon_send(manager, finished(2));
  caf::anon_send(manager, finished(3));
  caf::anon_send(manager, finished(1));  // and one that was answered before the loss
  fx.run();
  for (auto& [id, c] : clients) {
    INFO("request " << id);
    CHECK(c->count() == 1);
    CHECK(fx.received_by(c->client) == 1);  // no second answer reached the client at all
  }
  CHECK(disp_log->feedback.size() == 3);
  CHECK(disp_log->downs.size() == 1);

  // A request delegated to the broken group is failed at once and goes nowhere.
  auto late = ask<net::infer_reply>(fx, manager, group_request(104));
  fx.run();
  REQUIRE(late->count() == 1);
  CHECK(fx.received_by(late->client) == 1);
  CHECK(late->values.at(0).status == reply_status::failed_node_lost);
  CHECK(s0_log->tasks.size() == 3);
  const auto st = dettest::status_of(fx, manager);
  CHECK(st.state.rfind("broken", 0) == 0);
  CHECK(st.queue_length == 0);
}

TEST_CASE("group manager: retiring answers once every in-flight request is answered") {
  dettest::fixture fx;
  auto s0_log = std::make_shared<dettest::stage_log>();
  auto disp_log = std::make_shared<dettest::dispatcher_log>();
  auto s0 = dettest::spawn_fake_stage(fx, s0_log);
  actors::group_manager_setup setup;
  setup.group = 3;
  setup.stages = {s0};
  setup.dispatcher = dettest::spawn_fake_dispatcher(fx, disp_log);
  auto manager = fx.track(actors::spawn_group_manager(fx.sys(), setup));
  auto client = ask<net::infer_reply>(fx, manager, group_request(1));
  fx.run();
  REQUIRE(s0_log->tasks.size() == 1);

  auto retired = ask<bool>(fx, manager, net::group_retire{});
  fx.run();
  CHECK(retired->count() == 0);  // one request still in flight
  CHECK(dettest::status_of(fx, manager).state == "retiring");

  net::stage_task t = finished(1);
  t.queue_s = {0.001};
  t.run_s = {0.010};
  t.nominal_s = {0.010};
  caf::anon_send(manager, t);
  fx.run();
  REQUIRE(client->values.size() == 1);
  CHECK(client->values[0].status == reply_status::ok);
  REQUIRE(retired->values.size() == 1);
  CHECK(retired->values[0]);
  CHECK(fx.received_by(retired->client) == 1);
  CHECK(fx.received_by(client->client) == 1);
}

TEST_CASE("group manager: the sweep fails a request past the request timeout, once") {
  dettest::fixture fx;
  auto s0_log = std::make_shared<dettest::stage_log>();
  auto disp_log = std::make_shared<dettest::dispatcher_log>();
  auto s0 = dettest::spawn_fake_stage(fx, s0_log);
  actors::group_manager_setup setup;
  setup.group = 2;
  setup.stages = {s0};
  setup.dispatcher = dettest::spawn_fake_dispatcher(fx, disp_log);
  setup.request_timeout_s = 5;
  auto manager = fx.track(actors::spawn_group_manager(fx.sys(), setup));
  // Admission times are on the process's monotonic clock: one request admitted 10 s ago, one now.
  net::group_request old_one = group_request(1);
  old_one.admitted_at = actors::monotonic_seconds() - 10;
  net::group_request new_one = group_request(2);
  new_one.admitted_at = actors::monotonic_seconds();
  auto old_client = ask<net::infer_reply>(fx, manager, old_one);
  auto new_client = ask<net::infer_reply>(fx, manager, new_one);
  fx.run();
  REQUIRE(s0_log->tasks.size() == 2);

  // The manager's sweep timer (1 s) fires when the test advances the coordinator's clock.
  CHECK(fx.sched().advance_time(std::chrono::seconds(1)) == 1);
  fx.expect_next<net::sweep_tick>(manager);
  fx.run();
  REQUIRE(old_client->values.size() == 1);
  CHECK(old_client->values[0].status == reply_status::failed_timeout);
  CHECK(new_client->count() == 0);
  CHECK(fx.sched().has_pending_timeout());  // the next sweep is armed

  // The late hand-back of the timed-out request answers nobody; the other one completes.
  net::stage_task t1 = finished(1), t2 = finished(2);
  for (auto* t : {&t1, &t2}) {
    t->queue_s = {0.001};
    t->run_s = {0.010};
    t->nominal_s = {0.010};
  }
  caf::anon_send(manager, t1);
  caf::anon_send(manager, t2);
  fx.run();
  CHECK(fx.received_by(old_client->client) == 1);
  CHECK(fx.received_by(new_client->client) == 1);
  REQUIRE(new_client->values.size() == 1);
  CHECK(new_client->values[0].status == reply_status::ok);
  REQUIRE(disp_log->feedback.size() == 2);
  CHECK(!disp_log->feedback[0].completed);
  CHECK(disp_log->feedback[1].completed);
}

#include "net/tensor_wire.hpp"

namespace {

std::string row(float v) {
  const std::vector<float> data = {v, v + 1, v + 2};
  return net::encode_f32({1, 3}, data.data());
}

net::group_request batch_request(uint64_t id) {
  net::group_request r;
  r.request = {"a", id, row(static_cast<float>(id)), 0};
  r.admitted_at = actors::monotonic_seconds();
  r.predicted_finish = r.admitted_at + 0.2;
  r.deadline = r.admitted_at + 10;
  return r;
}

}  // namespace

TEST_CASE("group manager: batches form while stage 0 is busy and each member is answered once") {
  dettest::fixture fx;
  auto s0_log = std::make_shared<dettest::stage_log>();
  auto s1_log = std::make_shared<dettest::stage_log>();
  auto disp_log = std::make_shared<dettest::dispatcher_log>();
  auto s0 = dettest::spawn_fake_stage(fx, s0_log);
  auto s1 = dettest::spawn_fake_stage(fx, s1_log);
  auto dispatcher = dettest::spawn_fake_dispatcher(fx, disp_log);
  actors::group_manager_setup setup;
  setup.group = 3;
  setup.stages = {s0, s1};
  setup.dispatcher = dispatcher;
  actors::batch_model a;
  a.name = "a";
  a.max_batch = 4;
  a.latency = {{0.01, 0.01}, {0.012, 0.012}, {0.02, 0.02}, {}, {}};
  setup.batching = {a};
  auto manager = fx.track(actors::spawn_group_manager(fx.sys(), setup));
  fx.run();

  std::map<uint64_t, std::shared_ptr<dettest::answers<net::infer_reply>>> clients;
  for (uint64_t id : {1, 2, 3}) clients[id] = ask<net::infer_reply>(fx, manager, batch_request(id));
  fx.run();
  // Stage 0 was idle: request 1 left alone; 2 and 3 wait for stage 0.
  REQUIRE(s0_log->tasks.size() == 1);
  CHECK(s0_log->tasks[0].batch_size == 1);
  CHECK(s0_log->tasks[0].payload == row(1));
  caf::anon_send(manager, net::stage_free{s0_log->tasks[0].request_id});
  fx.run();
  REQUIRE(s0_log->tasks.size() == 2);
  const net::stage_task batch = s0_log->tasks[1];
  CHECK(batch.batch_size == 2);
  auto input = net::decode_tensor(batch.payload);
  REQUIRE(input);
  CHECK(input->shape == std::vector<int64_t>{2, 3});

  // Both batches come back (the emulated stages pass the input through).
  net::stage_task back1 = s0_log->tasks[0];
  back1.run_s = back1.nominal_s = back1.queue_s = {0.01, 0.01};
  net::stage_task back2 = batch;
  back2.run_s = back2.nominal_s = back2.queue_s = {0.012, 0.012};
  caf::anon_send(manager, back1);
  caf::anon_send(manager, back2);
  caf::anon_send(manager, back2);  // a duplicate answers nobody
  fx.run();
  for (uint64_t id : {1, 2, 3}) {
    INFO("request " << id);
    REQUIRE(clients[id]->count() == 1);
    CHECK(fx.received_by(clients[id]->client) == 1);
    CHECK(clients[id]->values[0].status == reply_status::ok);
    CHECK(clients[id]->values[0].result == row(static_cast<float>(id)));
  }
  // One feedback per request; the batch's stage times travel once (with its first member).
  REQUIRE(disp_log->feedback.size() == 3);
  CHECK(disp_log->feedback[1].stage_end.size() == 2);
  CHECK(disp_log->feedback[2].stage_end.empty());

  // A batch in flight and requests waiting when a stage is lost: each answered exactly once.
  caf::anon_send(manager, net::stage_free{batch.request_id});
  for (uint64_t id : {4, 5, 6}) clients[id] = ask<net::infer_reply>(fx, manager, batch_request(id));
  fx.run();
  REQUIRE(s0_log->tasks.size() == 3);  // 4 runs; 5 and 6 wait
  const net::stage_task lost = s0_log->tasks[2];
  caf::anon_send_exit(s1, caf::exit_reason::kill);
  fx.run();
  caf::anon_send(manager, lost);  // comes back after the loss: answers nobody
  fx.run();
  for (uint64_t id : {4, 5, 6}) {
    INFO("request " << id);
    REQUIRE(clients[id]->count() == 1);
    CHECK(fx.received_by(clients[id]->client) == 1);
    CHECK(clients[id]->values[0].status == reply_status::failed_node_lost);
  }
  CHECK(s0_log->tasks.size() == 3);
}
