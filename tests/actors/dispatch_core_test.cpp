#include <catch2/catch.hpp>

#include "actors/dispatch_core.hpp"
#include "net/tensor_wire.hpp"
#include "planner/sim/event_simulator.hpp"

using namespace alpaserve;
using actors::dispatch_core;
using actors::dispatch_outcome;

namespace {

std::string tensor() {
  const float x[4] = {1, 2, 3, 4};
  return net::encode_f32({1, 4}, x);
}

dispatch_core two_groups(int max_queue = 1024) {
  // group 7: models a, b with two 0.05 s stages; group 9: model a with one 0.1 s stage.
  std::vector<actors::served_group> groups = {
      {7, {"a", "b"}, {{0.05, 0.05}, {0.02, 0.02}}},
      {9, {"a"}, {{0.1}}},
  };
  actors::dispatch_settings s;
  s.max_queue_per_group = max_queue;
  return dispatch_core(groups, {{"a", 0.5}, {"b", 0.3}, {"c", 1.0}}, s);
}

}  // namespace

TEST_CASE("dispatch_core rejects unknown models and bad payloads explicitly") {
  auto core = two_groups();
  auto r = core.decide("nope", tensor(), 0, 0.0);
  CHECK(r.outcome == dispatch_outcome::unknown_model);
  CHECK(r.message.find("nope") != std::string::npos);
  r = core.decide("a", "garbage", 0, 0.0);
  CHECK(r.outcome == dispatch_outcome::bad_input);
  CHECK(r.message.find("malformed") != std::string::npos);
  // "c" has an SLO but no group: the model exists, the placement left it out.
  r = core.decide("c", tensor(), 0, 0.0);
  CHECK(r.outcome == dispatch_outcome::not_placed);
  CHECK(r.message.find("not placed") != std::string::npos);
  CHECK(core.rejected_not_placed == 1);
  CHECK(core.rejected_unknown == 1);
  CHECK(core.rejected_bad_input == 1);
}

TEST_CASE("dispatch_core turns away a model whose groups are drained for a re-shard, saying so") {
  auto core = two_groups();
  core.set_switching("c", "group 3 drained to make room for the new placement");
  const auto r = core.decide("c", tensor(), 0, 0.0);
  CHECK(r.outcome == dispatch_outcome::not_placed);
  CHECK(r.message ==
        "model 'c' is being re-sharded (group 3 drained to make room for the new placement); "
        "retry shortly");
  CHECK(core.rejected_not_placed == 1);
  // A model with a group is served as usual whatever the reason says.
  core.set_switching("a", "ignored while a group serves it");
  CHECK(core.decide("a", tensor(), 0, 0.0).outcome == dispatch_outcome::admitted);
}

TEST_CASE("dispatch_core admits through the shared rule and fills the earliest group") {
  auto core = two_groups();
  auto r1 = core.decide("a", tensor(), 0, 0.0);
  REQUIRE(r1.outcome == dispatch_outcome::admitted);
  CHECK(r1.group == 7);  // tie at 0.1 s: earliest candidate
  CHECK(r1.predicted_finish == Approx(0.1));
  auto r2 = core.decide("a", tensor(), 0, 0.0);
  REQUIRE(r2.outcome == dispatch_outcome::admitted);
  CHECK(r2.group == 9);  // group 7 now finishes at 0.15, group 9 at 0.1
  CHECK(core.outstanding(7) == 1);
  CHECK(core.outstanding(9) == 1);
  // A tight per-request SLO cannot be met anywhere: rejected, no capacity consumed.
  auto r3 = core.decide("a", tensor(), 0.05, 0.0);
  CHECK(r3.outcome == dispatch_outcome::slo_unattainable);
  CHECK(core.outstanding(7) == 1);
  CHECK(core.clock(9)->free_at[0] == Approx(0.1));
}

TEST_CASE("dispatch_core queue limit gives overloaded, completions free slots") {
  auto core = two_groups(1);
  const auto first = core.decide("b", tensor(), 10, 0.0);
  REQUIRE(first.outcome == dispatch_outcome::admitted);
  auto r = core.decide("b", tensor(), 10, 0.0);
  CHECK(r.outcome == dispatch_outcome::overloaded);
  core.on_finished(7, first.ticket, true, {0.03, 0.05}, {0.03, 0.03}, {0.02, 0.02});
  CHECK(core.outstanding(7) == 0);
  // Measured stage ends later than predicted push the mirror; the scale learns "slower".
  CHECK(core.clock(7)->free_at[1] == Approx(0.05));
  CHECK(core.clock(7)->latency_scale[0] > 1.0);
  CHECK(core.decide("b", tensor(), 10, 0.0).outcome == dispatch_outcome::admitted);
}

TEST_CASE("dispatch_core: a late stage pushes back every request queued behind it") {
  // Group 9 alone serves "x": one 0.1 s stage. Three requests at t = 0 end at 0.1, 0.2, 0.3.
  std::vector<actors::served_group> groups = {{9, {"x"}, {{0.1}}}};
  dispatch_core core(groups, {{"x", 10.0}}, {});
  std::vector<actors::dispatch_result> r;
  for (int i = 0; i < 3; ++i) r.push_back(core.decide("x", tensor(), 0, 0.0));
  for (const auto& d : r) REQUIRE(d.outcome == dispatch_outcome::admitted);
  CHECK(r[0].ticket != r[1].ticket);
  CHECK(core.clock(9)->free_at[0] == Approx(0.3));
  // The first ends 0.02 s late (run as profiled: the scale stays 1). The two behind it start
  // 0.02 s late too, so the group is free at 0.32, not 0.3 (the plain max of 0.12 and 0.3).
  core.on_finished(9, r[0].ticket, true, {0.12}, {0.1}, {0.1});
  CHECK(core.clock(9)->latency_scale[0] == Approx(1.0));
  CHECK(core.clock(9)->free_at[0] == Approx(0.32));
  // A request that ends on time moves nothing; the next one admitted starts at 0.32.
  core.on_finished(9, r[1].ticket, true, {0.22}, {0.1}, {0.1});
  CHECK(core.clock(9)->free_at[0] == Approx(0.32));
  auto next = core.decide("x", tensor(), 0, 0.1);
  REQUIRE(next.outcome == dispatch_outcome::admitted);
  CHECK(next.predicted_finish ==
        Approx(0.42 + actors::dispatch_settings{}.overheads.after_last_stage));
}

