// The controller's behaviour: node registration, the first placement, traffic checks, re-plans
// (computed on a background thread) and node losses. Realizing a placement is in
// actors/controller_deploy.cpp; the phase table in actors/controller_phase.cpp.

#include "actors/controller.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/actor_support.hpp"
#include "actors/controller_state.hpp"
#include "net/rendezvous_actor.hpp"
#include "planner/placement_evaluator.hpp"
#include "planner/replan_rule.hpp"
#include "planner/train_workload.hpp"

namespace alpaserve::actors {

bool on_event(controller_self self, controller_event event, std::string detail) {
  auto& st = self->state;
  const auto next = transition(st.phase, event);
  if (!next) {
    spdlog::debug("{}: controller: {} ignored in phase '{}'", st.node, to_string(event),
                  to_string(st.phase));
    return false;
  }
  const bool changed = *next != st.phase || detail != st.detail;
  st.phase = *next;
  st.detail = std::move(detail);
  if (changed) {
    const std::string text = std::string(to_string(st.phase)) + st.detail;
    if (st.phase == controller_phase::failed)
      spdlog::error("{}: controller: {}", st.node, text);
    else
      spdlog::info("{}: controller: {}", st.node, text);
    self->send(st.dispatcher, net::controller_progress{text});
  }
  return true;
}

planner::cluster_env cluster_of(const std::vector<node_devices>& nodes) {
  planner::cluster_env env;
  env.num_devices = 0;
  env.mem_budget = nodes.empty() ? 0 : nodes.front().memory_bytes;
  env.devices_per_node = 0;
  for (const auto& n : nodes) {
    env.num_devices += n.num_devices;
    env.mem_budget = std::min(env.mem_budget, n.memory_bytes);
    env.devices_per_node = std::max(env.devices_per_node, n.num_devices);
  }
  return env;
}

namespace {

// Re-planning is for policy-placed clusters on emulated devices: a placement file is the
// user's decision, and real backends would hold two generations' weights while switching.
bool replanning_enabled(const controller_settings& s) {
  return s.replan_interval_s > 0 && !s.fixed_placement && s.solver && s.backend == "emulated";
}

void replan_after_loss(controller_self self);

// Runs the policy for `job` on a background thread (the policies take seconds); replan_done
// wakes the controller.
void start_replan(controller_self self, std::shared_ptr<replan_job> job, planner::cluster_env env) {
  auto& st = self->state;
  std::thread([job, solver = st.settings.solver, env, running = st.current.placement,
               weak = caf::actor_cast<caf::weak_actor_ptr>(self)] {
    std::lock_guard<std::mutex> lock(job->mutex);
    try {
      planner::placement p = solver(job->models, env);
      const planner::workload w = planner::gen_train_workload(job->models);
      const planner::placement_evaluator eval(job->models, w);
      job->running_score = eval.score(running);
      job->new_score = eval.score(p);
      job->placement = std::move(p);
    } catch (const std::exception& e) {
      job->error = e.what();
    }
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<net::controller_actor>(strong), net::replan_done{});
  }).detach();
  st.job = std::move(job);
}

// A node died: its groups are broken (their in-flight requests failed, the dispatcher stopped
// routing to them); place every model again on the nodes left and re-shard onto them.
void replan_after_loss(controller_self self) {
  auto& st = self->state;
  st.loss_pending = false;
  std::vector<node_devices> alive;
  std::vector<std::string> lost;
  for (const auto& n : st.current.nodes) {
    if (st.members[n.name].alive)
      alive.push_back(n);
    else
      lost.push_back(n.name);
  }
  if (lost.empty()) return schedule_replan(self);
  if (alive.empty()) {
    on_event(self, controller_event::all_nodes_lost, ": every worker node was lost");
    return;
  }
  auto job = std::make_shared<replan_job>();
  job->lost_nodes = lost;
  job->reason = fmt::format("lost {}", fmt::join(lost, ", "));
  job->models = st.planned;
  const planner::cluster_env env = cluster_of(alive);
  spdlog::warn("{}: controller: {}; re-placing every model on the {} devices left", st.node,
               job->reason, env.num_devices);
  on_event(self, controller_event::node_lost);
  start_replan(self, std::move(job), env);
}

// Compares the dispatcher's observed traffic with the plan; on drift, re-plans on a background
// thread (replan_done wakes the controller).
void check_traffic(controller_self self) {
  auto& st = self->state;
  if (!on_event(self, controller_event::replan_tick)) return schedule_replan(self);
  self->request(st.dispatcher, seconds_span(st.settings.timeouts.control_timeout_s),
                net::traffic_query{})
      .then(
          [=](net::traffic_report& r) {
            auto& st = self->state;
            planner::traffic_window w;
            w.seconds = r.seconds;
            for (size_t i = 0; i < r.models.size(); ++i) {
              planner::model_traffic m;
              m.model = r.models[i];
              m.count = r.counts.at(i);
              m.rate = r.seconds > 0 ? static_cast<double>(m.count) / r.seconds : 0;
              m.cv = r.cvs.at(i);
              w.models.push_back(std::move(m));
            }
            const auto drift = planner::detect_drift(st.planned, w, st.settings.replan);
            if (!drift || st.phase != controller_phase::serving) return schedule_replan(self);
            auto job = std::make_shared<replan_job>();
            job->reason = *drift;
            job->models = planner::with_observed_traffic(st.planned, w, st.settings.replan);
            spdlog::info("{}: controller: traffic drifted over {:.0f} s ({}); re-planning", st.node,
                         w.seconds, job->reason);
            on_event(self, controller_event::drift_detected);
            start_replan(self, job, st.env);
          },
          [=](caf::error& e) {
            spdlog::warn("{}: controller: no traffic report: {}", self->state.node,
                         self->system().render(e));
            schedule_replan(self);
          });
}

void on_replan_done(controller_self self) {
  auto& st = self->state;
  auto job = std::move(st.job);
  if (!job) return;
  std::lock_guard<std::mutex> lock(job->mutex);
  if (!job->error.empty()) {
    spdlog::warn("{}: controller: re-plan failed: {}", st.node, job->error);
    on_event(self, controller_event::replan_failed);
    return schedule_replan(self);
  }
  st.planned = job->models;  // judged against this traffic from now on, switched or not
  if (job->lost_nodes.empty() &&
      !planner::worth_switching(job->running_score, job->new_score, st.settings.replan)) {
    ++st.replans_kept;
    spdlog::info(
        "{}: controller: keeping the running placement (predicted score {:.4f}, new {:.4f})",
        st.node, job->running_score, job->new_score);
    on_event(self, controller_event::replan_computed_keep);
    return schedule_replan(self);
  }
  spdlog::info("{}: controller: re-sharding (predicted score {:.4f} -> {:.4f})", st.node,
               job->running_score, job->new_score);
  on_event(self, controller_event::replan_computed_switch);
  st.previous = std::move(st.current);
  st.current = generation{};
  st.current.nodes = st.previous->nodes;
  if (!job->lost_nodes.empty()) {  // the new placement lives on the surviving nodes only
    std::vector<node_devices> alive;
    for (const auto& n : st.previous->nodes)
      if (st.members[n.name].alive) alive.push_back(n);
    st.current.nodes = std::move(alive);
  }
  st.env = cluster_of(st.current.nodes);
  realize_placement(self, *job->placement);
}

// Every configured worker registered: place the models and realize the placement.
void realize_first(controller_self self) {
  auto& st = self->state;
  st.current.nodes.clear();
  for (const auto& name : st.settings.expected_nodes)
    st.current.nodes.push_back(st.members[name].devices);
  st.env = cluster_of(st.current.nodes);
  st.planned = st.settings.models;
  planner::placement p;
  try {
    p = st.settings.fixed_placement ? *st.settings.fixed_placement
                                    : st.settings.solver(st.settings.models, st.env);
  } catch (const std::exception& e) {
    on_event(self, controller_event::placement_invalid, std::string(": placement: ") + e.what());
    return;
  }
  realize_placement(self, p);
}

bool on_register(controller_self self, net::register_node& r) {
  auto& st = self->state;
  const auto& expected = st.settings.expected_nodes;
  if (std::find(expected.begin(), expected.end(), r.name) == expected.end()) {
    spdlog::warn("{}: controller: node '{}' is not a worker of the config; ignored", st.node,
                 r.name);
    return false;
  }
  if (st.phase != controller_phase::waiting_for_nodes) {
    spdlog::warn("{}: controller: node '{}' registered after placement; not used", st.node, r.name);
    return false;
  }
  self->monitor(r.agent);
  st.members[r.name] = {
      {r.name, r.num_devices, r.device_memory_bytes, r.device_kind}, r.agent, true};
  spdlog::info("{}: controller: node {} registered ({} {} devices)", st.node, r.name, r.num_devices,
               r.device_kind);
  size_t have = 0;
  for (const auto& n : expected) have += st.members.count(n);
  if (have < expected.size()) {
    on_event(self, controller_event::node_registered,
             fmt::format(" ({}/{})", have, expected.size()));
    return true;
  }
  on_event(self, controller_event::all_registered);
  realize_first(self);
  return true;
}

void on_node_down(controller_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (auto& [name, m] : st.members) {
    if (m.agent.address() != dm.source || !m.alive) continue;
    m.alive = false;
    const bool orderly = node_stopping().load();
    if (orderly)
      spdlog::info("{}: controller: node {} stopped", st.node, name);
    else
      spdlog::warn("{}: controller: node {} lost ({})", st.node, name,
                   self->system().render(dm.reason));
    // Serving (or re-planning) with a policy: re-place on the nodes left.
    if (!orderly && replanning_enabled(st.settings) && serves_requests(st.phase)) {
      st.loss_pending = true;
      if (st.phase == controller_phase::serving) replan_after_loss(self);
    }
  }
}

net::actor_status describe(controller_self self) {
  auto& st = self->state;
  net::actor_status a;
  a.node = st.node;
  a.role = "controller";
  a.name = "controller (policy " + st.settings.policy_name + ")";
  a.state = std::string(to_string(st.phase)) + st.detail;
  size_t alive = 0;
  for (const auto& [n, m] : st.members) alive += m.alive ? 1 : 0;
  a.counters = {{"nodes_registered", static_cast<double>(st.members.size())},
                {"nodes_alive", static_cast<double>(alive)},
                {"groups", static_cast<double>(st.current.layout.size())},
                {"models", static_cast<double>(st.settings.models.size())},
                {"replans", static_cast<double>(st.replans)},
                {"replans_kept", static_cast<double>(st.replans_kept)}};
  return a;
}

net::controller_actor::behavior_type controller(controller_self self, std::string node,
                                                controller_settings settings,
                                                net::dispatcher_actor dispatcher) {
  auto& st = self->state;
  st.node = std::move(node);
  st.settings = std::move(settings);
  if (!replanning_enabled(st.settings)) st.settings.replan_interval_s = 0;
  st.dispatcher = std::move(dispatcher);
  st.rendezvous = net::spawn_rendezvous(self->system());
  self->link_to(st.rendezvous);
  st.detail = fmt::format(" (0/{})", st.settings.expected_nodes.size());
  self->send(st.dispatcher, net::controller_progress{std::string(to_string(st.phase)) + st.detail});
  self->set_down_handler([=](caf::down_msg& dm) { on_node_down(self, dm); });
  return {
      [=](net::register_node& r) { return on_register(self, r); },
      [=](net::replan_tick) { check_traffic(self); },
      [=](net::replan_done) { on_replan_done(self); },
      [=](net::status_query) -> caf::result<net::cluster_status> {
        auto& st = self->state;
        auto g = std::make_shared<status_gather>();
        g->promise = self->make_response_promise<net::cluster_status>();
        g->collected.actors.push_back(describe(self));
        std::vector<net::status_actor> targets(st.current.managers.begin(),
                                               st.current.managers.end());
        gather_status(self, g, targets);
        return g->promise;
      },
  };
}

}  // namespace

// Called whenever a re-plan ends (or none ran): a node lost meanwhile is handled first.
void schedule_replan(controller_self self) {
  auto& st = self->state;
  if (st.loss_pending && st.phase == controller_phase::serving) return replan_after_loss(self);
  const double interval = st.settings.replan_interval_s;
  if (interval > 0) self->delayed_send(self, seconds_span(interval), net::replan_tick{});
}

net::controller_actor spawn_controller(caf::actor_system& sys, const std::string& node,
                                       controller_settings settings,
                                       net::dispatcher_actor dispatcher) {
  return sys.spawn(controller, node, std::move(settings), std::move(dispatcher));
}

}  // namespace alpaserve::actors
