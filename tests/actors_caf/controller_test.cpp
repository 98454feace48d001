// The controller's protocol, message by message, on the deterministic scheduler: it walks its
// phases through start-up with node agent, stage and dispatcher doubles that answer only when
// the test says so, then a re-plan on traffic drift whose new generation fails to start (one
// spawn_stage answered with an error) is abandoned: back to serving on the old groups, the new
// ones retired, the dispatcher never given a second routing table.
//
// The re-plan runs on a background thread (actors/controller.cpp start_replan) that wakes the
// controller with replan_done. test_coordinator's job queue is not thread-safe, so the test
// never touches the scheduler while that thread may enqueue: the solver's re-plan call waits
// at a gate the test opens only once the scheduler is idle, and the test then waits (without
// touching the scheduler) until the thread has finished, seen through the thread's copy of the
// solver being released (after its replan_done was enqueued).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/controller.hpp"
#include "controller_fixtures.hpp"
#include "deterministic.hpp"
#include "planner/profile/reference_profiles.hpp"

using namespace alpaserve;
using dettest::ask;
using dettest::model;
using dettest::node_double;
using dettest::placement_of;

namespace {

// The placements the solver returns, call by call (the last one repeats). Calls after the first
// (the re-plans, on the controller's background thread) wait until the test opens the gate.
struct solver_script {
  std::vector<planner::placement> answers;
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::condition_variable cv;
  bool gate_open = false;

