#pragma once
// Deterministic actor tests (docs/runtime.md "Deterministic actor tests"): the real runtime
// actors run inside an actor_system whose scheduler is CAF's test_coordinator
// (scheduler.policy = testing). Nothing runs until the test says so: every message sits in its
// receiver's mailbox until the test runs that actor's job (step / run), and every delayed
// message (timers, request timeouts) waits in the coordinator's clock until the test triggers it.
// Everything happens on the test's thread, so test doubles write what they receive into plain
// shared structs the test reads between steps.
//
// CAF's own caf/test/dsl.hpp macros need CAF's test runner; these tests drive the coordinator from
// Catch2 directly instead, so they run in CTest like every other Catch2 suite.

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "net/messages.hpp"

namespace alpaserve::dettest {

// A deterministic actor system and the handles the test must stop before it is destroyed.
struct fixture {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys_storage;
  caf::scheduler::test_coordinator* sched_ptr = nullptr;
  std::vector<caf::strong_actor_ptr> spawned;  // killed at the end of the test

  fixture();
  ~fixture();

  caf::actor_system& sys() { return *sys_storage; }
  caf::scheduler::test_coordinator& sched() { return *sched_ptr; }

  // Keeps `h` to kill it when the test ends (anything the test spawns must end, or the
  // actor system's destructor waits for it forever).
  template <class Handle>
  Handle track(Handle h) {
    spawned.push_back(caf::actor_cast<caf::strong_actor_ptr>(h));
    return h;
  }

  // True when the next job of the coordinator is the actor `h`.
  template <class Handle>
  bool next_is(const Handle& h) {
    if (!sched().has_job()) return false;
    return &sched().next_job<caf::scheduled_actor>() == caf::actor_cast<caf::abstract_actor*>(h);
  }

  // The next job is `h` and the first message in its mailbox is a T (returns it, unconsumed).
  template <class T, class Handle>
  const T& expect_next(const Handle& h) {
    REQUIRE(next_is(h));
    auto* msg = sched().next_job<caf::scheduled_actor>().mailbox().peek();
    REQUIRE(msg != nullptr);
    REQUIRE(msg->content().template match_elements<T>());
    return msg->content().template get_as<T>(0);
  }

  // Runs the next job: its actor takes one message (or initializes). Every message taken is
  // counted per receiver first (received_by), so a second answer to a client is seen even where
  // CAF would drop it as a response nobody awaits any more.
  void step();
  // Steps until no job is left (timers are not triggered). Returns the number of steps.
  size_t run();

  // Messages the actor `h` took while the test stepped the scheduler.
  template <class Handle>
  size_t received_by(const Handle& h) const {
    auto it = received.find(caf::actor_cast<caf::actor_addr>(h));
    return it == received.end() ? 0 : it->second;
  }
  std::map<caf::actor_addr, size_t> received;
};

// What a test client received for its one request: values and errors, in order. A client that
// gets more than one answer records all of them (the tests count them).
template <class Reply>
struct answers {
  caf::actor client;  // fixture::received_by(client): every message it took, answers or not
  std::vector<Reply> values;
  std::vector<std::string> errors;
  [[nodiscard]] size_t count() const { return values.size() + errors.size(); }
};

// Spawns a client actor that sends `request` to `dest` (no timeout: nothing is put in the
// coordinator's clock) and records what comes back. It runs once the test runs the scheduler.
// Check fx.received_by(a->client) == 1 for "exactly one answer": `values` / `errors` can only
// ever hold the first (CAF matches one response per request).
template <class Reply, class Handle, class Request>
std::shared_ptr<answers<Reply>> ask(fixture& fx, const Handle& dest, Request request) {
  auto out = std::make_shared<answers<Reply>>();
  out->client = fx.track(fx.sys().spawn([dest, request, out](caf::event_based_actor* self) mutable {
    self->request(dest, caf::infinite, std::move(request))
        .then([out](Reply& r) { out->values.push_back(std::move(r)); },
              [out, self](caf::error& e) { out->errors.push_back(self->system().render(e)); });
    // Stays alive after its answer (until the test ends), so that a second answer is still
    // delivered to it and counted by fixture::received_by (CAF then drops it unhandled).
    return caf::behavior{[](caf::unit_t) {}};
  }));
  return out;
}

// ---- test doubles ------------------------------------------------------------------------
//
// A response promise must be delivered by the actor that made it (deliver() uses that actor's
// execution context, which exists only while the coordinator runs it). The doubles that defer an
// answer therefore also accept run_here: the test sends them the delivery as a closure.

struct run_here {
  std::function<void()> fn;
};

}  // namespace alpaserve::dettest

