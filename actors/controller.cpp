// The controller's behaviour: node registration, the first placement, traffic checks, re-plans
// (computed on a background thread) and node losses. Realizing a placement is in
// actors/controller_deploy.cpp; the phase table in actors/controller_phase.cpp.

#include "actors/controller.hpp"

#include <algorithm>
#include <set>
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
    if (st.dispatcher) self->send(st.dispatcher, net::controller_progress{text});
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

// Drift re-planning needs a solver; a placement file is the user's choice, re-planned away from
// only when they opt in. Recovery (a node lost or (re)joined) needs only a solver: it runs on
// every cluster.
bool replanning_enabled(const controller_settings& s) {
  return s.replan_interval_s > 0 && s.solver &&
         (!s.fixed_placement || s.replan_with_placement_file);
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
  recovery_plan rp = plan_recovery(st.settings.expected_nodes, placed, members);
  rp.drained = !st.current.withdrawn.empty();
  return rp;
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
void adopt(controller_self self);

void check_traffic(controller_self self) {
  auto& st = self->state;
  if (window_tick(self)) return;  // a time window's tick (controller_windows.cpp)
  if (st.adopt_timer) {  // the adoption timer (one tick, swallowed here): adopt what is back
    st.adopt_timer = false;
    if (st.adopting) adopt(self);
    return;
  }
  if (st.recovery_waiting) {  // a recovery's back-off is over: try again
    st.recovery_waiting = false;
    if (st.phase == controller_phase::serving && st.settings.solver) {
      const recovery_plan rp = recovery_of(st);
      if (rp.needed()) return start_recovery(self, rp);
    }
    if (st.settings.replan_interval_s <= 0) return;
  }
  if (!st.dispatcher) return schedule_replan(self);  // lost: no traffic to read until it is back
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
  reshard_to(self, *job->placement);
}

// Every configured worker registered: place the models and realize the placement.
void realize_first(controller_self self) {
  auto& st = self->state;
  st.current.nodes.clear();
  st.current.incarnations.clear();
  // Every worker of the config, except after a restarted controller found nothing to adopt
  // while some worker is gone: then the live ones, placed by the policy.
  for (const auto& name : st.settings.expected_nodes) {
    auto it = st.members.find(name);
    if (it == st.members.end() || !it->second.alive) continue;
    st.current.nodes.push_back(it->second.devices);
    st.current.incarnations.push_back(it->second.incarnation);
  }
  const bool all = st.current.nodes.size() == st.settings.expected_nodes.size();
  st.env = cluster_of(st.current.nodes);
  st.planned = st.settings.models;
  planner::placement p;
  try {
    if (!all && !st.settings.solver) throw std::runtime_error("no solver for the nodes left");
    // A time-window schedule (controller_windows.cpp) gives window 0's placement.
    std::optional<planner::placement> windowed = all ? plan_windows(self) : std::nullopt;
    p = windowed                             ? *windowed
        : st.settings.fixed_placement && all ? *st.settings.fixed_placement
                                             : st.settings.solver(st.settings.models, st.env);
  } catch (const std::exception& e) {
    on_event(self, controller_event::placement_invalid, std::string(": placement: ") + e.what());
    return;
  }
  realize_placement(self, p);
}

// A record is adopted only for the same models, in the same order (its model ids index them).
bool record_matches_models(const deployment_record& rec, const controller_settings& s) {
  if (rec.planned.size() != s.models.size()) return false;
  for (size_t i = 0; i < s.models.size(); ++i)
    if (rec.planned[i].model != s.models[i].name) return false;
  return true;
}

// Stops the stage workers the nodes reported at registration whose groups are not in `keep`.
void retire_reported(controller_self self, const std::set<int32_t>& keep) {
  auto& st = self->state;
  for (const auto& [name, stages] : st.reported) {
    auto it = st.members.find(name);
    if (it == st.members.end() || !it->second.alive) continue;
    std::set<int32_t> sent;
    for (const auto& rs : stages)
      if (keep.count(rs.group) == 0 && sent.insert(rs.group).second)
        self->send(it->second.agent, net::retire_group{rs.group, st.controller_epoch});
  }
  st.reported.clear();
}

// A registering node may know a newer epoch or record than this controller (it was started on
// another candidate node, without the record file): take the epoch past it, and adopt its record
// while still waiting for the nodes. Returns whether anything changed.
bool learn_from_node(controller_self self, const net::register_node& r) {
  auto& st = self->state;
  bool changed = false;
  if (r.epoch_seen >= st.controller_epoch) {
    st.controller_epoch = r.epoch_seen + 1;
    spdlog::info("{}: controller: node {} has heard epoch {}; this controller is epoch {}", st.node,
                 r.name, r.epoch_seen, st.controller_epoch);
    changed = true;
  }
  if (r.record.empty() || st.phase != controller_phase::waiting_for_nodes) return changed;
  try {
    deployment_record rec = parse_deployment_record(r.record, "the record copy of " + r.name);
    if (rec.epoch <= st.record_epoch) return changed;
    st.record_epoch = rec.epoch;
    if (rec.epoch >= st.controller_epoch) st.controller_epoch = rec.epoch + 1;
    if (rec.serving && record_matches_models(rec, st.settings)) {
      spdlog::info("{}: controller: adopting the placement of node {}'s record copy (epoch {})",
                   st.node, r.name, rec.epoch);
      st.adopting = std::move(rec);
    }
    changed = true;
  } catch (const std::exception& e) {
    spdlog::warn("{}: controller: {}", st.node, e.what());
  }
  return changed;
}

// The first placement waits for every worker node of the config and for the dispatcher.
void maybe_start(controller_self self) {
  auto& st = self->state;
  const auto& expected = st.settings.expected_nodes;
  size_t have = 0;
  for (const auto& n : expected) have += st.members.count(n);
  if (have < expected.size() || !st.dispatcher) {
    on_event(self, controller_event::node_registered,
             fmt::format(" ({}/{}{})", have, expected.size(),
                         st.dispatcher ? "" : ", waiting for the dispatcher"));
    return;
  }
  on_event(self, controller_event::all_registered);
  retire_reported(self, {});  // a fresh placement: what the nodes still ran goes
  realize_first(self);
}

// Adoption (docs/runtime.md "Controller loss"): a restarted controller rebuilds the running
// generation from its deployment record, the stage leaders the nodes reported and the group
// managers the dispatcher runs, instead of placing afresh. Groups with a stage or a manager
// missing (a node lost while there was no controller) are stopped; their nodes count as lost,
// so the recovery that follows re-places their models.
void adopt_with(controller_self self, deployment_record rec, const net::groups_report& groups) {
  auto& st = self->state;
  generation gen;
  gen.nodes = rec.nodes;
  gen.placement = rec.placement;
  gen.first_group = rec.first_group;
  try {
    if (!rec.layout.empty()) {
      gen.layout = rec.layout;
      for (const auto& g : gen.layout)
        for (const auto& s : g.stages)
          if (s.node < 0 || static_cast<size_t>(s.node) >= gen.nodes.size())
            throw std::invalid_argument(fmt::format("group {} names node {}", g.group, s.node));
    } else {
      gen.layout = layout_groups(rec.placement, gen.nodes);
      for (auto& g : gen.layout) g.group += rec.first_group;
    }
  } catch (const std::exception& e) {
    spdlog::error("{}: controller: the recorded placement does not fit its nodes ({})", st.node,
                  e.what());
    gen.layout.clear();
  }
  const size_t n = gen.layout.size();
  gen.stages.assign(n, {});
  gen.managers.assign(n, net::group_manager_actor{});
  gen.failed_groups.assign(n, std::string());
  gen.failed_models.assign(n, {});
  std::set<std::string> broken_nodes;
  size_t adopted = 0;
  for (size_t g = 0; g < n; ++g) {
    const auto& layout = gen.layout[g];
    for (const auto& rg : groups.groups)
      if (rg.group == layout.group) gen.managers[g] = rg.manager;
    gen.stages[g].resize(layout.stages.size());
    std::string missing = gen.managers[g] ? "" : "its group manager is gone";
    for (size_t k = 0; k < layout.stages.size(); ++k) {
      const auto& name = gen.nodes.at(static_cast<size_t>(layout.stages[k].node)).name;
      auto it = st.reported.find(name);
      if (it != st.reported.end())
        for (const auto& rs : it->second)
          if (rs.group == layout.group && rs.stage == static_cast<int32_t>(k))
            gen.stages[g][k] = rs.leader;
      if (!gen.stages[g][k]) {
        broken_nodes.insert(name);
        if (missing.empty()) missing = fmt::format("stage {} on {} is gone", k, name);
      }
    }
    if (missing.empty()) {
      ++adopted;
    } else {
      gen.failed_groups[g] = "lost while there was no controller: " + missing;
      spdlog::warn("{}: controller: group {} not adopted: {}", st.node, layout.group, missing);
    }
  }
  // Stop what cannot serve (its manager already failed its requests and told the dispatcher).
  {
    generation broken;
    broken.nodes = gen.nodes;
    for (size_t g = 0; g < n; ++g) {
      if (gen.failed_groups[g].empty()) continue;
      broken.layout.push_back(gen.layout[g]);
      broken.managers.push_back(gen.managers[g]);
    }
    if (!broken.layout.empty()) retire_generation(self, std::move(broken));
    // Managers of groups the record does not name (a re-plan's old or not yet installed groups
    // when the controller died): drained and stopped.
    for (const auto& rg : groups.groups) {
      bool recorded = false;
      for (size_t g = 0; g < n; ++g) recorded = recorded || gen.layout[g].group == rg.group;
      if (recorded) continue;
      self->request(rg.manager, seconds_span(st.settings.timeouts.drain_timeout_s),
                    net::group_retire{st.controller_epoch})
          .then([](bool) {}, [](caf::error&) {});
    }
  }
  st.next_group_id = std::max(rec.next_group_id, gen.first_group + static_cast<int>(n));
  for (const auto& g : gen.layout) st.next_group_id = std::max(st.next_group_id, g.group + 1);
  if (adopted == 0) {
    size_t live = 0;
    for (const auto& name : st.settings.expected_nodes) live += st.members.count(name);
    if (live == 0 || live == st.settings.expected_nodes.size()) {
      spdlog::info("{}: controller: nothing of the recorded placement is running; placing afresh",
                   st.node);
      return maybe_start(self);
    }
    spdlog::warn(
        "{}: controller: nothing of the recorded placement is running; placing afresh "
        "on the {} live workers",
        st.node, live);
    on_event(self, controller_event::all_registered);
    retire_reported(self, {});
    return realize_first(self);
  }
  // A placed node counts as placed only under the registration it reported on, and only when
  // every stage it held is still there (else the recovery below re-places its models).
  for (const auto& node : gen.nodes) {
    auto it = st.members.find(node.name);
    const bool whole = it != st.members.end() && broken_nodes.count(node.name) == 0;
    gen.incarnations.push_back(whole ? it->second.incarnation : 0);
  }
  st.replans = rec.replans;
  st.planned = st.settings.models;
  for (auto& m : st.planned)
    for (const auto& t : rec.planned)
      if (t.model == m.name) {
        m.rate = t.rate;
        m.cv = t.cv;
      }
  std::set<int32_t> kept;
  for (size_t g = 0; g < n; ++g)
    if (gen.failed_groups[g].empty()) kept.insert(gen.layout[g].group);
  st.current = std::move(gen);
  st.env = cluster_of(st.current.nodes);
  retire_reported(self, kept);  // stages of other groups a node still ran
  spdlog::info("{}: controller: adopted the running placement (epoch {}): {} of {} groups serve",
               st.node, st.controller_epoch, adopted, n);
  on_event(self, controller_event::adopted, fmt::format(" (adopted {} of {} groups)", adopted, n));
  persist_record(self, true);
  schedule_replan(self);
}

void adopt(controller_self self) {
  auto& st = self->state;
  if (!st.adopting || !st.dispatcher) return;  // nothing serves without the dispatcher: wait
  deployment_record rec = std::move(*st.adopting);
  st.adopting.reset();
  self->request(st.dispatcher, seconds_span(st.settings.timeouts.control_timeout_s),
                net::groups_query{})
      .then([=](net::groups_report& r) { adopt_with(self, rec, r); },
            [=](caf::error& e) {
              spdlog::error(
                  "{}: controller: the dispatcher did not report its groups ({}); "
                  "placing afresh",
                  self->state.node, self->system().render(e));
              maybe_start(self);
            });
}

// While adopting: adopt once every node of the record and the dispatcher are back, or when the
// wait (control_timeout_s after the first of them came back) is over.
void adopt_when_ready(controller_self self) {
  auto& st = self->state;
  bool all = st.dispatcher != nullptr;
  for (const auto& n : st.adopting->nodes) all = all && st.members.count(n.name) > 0;
  if (all) return adopt(self);
  if (!st.adopt_timer) {
    st.adopt_timer = true;
    self->delayed_send(self, seconds_span(st.settings.timeouts.control_timeout_s),
                       net::replan_tick{});
  }
}

net::register_answer on_register(controller_self self, net::register_node& r) {
  auto& st = self->state;
  net::register_answer answer;
  answer.epoch = st.controller_epoch;
  if (r.dispatcher) {
    st.dispatcher = r.dispatcher;
    st.dispatcher_node = r.name;
    st.dispatcher_agent = r.agent;
    self->monitor(st.dispatcher);
    spdlog::info("{}: controller: the dispatcher on node {} registered", st.node, r.name);
  }
  if (learn_from_node(self, r)) persist_record(self, st.adopting.has_value());
  answer.epoch = st.controller_epoch;
  const auto& expected = st.settings.expected_nodes;
  const bool is_worker =
      r.worker && std::find(expected.begin(), expected.end(), r.name) != expected.end();
  if (!is_worker) {
    if (!r.dispatcher) {
      spdlog::warn("{}: controller: node '{}' is not a worker of the config; ignored", st.node,
                   r.name);
      return answer;
    }
    answer.accepted = true;
    if (st.adopting)
      adopt_when_ready(self);
    else if (st.phase == controller_phase::waiting_for_nodes)
      maybe_start(self);
    return answer;
  }

  const join_action action = on_node_join(st.phase);
  if (action == join_action::refuse && !st.adopting) {
    spdlog::warn("{}: controller: node '{}' registered, but the cluster failed; not used", st.node,
                 r.name);
    return answer;
  }
  self->monitor(r.agent);
  const bool again = st.members.count(r.name) > 0;
  st.members[r.name] = {{r.name, r.num_devices, r.device_memory_bytes, r.device_kind},
                        r.agent,
                        true,
                        ++st.incarnations};
  answer.accepted = true;
  if (st.phase == controller_phase::waiting_for_nodes) {
    // Until adoption or a fresh placement decides, the node keeps what it runs.
    st.reported[r.name] = r.stages;
    for (const auto& rs : r.stages)
      if (std::find(answer.keep_groups.begin(), answer.keep_groups.end(), rs.group) ==
          answer.keep_groups.end())
        answer.keep_groups.push_back(rs.group);
  }
  if (st.adopting) {
    spdlog::info("{}: controller: node {} is back with {} stage leaders", st.node, r.name,
                 r.stages.size());
    adopt_when_ready(self);
    return answer;
  }
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
    return answer;
  }
  spdlog::info("{}: controller: node {} registered ({} {} devices)", st.node, r.name, r.num_devices,
               r.device_kind);
  maybe_start(self);
  return answer;
}

