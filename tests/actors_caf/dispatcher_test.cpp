// The dispatcher's protocol, message by message, on the deterministic scheduler: not ready before
// a routing table, an SLO it cannot meet rejected at once, an admissible request delegated to its
// group's manager, whose answer reaches the client (once).

#include <string>

#include "actors/dispatcher.hpp"
#include "deterministic.hpp"

using namespace alpaserve;
using dettest::ask;
using net::reply_status;

namespace {

net::routing_table one_group_table(const net::group_manager_actor& manager) {
  net::routing_table t;
  net::route_group g;
  g.group = 0;
  g.manager = manager;
  g.models = {"a"};
  g.stage_latency = {{0.050}};  // one stage of 50 ms
  g.description = "(1,1,1) on n0:0";
  t.groups.push_back(g);
  t.models.push_back({"a", 0.5, ""});  // SLO 500 ms
  return t;
}

net::infer_request request(uint64_t id, double slo_s) {
  return {"a", id, dettest::small_tensor(), slo_s};
}

}  // namespace

TEST_CASE("dispatcher: not ready, then rejects an unattainable SLO and delegates the rest") {
  dettest::fixture fx;
  auto manager_log = std::make_shared<dettest::manager_log>();
  auto manager = dettest::spawn_fake_manager(fx, manager_log);
  auto dispatcher = fx.track(actors::spawn_dispatcher(fx.sys(), "n0", {}));
  fx.run();

  // Before any routing table: rejected_overloaded, "not ready", answered by the dispatcher.
  auto early = ask<net::infer_reply>(fx, dispatcher, request(1, 0));
  fx.step();  // the client sends its request
  fx.expect_next<net::infer_request>(dispatcher);
  fx.step();  // the dispatcher answers
  REQUIRE(early->count() == 0);
  fx.run();
  REQUIRE(early->count() == 1);
  CHECK(fx.received_by(early->client) == 1);
  REQUIRE(early->values.size() == 1);
  CHECK(early->values[0].request_id == 1);
  CHECK(early->values[0].status == reply_status::rejected_overloaded);
  CHECK(early->values[0].message.find("not ready") != std::string::npos);
  CHECK(manager_log->requests.empty());

  // The controller's routing table.
  auto installed = ask<bool>(fx, dispatcher, one_group_table(manager));
  fx.run();
  REQUIRE(installed->values.size() == 1);
  CHECK(installed->values[0]);
  CHECK(dettest::status_of(fx, dispatcher).state == "serving");

  // An SLO of 10 ms cannot be met by a 50 ms stage: rejected_slo with the predicted latency,
  // never reaching the manager.
  auto tight = ask<net::infer_reply>(fx, dispatcher, request(2, 0.010));
  fx.step();
  fx.expect_next<net::infer_request>(dispatcher);
  fx.step();
  CHECK(!fx.next_is(manager));
  fx.run();
  REQUIRE(tight->count() == 1);
  CHECK(fx.received_by(tight->client) == 1);
  REQUIRE(tight->values.size() == 1);
  CHECK(tight->values[0].request_id == 2);
  CHECK(tight->values[0].status == reply_status::rejected_slo);
  CHECK(tight->values[0].predicted_s > 0.010);
  CHECK(tight->values[0].predicted_s >= 0.050 - 1e-9);  // at least its stage time
  CHECK(manager_log->requests.empty());

  // The model's own SLO (500 ms) is attainable: delegated to the group's manager, which answers
  // the client directly (the dispatcher does not answer it too).
  auto ok = ask<net::infer_reply>(fx, dispatcher, request(3, 0));
  fx.step();
  fx.expect_next<net::infer_request>(dispatcher);
  fx.step();
  const auto& delegated = fx.expect_next<net::group_request>(manager);
  CHECK(delegated.request.request_id == 3);
  CHECK(delegated.request.model == "a");
  CHECK(delegated.deadline - delegated.admitted_at == Approx(0.5));
  CHECK(delegated.predicted_finish - delegated.admitted_at >= 0.050 - 1e-9);
  CHECK(delegated.predicted_finish <= delegated.deadline);
  fx.step();  // the manager answers
  CHECK(ok->count() == 0);
  fx.run();
  REQUIRE(manager_log->requests.size() == 1);
  REQUIRE(ok->count() == 1);
  CHECK(fx.received_by(ok->client) == 1);
  REQUIRE(ok->values.size() == 1);
  CHECK(ok->values[0].request_id == 3);
  CHECK(ok->values[0].status == reply_status::ok);
  CHECK(ok->values[0].result == manager_log->result);

  // Its counters saw one admission and one SLO rejection.
  const auto st = dettest::status_of(fx, dispatcher);
  auto counter = [&](const std::string& name) {
    for (const auto& c : st.counters)
      if (c.name == name) return c.value;
    FAIL("no counter " << name);
    return -1.0;
  };
  CHECK(counter("admitted") == 1);
  CHECK(counter("rejected_slo") == 1);
  CHECK(st.queue_length == 1);  // the manager has not reported the request finished

  // The manager's feedback frees the slot.
  caf::anon_send(dispatcher, net::group_feedback{0, 0, "a", true, {}, {}, {}});
  fx.run();
  CHECK(dettest::status_of(fx, dispatcher).queue_length == 0);
  // Still one answer each (the dispatcher never answers a delegated request itself).
  CHECK(fx.received_by(early->client) == 1);
  CHECK(fx.received_by(tight->client) == 1);
  CHECK(fx.received_by(ok->client) == 1);
}

TEST_CASE("dispatcher: a group reported down is not routed to any more") {
  dettest::fixture fx;
  auto manager_log = std::make_shared<dettest::manager_log>();
  auto manager = dettest::spawn_fake_manager(fx, manager_log);
  auto dispatcher = fx.track(actors::spawn_dispatcher(fx.sys(), "n0", {}));
  auto installed = ask<bool>(fx, dispatcher, one_group_table(manager));
  fx.run();
  REQUIRE(installed->values.size() == 1);

  caf::anon_send(dispatcher, net::group_down{0, "lost its stage 0 worker"});
  fx.run();
  auto after = ask<net::infer_reply>(fx, dispatcher, request(4, 0));
  fx.run();
  REQUIRE(after->count() == 1);
  REQUIRE(after->values.size() == 1);
  CHECK(after->values[0].status == reply_status::failed_node_lost);
  CHECK(manager_log->requests.empty());
}