TEST_CASE("dispatch_core: lateness is absorbed by idle time before a later request") {
  std::vector<actors::served_group> groups = {{9, {"x"}, {{0.1}}}};
  dispatch_core core(groups, {{"x", 10.0}}, {});
  const auto a = core.decide("x", tensor(), 0, 0.0);  // ends 0.1
  const auto b = core.decide("x", tensor(), 0, 0.5);  // arrives after a: ends 0.6
  REQUIRE(a.outcome == dispatch_outcome::admitted);
  REQUIRE(b.outcome == dispatch_outcome::admitted);
  core.on_finished(9, a.ticket, true, {0.15}, {0.1}, {0.1});  // 0.05 late, the stage then idles
  CHECK(core.clock(9)->free_at[0] == Approx(0.6));
  // A failed request corrects nothing and leaves the queue.
  core.on_finished(9, b.ticket, false, {}, {}, {});
  CHECK(core.outstanding(9) == 0);
}

TEST_CASE("dispatch_core stops routing to lost groups") {
  auto core = two_groups();
  core.on_group_down(7);
  auto r = core.decide("a", tensor(), 0, 0.0);
  REQUIRE(r.outcome == dispatch_outcome::admitted);
  CHECK(r.group == 9);
  r = core.decide("b", tensor(), 0, 0.0);  // b lives only on group 7
  CHECK(r.outcome == dispatch_outcome::no_live_group);
  CHECK(r.message.find("lost") != std::string::npos);
}

TEST_CASE("tensor wire format round-trips and names what is wrong") {
  const float x[6] = {1, 2, 3, 4, 5, 6};
  const std::string bytes = net::encode_f32({2, 3}, x);
  auto t = net::decode_tensor(bytes);
  REQUIRE(t);
  CHECK(t->dtype == "f32");
  CHECK(t->shape == std::vector<int64_t>{2, 3});
  REQUIRE(t->data.size() == 24);
  std::string problem;
  CHECK_FALSE(net::validate_tensor("", &problem));
  CHECK(problem.find("empty") != std::string::npos);
  net::wire_tensor bad;
  bad.shape = {2, 3};
  bad.data = std::string(20, '\0');  // 5 floats for a 6-element shape
  CHECK_FALSE(net::validate_tensor(net::encode_tensor(bad), &problem));
  CHECK(problem.find("24") != std::string::npos);
  bad.dtype = "f99";
  CHECK_FALSE(net::validate_tensor(net::encode_tensor(bad), &problem));
  CHECK(problem.find("dtype") != std::string::npos);
}

TEST_CASE("dispatch_core decides a burst exactly as the event simulator predicts") {
  // One model on a 2-stage and a 1-stage group, queue cap 2, a burst of 9 simultaneous
  // requests: admissions (and their groups), SLO rejections and overloads must match request
  // by request, since both call drop_full_groups and admit_or_reject with the same overheads.
  using namespace alpaserve::planner;
  model_data m;
  m.name = "a";
  m.slo = 0.32;
  m.profile.name = "a";
  m.profile.configs[parallel_config{1, 1, 2}].add_result(1, {0.05, 0.06}, {1e9, 1e9});
  m.profile.configs[parallel_config{1, 1, 1}].add_result(1, {0.1}, {2e9});
  placement p;
  p.group_configs = {parallel_config{1, 1, 2}, parallel_config{1, 1, 1}};
  p.group_models = {{0}, {0}};
  workload w;
  w.model_names = {"a"};
  for (int i = 0; i < 9; ++i) {
    w.arrivals.push_back(0.0);
    w.model.push_back(0);
  }
  event_sim_options o;
  o.client_to_dispatcher_s = 0;  // the runtime's dispatcher sees `now` = arrival
  o.max_queue_per_group = 2;
  const event_sim_result sim = simulate_events({m}, p, w, o);

  actors::dispatch_settings s;
  s.max_queue_per_group = 2;
  s.overheads = o.overheads;
  s.strategy = o.strategy;
  dispatch_core core({{0, {"a"}, {{0.05, 0.06}}}, {1, {"a"}, {{0.1}}}}, {{"a", m.slo}}, s);
  int admitted = 0, overloaded = 0, slo = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    INFO("request " << i);
    const auto d = core.decide("a", tensor(), 0, 0.0);
    switch (sim.verdict[i]) {
      case request_verdict::good:
      case request_verdict::late:
        REQUIRE(d.outcome == dispatch_outcome::admitted);
        CHECK(d.group == sim.group[i]);
        ++admitted;
        break;
      case request_verdict::rejected_overloaded:
        CHECK(d.outcome == dispatch_outcome::overloaded);
        ++overloaded;
        break;
      case request_verdict::rejected_slo:
        CHECK(d.outcome == dispatch_outcome::slo_unattainable);
        ++slo;
        break;
      default:
        FAIL("unexpected verdict");
    }
  }
  // The burst exercises every branch.
  CHECK(admitted >= 2);
  CHECK(overloaded + slo >= 1);
}