void on_node_down(controller_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.dispatcher && dm.source == st.dispatcher.address()) {
    spdlog::error(
        "{}: controller: the dispatcher on node {} is lost ({}); nothing is served "
        "until it is back",
        st.node, st.dispatcher_node, self->system().render(dm.reason));
    st.dispatcher = nullptr;
    return;
  }
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
                {"epoch", static_cast<double>(st.controller_epoch)},
                {"replans_kept", static_cast<double>(st.replans_kept)}};
  describe_windows(st, a);
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
  if (st.dispatcher)
    self->send(st.dispatcher,
               net::controller_progress{std::string(to_string(st.phase)) + st.detail});
  // One epoch more than the record's: the nodes obey this controller from now on.
  if (st.settings.record) {
    st.controller_epoch = st.settings.record->epoch + 1;
    st.record_epoch = st.settings.record->epoch;
    if (st.settings.record->serving && record_matches_models(*st.settings.record, st.settings)) {
      st.adopting = *st.settings.record;
      st.detail = " (adopting the recorded placement)";
    }
  }
  persist_record(self, st.adopting.has_value());
  spdlog::info("{}: controller epoch {}{}", st.node, st.controller_epoch,
               st.adopting ? ": waiting for the nodes to adopt the running placement" : "");
  // Stopped in order (Ctrl-C): the nodes stop too, so there is nothing to adopt next time. (The
  // state is gone when this runs: it captures what it writes.)
  if (!st.settings.record_path.empty()) {
    deployment_record stopped;
    stopped.epoch = st.controller_epoch;
    for (const auto& m : st.settings.models) stopped.planned.push_back({m.name, m.rate, m.cv});
    self->attach_functor(
        [path = st.settings.record_path, stopped, node = st.node](const caf::error& reason) {
          if (reason != caf::exit_reason::user_shutdown) return;
          try {
            write_deployment_record(path, stopped);
          } catch (const std::exception& e) {
            spdlog::error("{}: controller: cannot write the deployment record: {}", node, e.what());
          }
        });
  }
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
  windows_on_serving(self);  // a time window due, or the next one's tick
  const double interval = st.settings.replan_interval_s;
  if (interval > 0) self->delayed_send(self, seconds_span(interval), net::replan_tick{});
}

