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
#include "actors/membership.hpp"
#include "net/rendezvous_actor.hpp"
#include "planner/policy/placement_evaluator.hpp"
#include "planner/policy/replan_rule.hpp"
#include "planner/workload/train_workload.hpp"

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

// Drift re-planning is for policy-placed clusters on emulated devices: a placement file is the
// user's starting point, and real backends would hold two generations' weights while switching.
// Recovery (a node lost or (re)joined) needs only a solver: it runs on every cluster.
bool replanning_enabled(const controller_settings& s) {
  return s.replan_interval_s > 0 && !s.fixed_placement && s.solver && s.backend == "emulated";
}

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

// What the running generation is missing or could use (actors/membership.hpp).
recovery_plan recovery_of(const controller_state& st) {
  std::vector<placed_node> placed;
  for (size_t i = 0; i < st.current.nodes.size(); ++i)
    placed.push_back({st.current.nodes[i].name,
                      i < st.current.incarnations.size() ? st.current.incarnations[i] : 0});
  std::map<std::string, member_view> members;
  for (const auto& [name, m] : st.members) members[name] = {m.alive, m.incarnation};
  return plan_recovery(st.settings.expected_nodes, placed, members);
}

// A node was lost or (re)joined while serving: the lost node's groups are broken (their
// in-flight requests failed, the dispatcher stopped routing to them), a joined node is unused.
// Place every model again on the live nodes and re-shard onto them.
void start_recovery(controller_self self, const recovery_plan& rp) {
  auto& st = self->state;
  if (rp.target.empty()) {
    on_event(self, controller_event::all_nodes_lost, ": every worker node was lost");
    return;
  }
  auto job = std::make_shared<replan_job>();
  job->recovery = true;
  job->reason = rp.describe();
  job->models = st.planned;
  for (const auto& name : rp.target) {
    const auto& m = st.members.at(name);
    job->target.push_back(m.devices);
    job->target_incarnations.push_back(m.incarnation);
  }
  const planner::cluster_env env = cluster_of(job->target);
  spdlog::warn("{}: controller: {}; re-placing every model on the {} devices {} ({})", st.node,
               job->reason, env.num_devices, rp.joined.empty() ? "left" : "live",
               fmt::join(rp.target, ", "));
  on_event(self, rp.lost.empty() ? controller_event::node_joined : controller_event::node_lost);
  start_replan(self, std::move(job), env);
}

// Compares the dispatcher's observed traffic with the plan; on drift, re-plans on a background
// thread (replan_done wakes the controller).
void check_traffic(controller_self self) {
  auto& st = self->state;
  if (st.recovery_waiting) {  // a recovery's back-off is over: try again
    st.recovery_waiting = false;
    if (st.phase == controller_phase::serving && st.settings.solver) {
      const recovery_plan rp = recovery_of(st);
      if (rp.needed()) return start_recovery(self, rp);
    }
    if (st.settings.replan_interval_s <= 0) return;
  }
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
  if (!job->recovery &&
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
  st.current.incarnations = st.previous->incarnations;
  st.recovering = job->recovery;
  if (job->recovery) {  // the new placement lives on the nodes live when it was computed
    st.current.nodes = job->target;
    st.current.incarnations = job->target_incarnations;
  }
  st.env = cluster_of(st.current.nodes);
  realize_placement(self, *job->placement);
}

// Every configured worker registered: place the models and realize the placement.
void realize_first(controller_self self) {
  auto& st = self->state;
  st.current.nodes.clear();
  st.current.incarnations.clear();
  for (const auto& name : st.settings.expected_nodes) {
    st.current.nodes.push_back(st.members[name].devices);
    st.current.incarnations.push_back(st.members[name].incarnation);
  }
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
  const join_action action = on_node_join(st.phase);
  if (action == join_action::refuse) {
    spdlog::warn("{}: controller: node '{}' registered, but the cluster failed; not used", st.node,
                 r.name);
    return false;
  }
  self->monitor(r.agent);
  const bool again = st.members.count(r.name) > 0;
  st.members[r.name] = {{r.name, r.num_devices, r.device_memory_bytes, r.device_kind},
                        r.agent,
                        true,
                        ++st.incarnations};
  if (action != join_action::start_up) {
    spdlog::info("{}: controller: node {} {} ({} {} devices)", st.node, r.name,
                 again ? "registered again" : "joined", r.num_devices, r.device_kind);
    if (action == join_action::place_now) {
      const recovery_plan rp = recovery_of(st);
      if (rp.needed() && st.settings.solver) {
        st.recovery_failures = 0;
        start_recovery(self, rp);
      }
    } else {
      on_event(self, controller_event::node_joined);  // handled once serving
    }
    return true;
  }
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
    // Serving: re-place on the nodes left; during a re-plan or a start-up step the loss is
    // handled once serving (schedule_replan).
    if (orderly) continue;
    if (st.phase == controller_phase::serving) {
      const recovery_plan rp = recovery_of(st);
      if (rp.needed() && st.settings.solver) {
        st.recovery_failures = 0;
        start_recovery(self, rp);
      } else if (!st.settings.solver) {
        spdlog::warn("{}: controller: no solver; {} is not re-placed", st.node, name);
      }
    } else if (serves_requests(st.phase)) {
      on_event(self, controller_event::node_lost);  // remembered
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

// Called whenever a re-plan ends (or none ran), and on a node loss while serving: a node lost or
// (re)joined meanwhile is handled first (after a back-off when the last recovery was abandoned).
void schedule_replan(controller_self self) {
  auto& st = self->state;
  if (st.phase == controller_phase::serving && st.settings.solver) {
    const recovery_plan rp = recovery_of(st);
    if (rp.needed()) {
      if (st.recovery_failures == 0) return start_recovery(self, rp);
      if (!st.recovery_waiting) {  // the tick comes back here (check_traffic)
        st.recovery_waiting = true;
        self->delayed_send(self, seconds_span(recovery_backoff_s(st.recovery_failures)),
                           net::replan_tick{});
      }
      return;
    }
  }
  const double interval = st.settings.replan_interval_s;
  if (interval > 0) self->delayed_send(self, seconds_span(interval), net::replan_tick{});
}

void recovery_abandoned(controller_self self) {
  auto& st = self->state;
  if (!st.recovering) return;
  st.recovering = false;
  ++st.recovery_failures;
}

net::controller_actor spawn_controller(caf::actor_system& sys, const std::string& node,
                                       controller_settings settings,
                                       net::dispatcher_actor dispatcher) {
  return sys.spawn(controller, node, std::move(settings), std::move(dispatcher));
}

}  // namespace alpaserve::actors