// Local only (never serialized): a closure.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(alpaserve::dettest::run_here)

namespace alpaserve::dettest {

// Runs `fn` inside the double `who` once the test runs the scheduler.
template <class Handle>
void run_in(const Handle& who, std::function<void()> fn) {
  caf::anon_send(who, run_here{std::move(fn)});
}

// A stage worker double: records what it receives. Answers stage_wire at once, unless
// `defer_wiring`: then the promise waits in `wire_promises` for the test to deliver (run_in).
struct stage_log {
  std::vector<net::stage_task> tasks;
  std::vector<net::stage_wire> wires;
  bool defer_wiring = false;
  std::vector<caf::typed_response_promise<bool>> wire_promises;
};
using fake_stage_actor = net::stage_actor::extend<caf::reacts_to<run_here>>;
fake_stage_actor spawn_fake_stage(fixture& fx, std::shared_ptr<stage_log> log);

// Where a stage sends its output: records the tasks in arrival order.
net::stage_sink_actor spawn_sink(fixture& fx, std::shared_ptr<std::vector<net::stage_task>> out);

// A group manager double: records every delegated group_request and answers it at once with
// an ok reply carrying `result`.
struct manager_log {
  std::vector<net::group_request> requests;
  std::string result = "fake result";
  int group = 0;
};
net::group_manager_actor spawn_fake_manager(fixture& fx, std::shared_ptr<manager_log> log);

// A dispatcher double: records feedback, lost groups, routing tables and the controller's
// progress; answers traffic_query with `traffic`. routing_table is answered true at once unless
// `defer_routing`: then its promise waits in `routing_promises`.
struct dispatcher_log {
  std::vector<net::group_feedback> feedback;
  std::vector<net::group_down> downs;
  std::vector<net::routing_table> tables;
  std::vector<std::string> progress;
  net::traffic_report traffic;
  size_t traffic_queries = 0;
  bool defer_routing = false;
  std::vector<caf::typed_response_promise<bool>> routing_promises;
  std::vector<net::start_group> started;  // each answered with a new manager double
};
using fake_dispatcher_actor = net::dispatcher_actor::extend<caf::reacts_to<run_here>>;
fake_dispatcher_actor spawn_fake_dispatcher(fixture& fx, std::shared_ptr<dispatcher_log> log);

// A node agent double: every spawn_stage waits in `spawns` until the test answers it
// (deliver a stage_ready with a fake stage, or an error); retire_group is recorded.
struct agent_log {
  struct spawn {
    net::spawn_stage spec;
    caf::typed_response_promise<net::stage_ready> promise;
  };
  std::vector<spawn> spawns;
  std::vector<int32_t> retired;
};
using fake_agent_actor = net::node_agent_actor::extend<caf::reacts_to<run_here>>;
fake_agent_actor spawn_fake_agent(fixture& fx, std::shared_ptr<agent_log> log);

// A controller double (for the node agent): records register_node and accepts it.
struct controller_log {
  std::vector<net::register_node> registrations;
  uint64_t epoch = 1;                // answered with this epoch
  std::vector<int32_t> keep_groups;  // and these groups kept
};
net::controller_actor spawn_fake_controller(fixture& fx, std::shared_ptr<controller_log> log);

// A valid wire-format tensor (f32, shape 1x4).
std::string small_tensor();

// The one actor_status a single actor answers to status_query (asked through a client).
net::actor_status status_of(fixture& fx, const net::status_actor& who);

}  // namespace alpaserve::dettest