  void open_gate() {
    std::lock_guard<std::mutex> lock(mutex);
    gate_open = true;
    cv.notify_all();
  }
};

actors::placement_solver scripted_solver(std::shared_ptr<solver_script> script) {
  return [script](const std::vector<planner::model_data>&, const planner::cluster_env&) {
    const int call = ++script->calls;
    if (call > 1) {
      std::unique_lock<std::mutex> lock(script->mutex);
      script->cv.wait_for(lock, std::chrono::seconds(30), [&] { return script->gate_open; });
    }
    const size_t i = std::min<size_t>(static_cast<size_t>(call - 1), script->answers.size() - 1);
    return script->answers[i];
  };
}

// Opens the gate for the solver's call number `call` (a re-plan on the controller's background
// thread) and waits until that thread has finished: its copy of the solver (one reference to
// `script`) is released after its replan_done was enqueued. The scheduler must be idle and is not
// touched meanwhile (test_coordinator's job queue is not thread-safe).
void finish_replan_thread(const std::shared_ptr<solver_script>& script, int call) {
  const long idle_refs = script.use_count() - 1;  // the re-plan thread holds one more
  REQUIRE(idle_refs >= 1);
  script->open_gate();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((script->calls < call || script.use_count() != idle_refs) &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::atomic_thread_fence(std::memory_order_acquire);
  REQUIRE(script->calls == call);
  REQUIRE(script.use_count() == idle_refs);
  std::lock_guard<std::mutex> lock(script->mutex);
  script->gate_open = false;  // the next call waits for its own finish_replan_thread
}

}  // namespace

TEST_CASE("controller: start-up phases, then a re-plan aborted by a group that fails to start") {
  dettest::fixture fx;
  auto script = std::make_shared<solver_script>();
  // Start with model a only; the re-plan (b's traffic grew) places a and b together on one group
  // and b alone on another: no group of it repeats the running one, so both are new.
  script->answers = {placement_of({{0}}), placement_of({{0, 1}, {1}})};

  actors::controller_settings settings;
  settings.expected_nodes = {"n0", "n1"};
  settings.models = {model("test-2GB-100ms", "a"), model("test-4GB-150ms", "b")};
  settings.solver = scripted_solver(script);
  settings.policy_name = "scripted";
  settings.backend = "emulated";
  settings.replan_interval_s = 1000;  // enables re-planning; its own tick never fires here

  auto disp = std::make_shared<dettest::dispatcher_log>();
  disp->defer_routing = true;
  // b arrives at 4 r/s instead of the planned 1 r/s: drift.
  disp->traffic = {60.0, {"a", "b"}, {60, 240}, {1.0, 1.0}};
  auto dispatcher = dettest::spawn_fake_dispatcher(fx, disp);
  auto controller =
      fx.track(actors::spawn_controller(fx.sys(), "n0", std::move(settings), dispatcher));
  auto phase = [&] { return dettest::status_of(fx, controller).state; };
  fx.run();
  CHECK(phase() == "waiting for nodes (0/2)");
  CHECK(disp->progress == std::vector<std::string>{"waiting for nodes (0/2)"});

  std::vector<node_double> nodes(2);
  nodes[0].name = "n0";
  nodes[1].name = "n1";
  for (auto& n : nodes) n.agent = dettest::spawn_fake_agent(fx, n.log);
  auto register_node = [&](node_double& n) {
    auto accepted = ask<net::register_answer>(
        fx, controller, net::register_node{n.name, "emulated-v100", 1, 16e9, n.agent});
    fx.run();
    REQUIRE(accepted->values.size() == 1);
    CHECK(accepted->values[0].accepted);
  };
  auto spawns = [&] {
    std::vector<dettest::agent_log::spawn*> all;
    for (auto& n : nodes)
      for (auto& s : n.log->spawns) all.push_back(&s);
    return all;
  };

  // Answers a group's spawn_stage from inside the agent that was asked.
  auto deliver_spawn = [&](int32_t group, auto answer) {
    for (auto& n : nodes)
      for (auto& s : n.log->spawns)
        if (s.spec.group == group)
          dettest::run_in(n.agent, [p = s.promise, answer]() mutable { p.deliver(answer); });
  };

  // waiting for nodes -> (last node) planning -> loading shards: one spawn_stage, unanswered.
  register_node(nodes[0]);
  CHECK(phase() == "waiting for nodes (1/2)");
  CHECK(spawns().empty());
  register_node(nodes[1]);
  CHECK(phase() == "loading shards");
  CHECK(script->calls == 1);
  REQUIRE(spawns().size() == 1);
  {
    const auto& spec = spawns()[0]->spec;
    CHECK(spec.group == 0);
    CHECK(spec.backend == "emulated");
    REQUIRE(spec.shards.size() == 1);
    CHECK(spec.shards[0].model == "a");
  }
  const std::vector<std::string> startup = {"waiting for nodes (0/2)", "waiting for nodes (1/2)",
                                            "planning", "loading shards"};
  CHECK(disp->progress == startup);

  // The stage is loaded -> wiring pipelines: a group manager, one stage_wire, unanswered.
  auto s0_log = std::make_shared<dettest::stage_log>();
  s0_log->defer_wiring = true;
  auto s0 = dettest::spawn_fake_stage(fx, s0_log);
  {
    net::stage_ready ready;
    ready.worker = s0;
    deliver_spawn(0, ready);
  }
  fx.run();
  CHECK(phase() == "wiring pipelines");
  REQUIRE(s0_log->wires.size() == 1);
  REQUIRE(s0_log->wire_promises.size() == 1);
  CHECK(s0_log->wires[0].next);  // the last (only) stage sends its output to the manager
  CHECK(disp->tables.empty());

  // Wired -> installing routing: the routing table is at the dispatcher, unanswered.
  dettest::run_in(s0, [p = s0_log->wire_promises[0]]() mutable { p.deliver(true); });
  fx.run();
  CHECK(phase() == "installing routing");
  REQUIRE(disp->tables.size() == 1);
  REQUIRE(disp->routing_promises.size() == 1);
  const net::routing_table first = disp->tables[0];
  REQUIRE(first.groups.size() == 1);
  CHECK(first.groups[0].group == 0);
  CHECK(first.groups[0].models == std::vector<std::string>{"a"});
  CHECK(first.groups[0].manager);
  CHECK(first.groups[0].manager.address() == s0_log->wires[0].next.address());
  REQUIRE(first.models.size() == 2);  // every configured model, b not placed

  // Installed -> serving.
  dettest::run_in(dispatcher, [p = disp->routing_promises[0]]() mutable { p.deliver(true); });
  fx.run();
  CHECK(phase() == "serving");
  CHECK(disp->progress.back() == "serving");
  const size_t progress_at_serving = disp->progress.size();

  // A replan_tick: the controller asks the dispatcher for the traffic, sees b's drift and starts
  // the re-plan on its background thread (held at the solver's gate).
  caf::anon_send(controller, net::replan_tick{});
  fx.run();
  CHECK(disp->traffic_queries == 1);
  CHECK(phase() == "serving (re-planning)");
  CHECK(disp->tables.size() == 1);

  // Let the re-plan finish and wait for its replan_done to be enqueued (the scheduler is idle and
  // untouched meanwhile).
  finish_replan_thread(script, 2);
  fx.expect_next<net::replan_done>(controller);

  // replan_done: the new placement is worth switching to -> re-sharding: two new groups' stages
  // are spawned (ids 1 and 2: never reused), unanswered; the old group keeps serving.
  fx.run();
  CHECK(phase() == "serving (re-sharding: loading shards)");
  REQUIRE(spawns().size() == 3);
  std::vector<int32_t> new_groups = {spawns()[1]->spec.group, spawns()[2]->spec.group};
  std::sort(new_groups.begin(), new_groups.end());
  CHECK(new_groups == std::vector<int32_t>{1, 2});
  auto spawn_of = [&](int32_t group) {
    for (auto* s : spawns())
      if (s->spec.group == group) return s;
    FAIL("no spawn_stage for group " << group);
    return static_cast<dettest::agent_log::spawn*>(nullptr);
  };
  CHECK(spawn_of(2)->spec.shards.at(0).model == "b");

  // Group 2's stage cannot be started: nothing happens until every spawn is answered.
  deliver_spawn(2, caf::make_error(caf::sec::runtime_error, std::string("no device left")));
  fx.run();
  CHECK(phase() == "serving (re-sharding: loading shards)");

  // Group 1's stage loads: every spawn answered, one failed -> the re-plan is abandoned.
  auto s1_log = std::make_shared<dettest::stage_log>();
  auto s1 = dettest::spawn_fake_stage(fx, s1_log);
  {
    net::stage_ready ready;
    ready.worker = s1;
    deliver_spawn(1, ready);
  }
  fx.run();
  CHECK(phase() == "serving");
  CHECK(disp->tables.size() == 1);   // the dispatcher still routes by the first table
  CHECK(s1_log->wires.empty());      // the new group was never wired
  CHECK(s0_log->wires.size() == 1);  // the old one not rewired
  const std::vector<std::string> replan = {"serving (re-planning)",
                                           "serving (re-sharding: loading shards)", "serving"};
  REQUIRE(disp->progress.size() == progress_at_serving + replan.size());
  CHECK(std::equal(replan.begin(), replan.end(), disp->progress.begin() + progress_at_serving));

  // The new generation's stages are stopped on their nodes; the old group's are not.
  std::vector<int32_t> retired;
  for (auto& n : nodes) retired.insert(retired.end(), n.log->retired.begin(), n.log->retired.end());
  std::sort(retired.begin(), retired.end());
  CHECK(retired == std::vector<int32_t>{1, 2});

  // The controller counts one group and no completed re-plan.
  {
    const auto st = dettest::status_of(fx, controller);
    auto counter = [&](const std::string& name) {
      for (const auto& c : st.counters)
        if (c.name == name) return c.value;
      return -1.0;
    };
    CHECK(counter("groups") == 1);
    CHECK(counter("replans") == 0);
  }

  // The old group still serves: its manager takes a request and hands it to stage 0.
  net::group_request gr;
  gr.request = {"a", 42, "x", 0};
  auto served = ask<net::infer_reply>(fx, first.groups[0].manager, gr);
  fx.run();
  REQUIRE(s0_log->tasks.size() == 1);
  CHECK(served->count() == 0);  // answered once stage 0 hands it back
  CHECK(dettest::status_of(fx, first.groups[0].manager).state == "serving");
}

TEST_CASE(
    "controller: a node lost while serving re-plans onto the nodes left, a failed start "
    "keeps the running groups") {
  dettest::fixture fx;
  auto script = std::make_shared<solver_script>();
  // a on one device; after the loss, a and b together on the device left.
  script->answers = {placement_of({{0}}), placement_of({{0, 1}})};
  actors::controller_settings settings;
  settings.expected_nodes = {"n0", "n1"};
  settings.models = {model("test-2GB-100ms", "a"), model("test-4GB-150ms", "b")};
  settings.solver = scripted_solver(script);
  settings.backend = "emulated";
  settings.replan_interval_s = 1000;
  auto disp = std::make_shared<dettest::dispatcher_log>();
  auto dispatcher = dettest::spawn_fake_dispatcher(fx, disp);
  auto controller =
      fx.track(actors::spawn_controller(fx.sys(), "ctl", std::move(settings), dispatcher));
  auto phase = [&] { return dettest::status_of(fx, controller).state; };
  std::vector<node_double> nodes(2);
  nodes[0].name = "n0";
  nodes[1].name = "n1";
  for (auto& n : nodes) {
    n.agent = dettest::spawn_fake_agent(fx, n.log);
    auto accepted = ask<net::register_answer>(
        fx, controller, net::register_node{n.name, "emulated-v100", 1, 16e9, n.agent});
    fx.run();
    REQUIRE(accepted->values.size() == 1);
  }
  // Start-up with answers at once: group 0's stage is on one of the nodes.
  auto s0_log = std::make_shared<dettest::stage_log>();
  auto s0 = dettest::spawn_fake_stage(fx, s0_log);
  size_t serving_node = 2;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].log->spawns.empty()) serving_node = i;
  REQUIRE(serving_node < 2);
  REQUIRE(nodes[serving_node].log->spawns.size() == 1);
  {
    net::stage_ready ready;
    ready.worker = s0;
    dettest::run_in(nodes[serving_node].agent, [p = nodes[serving_node].log->spawns[0].promise,
                                                ready]() mutable { p.deliver(ready); });
  }
  fx.run();
  REQUIRE(phase() == "serving");
  REQUIRE(disp->tables.size() == 1);
  const size_t progress_at_serving = disp->progress.size();

  // The other node's agent goes down: the controller monitors it and re-plans for the node left.
  node_double& lost = nodes[1 - serving_node];
  node_double& left = nodes[serving_node];
  caf::anon_send_exit(lost.agent, caf::exit_reason::kill);
  fx.run();
  CHECK(phase() == "serving (re-planning)");
  finish_replan_thread(script, 2);
  fx.expect_next<net::replan_done>(controller);
  fx.run();
  CHECK(phase() == "serving (re-sharding: loading shards)");
  REQUIRE(left.log->spawns.size() == 2);  // the new group (1), on the node left
  CHECK(lost.log->spawns.empty());
  const auto& spec = left.log->spawns[1].spec;
  CHECK(spec.group == 1);
  REQUIRE(spec.shards.size() == 2);

  // Its stage cannot be started: the re-plan is abandoned at once (its only spawn answered).
  dettest::run_in(left.agent, [p = left.log->spawns[1].promise]() mutable {
    p.deliver(caf::make_error(caf::sec::runtime_error, std::string("out of memory")));
  });
  fx.run();
  CHECK(phase() == "serving");
  CHECK(disp->tables.size() == 1);
  CHECK(left.log->retired == std::vector<int32_t>{1});
  const std::vector<std::string> replan = {"serving (re-planning)",
                                           "serving (re-sharding: loading shards)", "serving"};
  REQUIRE(disp->progress.size() == progress_at_serving + replan.size());
  CHECK(std::equal(replan.begin(), replan.end(), disp->progress.begin() + progress_at_serving));
  // The old group was not touched: its manager still takes requests.
  net::group_request gr;
  gr.request = {"a", 7, "x", 0};
  auto served = ask<net::infer_reply>(fx, disp->tables[0].groups.at(0).manager, gr);
  fx.run();
  CHECK(s0_log->tasks.size() == 1);
  CHECK(served->count() == 0);
}

