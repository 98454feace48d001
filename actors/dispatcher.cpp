#include "actors/dispatcher.hpp"

#include <map>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/actor_support.hpp"
#include "actors/epoch_gate.hpp"
#include "actors/group_manager.hpp"
#include "actors/node_metrics.hpp"
#include "net/messages.hpp"
#include "planner/workload/traffic_meter.hpp"

namespace alpaserve::actors {
namespace {

using net::reply_status;

struct dispatcher_state {
  std::string node;
  dispatcher_settings settings;
  dispatch_core core;
  planner::traffic_meter traffic{monotonic_seconds()};         // arrivals, for re-planning
  std::unordered_map<int, net::group_manager_actor> managers;  // the routing table's
  // The managers this process started (start_group), until they stop: reported to a restarted
  // controller, and stopped with the dispatcher.
  std::shared_ptr<std::map<int, net::group_manager_actor>> started =
      std::make_shared<std::map<int, net::group_manager_actor>>();
  net::cluster_info info;
  static inline const char* name = "dispatcher";
};

using dispatcher_self = net::dispatcher_actor::stateful_pointer<dispatcher_state>;

reply_status status_of(dispatch_outcome o) {
  switch (o) {
    case dispatch_outcome::admitted:
      return reply_status::ok;
    case dispatch_outcome::unknown_model:
      return reply_status::rejected_unknown_model;
    case dispatch_outcome::bad_input:
      return reply_status::rejected_bad_input;
    case dispatch_outcome::no_live_group:
      return reply_status::failed_node_lost;
    case dispatch_outcome::overloaded:
      return reply_status::rejected_overloaded;
    case dispatch_outcome::model_unavailable:
      return reply_status::failed_model_unavailable;
    case dispatch_outcome::not_placed:
      return reply_status::rejected_not_placed;
    case dispatch_outcome::slo_unattainable:
      return reply_status::rejected_slo;
  }
  return reply_status::rejected_overloaded;
}

// A command from an older controller than one already heard (actors/epoch_gate.hpp).
bool stale(dispatcher_self self, uint64_t epoch, const char* what) {
  return self->state.settings.epochs->refuses(epoch, self->state.node + ": dispatcher", what);
}

net::group_manager_actor start_manager(dispatcher_self self, net::start_group& sg) {
  auto& st = self->state;
  group_manager_setup setup;
  setup.node = st.node;
  setup.group = sg.group;
  setup.description = std::move(sg.description);
  setup.stages = std::move(sg.stages);
  setup.dispatcher = self;
  setup.request_timeout_s = sg.request_timeout_s;
  setup.overheads = st.settings.core.overheads;
  setup.metrics = st.settings.metrics;
  setup.epochs = st.settings.epochs;
  for (auto& b : sg.batching) setup.batching.push_back({b.name, b.max_batch, std::move(b.latency)});
  auto manager = spawn_group_manager(self->system(), std::move(setup));
  self->monitor(manager);
  (*st.started)[sg.group] = manager;
  return manager;
}

void install(dispatcher_self self, net::routing_table& table) {
  auto& st = self->state;
  std::vector<served_group> groups;
  st.managers.clear();
  st.info.groups.clear();
  for (auto& g : table.groups) {
    groups.push_back({g.group, g.models, g.stage_latency,
                      std::vector<int>(g.max_batch.begin(), g.max_batch.end()), g.batch_latency});
    st.managers[g.group] = g.manager;
    st.info.groups.push_back(
        fmt::format("group {} {}: {}", g.group, g.description, fmt::join(g.models, ", ")));
  }
  std::vector<std::pair<std::string, double>> slos;
  for (const auto& m : table.models) slos.emplace_back(m.name, m.slo_s);
  dispatch_core next(std::move(groups), std::move(slos), st.settings.core);
  next.carry_counters_from(st.core);
  st.core = std::move(next);
  for (const auto& m : table.models) {
    if (!m.unavailable.empty()) st.core.set_unavailable(m.name, m.unavailable);
    if (!m.switching.empty()) st.core.set_switching(m.name, m.switching);
  }
  st.info.models = table.models;
  st.info.ready = true;
  st.info.state = "serving";
  if (auto* m = st.settings.metrics.get()) m->set_component("dispatcher", true, "serving");
  spdlog::info("{}: dispatcher serving {} models on {} groups", st.node, table.models.size(),
               table.groups.size());
}

net::actor_status describe(dispatcher_self self) {
  const auto& st = self->state;
  const auto& c = st.core;
  net::actor_status a;
  a.node = st.node;
  a.role = "dispatcher";
  a.name = "dispatcher";
  a.state = st.info.state;
  int64_t queued = 0;
  for (const auto& [g, m] : st.managers) queued += c.outstanding(g);
  a.queue_length = queued;
  a.counters = {{"admitted", static_cast<double>(c.admitted)},
                {"completed", static_cast<double>(c.completed)},
                {"failed", static_cast<double>(c.failed)},
                {"rejected_slo", static_cast<double>(c.rejected_slo)},
                {"rejected_overloaded", static_cast<double>(c.rejected_overloaded)},
                {"rejected_unknown_model", static_cast<double>(c.rejected_unknown)},
                {"rejected_bad_input", static_cast<double>(c.rejected_bad_input)},
                {"failed_no_live_group", static_cast<double>(c.failed_no_group)},
                {"rejected_not_placed", static_cast<double>(c.rejected_not_placed)}};
  return a;
}

net::dispatcher_actor::behavior_type dispatcher(dispatcher_self self, std::string node,
                                                dispatcher_settings settings) {
  self->state.node = std::move(node);
  self->state.settings = std::move(settings);
  self->state.info.state = "waiting for the controller's placement";
  if (!self->state.settings.epochs) self->state.settings.epochs = std::make_shared<epoch_gate>();
  // The group managers live in this process: they stop with the dispatcher.
  self->attach_functor([started = self->state.started] {
    for (auto& [g, m] : *started) caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& started = *self->state.started;
    for (auto it = started.begin(); it != started.end(); ++it)
      if (it->second.address() == dm.source) {
        started.erase(it);
        return;
      }
  });
  if (auto* m = self->state.settings.metrics.get())
    m->set_component("dispatcher", false, self->state.info.state);
  return {
      [=](net::infer_request& req) -> caf::result<net::infer_reply> {
        auto& st = self->state;
        auto* metrics = st.settings.metrics.get();  // counts the requests answered here
        if (!st.info.ready) {
          if (metrics) metrics->on_request_done(req.model, reply_status::rejected_overloaded);
          return make_reply(req.request_id, reply_status::rejected_overloaded,
                            "cluster not ready: " + st.info.state);
        }
        const double now = monotonic_seconds();
        if (st.core.knows_model(req.model)) st.traffic.record(req.model, now);
        dispatch_result d = st.core.decide(req.model, req.payload, req.slo_s, now);
        if (d.outcome != dispatch_outcome::admitted) {
          if (metrics) metrics->on_request_done(req.model, status_of(d.outcome));
          auto r = make_reply(req.request_id, status_of(d.outcome), std::move(d.message), d.group);
          if (d.outcome == dispatch_outcome::slo_unattainable)
            r.predicted_s = d.predicted_finish - now;
          return r;
        }
        net::group_request gr;
        gr.admitted_at = now;
        gr.deadline = d.deadline;
        gr.predicted_finish = d.predicted_finish;
        gr.ticket = d.ticket;
        gr.request = std::move(req);
        // The manager owns the reply from here on (CAF delegation: it answers the client).
        return self->delegate(st.managers.at(d.group), std::move(gr));
      },
      [=](net::group_feedback& fb) {
        self->state.core.on_finished(fb.group, fb.ticket, fb.completed, fb.stage_end,
                                     fb.stage_run_s, fb.stage_nominal_s);
      },
      [=](net::group_down& gd) {
        spdlog::warn("{}: dispatcher stops routing to group {}: {}", self->state.node, gd.group,
                     gd.reason);
        self->state.core.on_group_down(gd.group);
      },
      [=](net::routing_table& table) -> caf::result<bool> {
        if (stale(self, table.epoch, "a routing table")) return stale_epoch_error();
        install(self, table);
        return true;
      },
      [=](net::start_group& sg) -> caf::result<net::group_started> {
        if (stale(self, sg.epoch, "start_group")) return stale_epoch_error();
        return net::group_started{start_manager(self, sg)};
      },
      [=](net::controller_progress& p) {  // before the first routing table
        auto& st = self->state;
        if (st.info.ready) return;
        if (auto* m = st.settings.metrics.get()) m->set_component("dispatcher", false, p.state);
        st.info.state = std::move(p.state);
      },
      [=](net::traffic_query) {
        const planner::traffic_window w = self->state.traffic.take(monotonic_seconds());
        net::traffic_report r;
        r.seconds = w.seconds;
        for (const auto& m : w.models) {
          r.models.push_back(m.model);
          r.counts.push_back(m.count);
          r.cvs.push_back(m.cv);
        }
        return r;
      },
      [=](net::groups_query) {
        net::groups_report r;
        for (const auto& [g, m] : *self->state.started) r.groups.push_back({g, m});
        return r;
      },
      [=](net::cluster_info_query) { return self->state.info; },
      [=](net::status_query) { return net::cluster_status{{describe(self)}}; },
  };
}

}  // namespace

net::dispatcher_actor spawn_dispatcher(caf::actor_system& sys, const std::string& node,
                                       dispatcher_settings settings) {
  return sys.spawn(dispatcher, node, std::move(settings));
}

}  // namespace alpaserve::actors
