#include "deterministic.hpp"

#include "actors/group_manager.hpp"

#include <spdlog/spdlog.h>

#include "net/tensor_wire.hpp"

namespace alpaserve::dettest {

fixture::fixture() {
  net::register_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  spdlog::set_level(spdlog::level::warn);
  sys_storage.emplace(cfg);
  sched_ptr = &dynamic_cast<caf::scheduler::test_coordinator&>(sys().scheduler());
}

fixture::~fixture() {
  // Stop everything the test spawned (what they spawned is linked to them or stopped by them),
  // drop every pending timer (group managers and controllers re-arm theirs forever), and run
  // until the exits are processed; the actor system then finds no running actor.
  for (auto& p : spawned) caf::anon_send_exit(p, caf::exit_reason::kill);
  spawned.clear();
  for (int round = 0; round < 100; ++round) {
    sched().clock().cancel_all();
    if (run() == 0 && !sched().has_pending_timeout()) break;
  }
  sys_storage.reset();
}

void fixture::step() {
  if (auto* a = dynamic_cast<caf::scheduled_actor*>(&sched().next_job()))
    if (a->mailbox().peek() != nullptr) ++received[a->address()];
  sched().run_once();
}

size_t fixture::run() {
  size_t n = 0;
  for (; sched().has_job(); ++n) step();
  return n;
}

namespace {

fake_stage_actor::behavior_type fake_stage(fake_stage_actor::pointer self,
                                           std::shared_ptr<stage_log> log) {
  return {
      [log](net::stage_task& t) { log->tasks.push_back(std::move(t)); },
      [self, log](net::stage_wire& w) -> caf::result<bool> {
        log->wires.push_back(w);
        if (!log->defer_wiring) return true;
        auto rp = self->make_response_promise<bool>();
        log->wire_promises.push_back(rp);
        return rp;
      },
      [self](net::stage_load) {
        net::stage_ready r;
        r.worker = caf::actor_cast<net::stage_actor>(self);  // NOLINT
        return r;
      },
      [](net::stage_ready&) {},
      [](net::stage_run_done&) {},
      [](net::stage_done_tick) {},
      [](net::status_query) {
        net::actor_status a;
        a.role = "stage-worker";
        a.state = "fake";
        return net::cluster_status{{a}};
      },
      [](run_here& r) { r.fn(); },
  };
}

using sink_actor = net::stage_sink_actor;

sink_actor::behavior_type sink(std::shared_ptr<std::vector<net::stage_task>> out) {
  return {[out](net::stage_task& t) { out->push_back(std::move(t)); }};
}

net::group_manager_actor::behavior_type fake_manager(std::shared_ptr<manager_log> log) {
  return {
      [log](net::group_request& r) {
        log->requests.push_back(r);
        net::infer_reply reply;
        reply.request_id = r.request.request_id;
        reply.status = net::reply_status::ok;
        reply.result = log->result;
        reply.group = log->group;
        return reply;
      },
      [](net::stage_task&) {},
      [](const net::stage_free&) {},
      [](net::group_retire) { return true; },
      [](net::sweep_tick) {},
      [](net::status_query) { return net::cluster_status{}; },
  };
}

fake_dispatcher_actor::behavior_type fake_dispatcher(fake_dispatcher_actor::pointer self,
                                                     std::shared_ptr<dispatcher_log> log) {
  return {
      [](net::infer_request& r) {
        net::infer_reply reply;
        reply.request_id = r.request_id;
        reply.status = net::reply_status::rejected_overloaded;
        return reply;
      },
      [log](net::group_feedback& fb) { log->feedback.push_back(std::move(fb)); },
      [log](net::group_down& gd) { log->downs.push_back(std::move(gd)); },
      [self, log](net::routing_table& t) -> caf::result<bool> {
        log->tables.push_back(std::move(t));
        if (!log->defer_routing) return true;
        auto rp = self->make_response_promise<bool>();
        log->routing_promises.push_back(rp);
        return rp;
      },
      [log](net::controller_progress& p) { log->progress.push_back(std::move(p.state)); },
      [self, log](net::start_group& sg) {
        log->started.push_back(sg);
        // A real group manager (as the dispatcher starts), linked: it stops with this double.
        actors::group_manager_setup setup;
        setup.node = "dispatcher-double";
        setup.group = sg.group;
        setup.description = sg.description;
        setup.stages = sg.stages;
        setup.dispatcher = self;
        setup.request_timeout_s = sg.request_timeout_s;
        auto manager = actors::spawn_group_manager(self->system(), std::move(setup));
        self->link_to(manager);
        return net::group_started{manager};
      },
      [](net::groups_query) { return net::groups_report{}; },
      [log](net::traffic_query) {
        ++log->traffic_queries;
        return log->traffic;
      },
      [](net::cluster_info_query) { return net::cluster_info{}; },
      [](net::status_query) { return net::cluster_status{}; },
      [](run_here& r) { r.fn(); },
  };
}

fake_agent_actor::behavior_type fake_agent(fake_agent_actor::pointer self,
                                           std::shared_ptr<agent_log> log) {
  return {
      [self, log](net::spawn_stage& s) -> caf::result<net::stage_ready> {
        auto rp = self->make_response_promise<net::stage_ready>();
        log->spawns.push_back({s, rp});
        return rp;
      },
      [log](net::retire_group& r) { log->retired.push_back(r.group); },
      [](net::rejoin_controller&) {},
      [](net::record_copy&) {},
      [](net::weights_fetch&) {
        return net::weights_chunk{0, {}, "fake agent: no weights"};
      },
      [](net::status_query) { return net::cluster_status{}; },
      [](run_here& r) { r.fn(); },
  };
}

net::controller_actor::behavior_type fake_controller(std::shared_ptr<controller_log> log) {
  return {
      [log](net::register_node& r) {
        log->registrations.push_back(std::move(r));
        return net::register_answer{true, log->epoch, log->keep_groups};
      },
      [](net::replan_tick) {},
      [](net::replan_done) {},
      [](net::status_query) { return net::cluster_status{}; },
  };
}

}  // namespace

fake_stage_actor spawn_fake_stage(fixture& fx, std::shared_ptr<stage_log> log) {
  return fx.track(fx.sys().spawn(fake_stage, std::move(log)));
}

net::stage_sink_actor spawn_sink(fixture& fx, std::shared_ptr<std::vector<net::stage_task>> out) {
  return fx.track(fx.sys().spawn(sink, std::move(out)));
}

net::group_manager_actor spawn_fake_manager(fixture& fx, std::shared_ptr<manager_log> log) {
  return fx.track(fx.sys().spawn(fake_manager, std::move(log)));
}

fake_dispatcher_actor spawn_fake_dispatcher(fixture& fx, std::shared_ptr<dispatcher_log> log) {
  return fx.track(fx.sys().spawn(fake_dispatcher, std::move(log)));
}

fake_agent_actor spawn_fake_agent(fixture& fx, std::shared_ptr<agent_log> log) {
  return fx.track(fx.sys().spawn(fake_agent, std::move(log)));
}

net::controller_actor spawn_fake_controller(fixture& fx, std::shared_ptr<controller_log> log) {
  return fx.track(fx.sys().spawn(fake_controller, std::move(log)));
}

std::string small_tensor() {
  const float data[4] = {1, 2, 3, 4};
  return net::encode_f32({1, 4}, data);
}

net::actor_status status_of(fixture& fx, const net::status_actor& who) {
  auto a = ask<net::cluster_status>(fx, who, net::status_query{});
  fx.run();
  REQUIRE(a->count() == 1);
  REQUIRE(a->values.size() == 1);
  REQUIRE(!a->values[0].actors.empty());
  return a->values[0].actors.front();
}

}  // namespace alpaserve::dettest