TEST_CASE(
    "controller: from a fixed placement, a lost node is re-placed without it and a node "
    "registering again is placed onto") {
  dettest::fixture fx;
  auto script = std::make_shared<solver_script>();
  // No solver call at start (the fixed placement); every recovery call waits at the gate.
  script->calls = 1;
  // After the loss: a and b on the one device left; after the rejoin: one group per node.
  script->answers = {placement_of({{0}}), placement_of({{0, 1}}), placement_of({{0}, {1}})};
  actors::controller_settings settings;
  settings.expected_nodes = {"n0", "n1"};
  settings.models = {model("test-2GB-100ms", "a"), model("test-4GB-150ms", "b")};
  settings.fixed_placement = placement_of({{0}, {1}});  // group 0 on n0, group 1 on n1
  settings.solver = scripted_solver(script);
  settings.backend = "emulated";
  settings.replan_interval_s = 0;  // no drift re-planning: recovery runs anyway
  auto disp = std::make_shared<dettest::dispatcher_log>();
  auto dispatcher = dettest::spawn_fake_dispatcher(fx, disp);
  auto controller =
      fx.track(actors::spawn_controller(fx.sys(), "ctl", std::move(settings), dispatcher));
  auto phase = [&] { return dettest::status_of(fx, controller).state; };
  std::vector<node_double> nodes(2);
  nodes[0].name = "n0";
  nodes[1].name = "n1";
  auto register_node = [&](node_double& n) {
    n.log = std::make_shared<dettest::agent_log>();
    n.agent = dettest::spawn_fake_agent(fx, n.log);
    auto accepted = ask<net::register_answer>(
        fx, controller, net::register_node{n.name, "emulated-v100", 1, 16e9, n.agent});
    fx.run();
    REQUIRE(accepted->values.size() == 1);
    CHECK(accepted->values[0].accepted);
  };
  // Answers every spawn_stage not answered yet with a fresh fake stage.
  dettest::spawn_answerer answerer;
  auto answer_spawns = [&] { answerer(fx, nodes); };
  register_node(nodes[0]);
  register_node(nodes[1]);
  REQUIRE(nodes[0].log->spawns.size() == 1);
  REQUIRE(nodes[1].log->spawns.size() == 1);
  answer_spawns();
  REQUIRE(phase() == "serving");
  REQUIRE(disp->tables.size() == 1);
  CHECK(script->calls == 1);

  // n1 is lost: re-placed on n0 although drift re-planning is off and the placement was fixed.
  caf::anon_send_exit(nodes[1].agent, caf::exit_reason::kill);
  fx.run();
  CHECK(phase() == "serving (re-planning)");
  finish_replan_thread(script, 2);
  fx.expect_next<net::replan_done>(controller);
  fx.run();
  CHECK(phase() == "serving (re-sharding: loading shards)");
  REQUIRE(nodes[0].log->spawns.size() == 2);
  CHECK(nodes[0].log->spawns[1].spec.shards.size() == 2);  // a and b on the device left
  answer_spawns();
  CHECK(phase() == "serving");
  REQUIRE(disp->tables.size() == 2);
  CHECK(disp->tables[1].groups.size() == 1);

  // n1 comes back (a new process: a new agent) and registers again: placed onto at once.
  answerer.restarted(1);
  register_node(nodes[1]);
  CHECK(phase() == "serving (re-planning)");
  finish_replan_thread(script, 3);
  fx.expect_next<net::replan_done>(controller);
  fx.run();
  CHECK(phase() == "serving (re-sharding: loading shards)");
  REQUIRE(nodes[1].log->spawns.size() == 1);  // its new group
  REQUIRE(nodes[0].log->spawns.size() == 3);
  answer_spawns();
  CHECK(phase() == "serving");
  REQUIRE(disp->tables.size() == 3);
  REQUIRE(disp->tables[2].groups.size() == 2);
  CHECK(disp->tables[2].groups[1].description.find("n1") != std::string::npos);
  const auto status = dettest::status_of(fx, controller);
  for (const auto& c : status.counters)
    if (c.name == "nodes_alive")
      CHECK(c.value == 2);
    else if (c.name == "replans")
      CHECK(c.value == 2);
}