void persist_record(controller_self self, bool serving) {
  auto& st = self->state;
  deployment_record r;
  if (st.adopting) {
    r = *st.adopting;
  } else if (serving) {
    r.serving = true;
    r.placement = st.current.placement;
    r.nodes = st.current.nodes;
    r.first_group = st.current.first_group;
    r.layout = st.current.layout;
    r.next_group_id = st.next_group_id;
    r.replans = st.replans;
  }
  // The configured models, in order, with the traffic planned for (adoption checks the names).
  r.planned.clear();
  const auto& models =
      st.planned.size() == st.settings.models.size() ? st.planned : st.settings.models;
  for (const auto& m : models) r.planned.push_back({m.name, m.rate, m.cv});
  r.epoch = st.controller_epoch;
  if (!st.settings.record_path.empty()) {
    try {
      write_deployment_record(st.settings.record_path, r);
    } catch (const std::exception& e) {
      spdlog::error("{}: controller: cannot write the deployment record: {}", st.node, e.what());
    }
  }
  // Every node keeps a copy: a controller started on another candidate node (without this
  // file) adopts from what the nodes bring when they register.
  const net::record_copy copy{r.epoch, deployment_record_json(r)};
  for (const auto& [name, m] : st.members)
    if (m.alive) self->send(m.agent, copy);
  if (st.dispatcher_agent) self->send(st.dispatcher_agent, copy);
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
