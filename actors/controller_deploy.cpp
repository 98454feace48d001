// Realizing a placement: lay it out on the nodes (deployment_plan), have the node agents start
// the stage workers (they load their shards), spawn the group managers, wire each pipeline, then
// install the routing table at the dispatcher. During a re-plan the previous generation keeps
// serving until the new table is installed; any failure on the way abandons the new generation
// and keeps the old one (make before break).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/actor_support.hpp"
#include "actors/controller_state.hpp"
#include "actors/group_manager.hpp"
#include "actors/node_metrics.hpp"
#include "actors/real_stage.hpp"
#include "actors/reshard_plan.hpp"
#include "planner/policy/placement_evaluator.hpp"

namespace alpaserve::actors {
namespace {

void install_routing(controller_self self);

// `gen` without the groups in `drop` (indices), for retiring the rest.
generation without(generation gen, const std::set<size_t>& drop) {
  generation out;
  out.nodes = gen.nodes;
  for (size_t g = 0; g < gen.layout.size(); ++g) {
    if (drop.count(g) > 0) continue;
    out.layout.push_back(gen.layout[g]);
    if (g < gen.managers.size()) out.managers.push_back(gen.managers[g]);
  }
  return out;
}

// The previous generation without the groups the new one kept running (`kept`: the new
// generation's [group] -> previous index).
generation without_kept(generation previous, const std::vector<int>& kept) {
  std::set<size_t> drop;
  for (int r : kept)
    if (r >= 0) drop.insert(static_cast<size_t>(r));
  return without(std::move(previous), drop);
}

// The layout a placement gets: during a re-shard, the previous generation's serving groups that
// the new placement repeats stay where they run (sticky_layout); else layout_groups, kept none.
// Group ids of new groups are their placement index (the caller offsets them).
sticky_layout_result next_layout(const controller_state& st, const planner::placement& p) {
  if (!st.previous || st.fresh_groups)
    return {layout_groups(p, st.current.nodes), std::vector<int>(p.num_groups(), -1)};
  const generation& prev = *st.previous;
  std::vector<bool> usable(prev.layout.size(), false);
  for (size_t r = 0; r < prev.layout.size(); ++r) {
    bool ok = r < prev.failed_groups.size() && prev.failed_groups[r].empty() &&
              prev.withdrawn.count(r) == 0 && r < prev.managers.size() && prev.managers[r] &&
              r < prev.failed_models.size() && prev.failed_models[r].empty() &&
              r < prev.stages.size() && prev.stages[r].size() == prev.layout[r].stages.size();
    if (ok)
      for (const auto& s : prev.stages[r]) ok = ok && static_cast<bool>(s);
    usable[r] = ok;
  }
  return sticky_layout(p, st.current.nodes, prev.layout, prev.nodes, usable);
}
void start_managers(controller_self self);
void wire_stages(controller_self self);

// A re-plan's new generation could not be started: drop it and keep serving the old one.
// `event` is what failed (its row leads back to serving).
void abort_replan(controller_self self, controller_event event, const std::string& why) {
  auto& st = self->state;
  spdlog::error("{}: controller: re-plan abandoned, keeping the running placement: {}", st.node,
                why);
  // The new groups go; the ones it kept running stay with the restored generation.
  generation failed = std::move(st.current);
  {
    std::set<size_t> kept;
    for (size_t g = 0; g < failed.kept.size(); ++g)
      if (failed.kept[g] >= 0) kept.insert(g);
    failed = without(std::move(failed), kept);
  }
  st.current = std::move(*st.previous);
  st.fresh_groups = false;
  st.previous.reset();
  st.env = cluster_of(st.current.nodes);
  retire_generation(self, std::move(failed));
  ++st.epoch;
  recovery_abandoned(self);
  on_event(self, event);
  schedule_replan(self);
}

// A failure of `event` in the current phase: at start-up the cluster fails, during a re-plan
// the new generation is abandoned.
void step_failed(controller_self self, controller_event event, const std::string& why) {
  if (self->state.previous) return abort_replan(self, event, why);
  on_event(self, event, ": " + why);
}

void wire_pipelines(controller_self self) {
  auto& st = self->state;
  auto& gen = st.current;
  if (st.previous) {  // a re-plan serves only when every new group loaded every shard
    for (size_t g = 0; g < gen.layout.size(); ++g) {
      if (!gen.failed_groups[g].empty())
        return abort_replan(self, controller_event::stage_failed, gen.failed_groups[g]);
      if (!gen.failed_models[g].empty())
        return abort_replan(
            self, controller_event::stage_failed,
            gen.failed_models[g].begin()->first + ": " + gen.failed_models[g].begin()->second);
    }
  }
  on_event(self, controller_event::shards_loaded);
  start_managers(self);
}

// Each group's manager is started by the dispatcher, in its process: the groups then keep
// serving when the controller is lost (docs/runtime.md "Controller loss").
void start_managers(controller_self self) {
  auto& st = self->state;
  auto& gen = st.current;
  gen.managers.assign(gen.layout.size(), net::group_manager_actor{});
  st.pending = 0;
  if (!st.dispatcher)
    return step_failed(self, controller_event::wiring_failed, "the dispatcher is lost");
  const uint64_t epoch = st.epoch;
  const auto timeout = seconds_span(st.settings.timeouts.control_timeout_s);
  for (size_t g = 0; g < gen.layout.size(); ++g) {
    if (!gen.failed_groups[g].empty()) {
      spdlog::error("{}: group {} does not serve: {}", st.node, gen.layout[g].group,
                    gen.failed_groups[g]);
      // Free what its other stages loaded (their node agents stop them).
      for (const auto& stage : gen.layout[g].stages) {
        auto it = st.members.find(gen.nodes.at(static_cast<size_t>(stage.node)).name);
        if (it != st.members.end() && it->second.alive)
          self->send(it->second.agent, net::retire_group{gen.layout[g].group, st.controller_epoch});
      }
      continue;
    }
    if (g < gen.kept.size() && gen.kept[g] >= 0 && st.previous) {
      gen.managers[g] = st.previous->managers[static_cast<size_t>(gen.kept[g])];
      continue;
    }
    net::start_group sg;
    sg.epoch = st.controller_epoch;
    sg.group = gen.layout[g].group;
    sg.description = describe_group(gen.layout[g], gen.nodes);
    sg.stages = gen.stages[g];
    sg.request_timeout_s = st.settings.timeouts.request_timeout_s;
    for (auto& bm : group_batching(gen.layout[g], st.settings.models, st.settings.max_batch_size,
                                   st.settings.model_max_batch_size, gen.failed_models[g]))
      sg.batching.push_back({bm.name, bm.max_batch, std::move(bm.latency)});
    ++st.pending;
    self->request(st.dispatcher, timeout, std::move(sg))
        .then(
            [=](net::group_started& r) {
              auto& st = self->state;
              if (st.epoch != epoch) {  // abandoned meanwhile: stop it again
                self->send_exit(r.manager, caf::exit_reason::user_shutdown);
                return;
              }
              st.current.managers[g] = std::move(r.manager);
              if (--st.pending == 0) wire_stages(self);
            },
            [=](caf::error& e) {
              if (self->state.epoch != epoch) return;
              ++self->state.epoch;  // the other answers no longer matter
              step_failed(
                  self, controller_event::wiring_failed,
                  fmt::format("starting the manager of group {}: {}", g, self->system().render(e)));
            });
  }
  if (st.pending == 0) wire_stages(self);
}

void wire_stages(controller_self self) {
  auto& st = self->state;
  auto& gen = st.current;
  st.pending = 0;
  auto kept = [&](size_t g) { return g < gen.kept.size() && gen.kept[g] >= 0; };
  for (size_t g = 0; g < gen.layout.size(); ++g)
    if (gen.failed_groups[g].empty() && !kept(g)) st.pending += gen.stages[g].size();
  if (st.pending == 0) {
    on_event(self, controller_event::wired);
    return install_routing(self);
  }
  const uint64_t epoch = st.epoch;
  const auto timeout = seconds_span(st.settings.timeouts.control_timeout_s);
  for (size_t g = 0; g < gen.layout.size(); ++g) {
    if (!gen.failed_groups[g].empty() || kept(g)) continue;  // a kept group is wired already
    const auto& stages = gen.stages[g];
    for (size_t k = 0; k < stages.size(); ++k) {
      net::stage_sink_actor next = k + 1 < stages.size() ? net::stage_sink_actor{stages[k + 1]}
                                                         : net::stage_sink_actor{gen.managers[g]};
      net::stage_free_actor free_to;
      if (k == 0) free_to = gen.managers[g];
      self->request(stages[k], timeout, net::stage_wire{next, free_to, st.controller_epoch})
          .then(
              [=](bool) {
                if (self->state.epoch != epoch) return;
                if (--self->state.pending > 0) return;
                on_event(self, controller_event::wired);
                install_routing(self);
              },
              [=](caf::error& e) {
                if (self->state.epoch != epoch) return;
                ++self->state.epoch;  // the other wirings' answers no longer matter
                step_failed(self, controller_event::wiring_failed,
                            fmt::format("wiring group {}: {}", g, self->system().render(e)));
              });
    }
  }
}

net::routing_table routing_of(const controller_state& st, const generation& gen) {
  net::routing_table table;
  std::map<std::string, std::vector<std::string>> why_not;  // model -> load errors
  std::map<std::string, int> served;                        // model -> healthy groups
  std::map<std::string, std::vector<int>> switching;        // model -> its drained groups
  for (size_t g = 0; g < gen.layout.size(); ++g) {
    if (gen.withdrawn.count(g) > 0) {
      for (int m : gen.layout[g].models)
        switching[st.settings.models[m].name].push_back(gen.layout[g].group);
      continue;
    }
    if (!gen.failed_groups[g].empty()) {
      for (int m : gen.layout[g].models)
        why_not[st.settings.models[m].name].push_back(gen.failed_groups[g]);
      continue;
    }
    net::route_group rg;
    rg.group = gen.layout[g].group;
    rg.manager = gen.managers[g];
    rg.description = describe_group(gen.layout[g], gen.nodes);
    std::map<std::string, batch_model> batching;
    for (auto& bm : group_batching(gen.layout[g], st.settings.models, st.settings.max_batch_size,
                                   st.settings.model_max_batch_size, gen.failed_models[g]))
      batching[bm.name] = std::move(bm);
    for (int m : gen.layout[g].models) {
      const auto& name = st.settings.models[m].name;
      auto bad = gen.failed_models[g].find(name);
      if (bad != gen.failed_models[g].end()) {  // this group serves its other models
        why_not[name].push_back(bad->second);
        continue;
      }
      ++served[name];
      rg.models.push_back(name);
      rg.stage_latency.push_back(group_stage_latency(gen.layout[g], st.settings.models[m]));
      auto b = batching.find(name);
      rg.max_batch.push_back(b == batching.end() ? 1 : b->second.max_batch);
      rg.batch_latency.push_back(b == batching.end() ? std::vector<std::vector<double>>{}
                                                     : b->second.latency);
    }
    table.groups.push_back(std::move(rg));
  }
  for (const auto& m : st.settings.models) {
    net::model_route_info info;
    info.name = m.name;
    info.slo_s = m.slo;
    auto w = why_not.find(m.name);
    if (w != why_not.end() && served[m.name] == 0)
      info.unavailable = fmt::format("{}", fmt::join(w->second, "; "));
    auto sw = switching.find(m.name);
    if (sw != switching.end() && served[m.name] == 0)
      info.switching = fmt::format("group{} {} drained to make room for the new placement",
                                   sw->second.size() > 1 ? "s" : "", fmt::join(sw->second, ", "));
    table.models.push_back(std::move(info));
  }
  return table;
}

// The ids of a generation's groups that serve (for the metrics).
std::vector<int> serving_groups(const generation& gen) {
  std::vector<int> out;
  for (size_t g = 0; g < gen.layout.size(); ++g)
    if (gen.failed_groups[g].empty()) out.push_back(gen.layout[g].group);
  return out;
}

// Sends the dispatcher `gen`'s routing table under this controller's epoch; `ok` / `failed`
// get its answer.
template <class Ok, class Failed>
void send_routing(controller_self self, const generation& gen, Ok ok, Failed failed) {
  auto& st = self->state;
  auto table = routing_of(st, gen);
  table.epoch = st.controller_epoch;
  self->request(st.dispatcher, seconds_span(st.settings.timeouts.control_timeout_s),
                std::move(table))
      .then(std::move(ok), std::move(failed));
}

void install_routing(controller_self self) {
  auto& st = self->state;
  const uint64_t epoch = st.epoch;
  if (!st.dispatcher)
    return step_failed(self, controller_event::routing_failed, "the dispatcher is lost");
  send_routing(
      self, st.current,
      [=](bool) {
        auto& st = self->state;
        if (st.epoch != epoch) return;
        const bool replanned = st.previous.has_value();
        if (st.previous) {  // the new groups serve from now on; the old ones drain
          generation old = without_kept(std::move(*st.previous), st.current.kept);
          st.previous.reset();
          st.fresh_groups = false;
          ++st.replans;
          spdlog::info("{}: controller: re-sharded onto {} groups; retiring {} old ones", st.node,
                       st.current.layout.size(), old.layout.size());
          // One line per switch, for operators and tests (docs/runtime.md "Re-sharding
          // real models").
          spdlog::info(
              "{}: controller: switch {} took {:.2f} s ({}); models without a serving group "
              "during it: {}",
              st.node, st.replans, monotonic_seconds() - st.switch_started_s,
              st.switch_mode.empty() ? "make before break" : st.switch_mode,
              st.switch_unavailable.empty()
                  ? std::string("none")
                  : fmt::format("{}", fmt::join(st.switch_unavailable, ", ")));
          retire_generation(self, std::move(old));
        }
        if (st.recovering) {
          st.recovering = false;
          st.recovery_failures = 0;
        }
        if (auto* m = st.settings.metrics.get())
          m->on_placement_installed(static_cast<int64_t>(st.replans) + 1,
                                    serving_groups(st.current), replanned);
        on_event(self, controller_event::routing_installed);
        persist_record(self, true);
        schedule_replan(self);
      },
      [=](caf::error& e) {
        if (self->state.epoch != epoch) return;
        step_failed(self, controller_event::routing_failed,
                    "routing table not installed: " + self->system().render(e));
      });
}

deployment_backend backend_of(const controller_settings& s) {
  deployment_backend b;
  b.name = s.backend;
  b.have_nccl = nccl_built();
  for (const auto& [name, src] : s.real_models)
    b.real_models[name] = {src.architecture, src.seed, src.weights_path, src.definition};
  return b;
}

// Where a node that cannot read a shard's weights file fetches it: every other live node,
// by name (docs/real-execution.md "Weights over CAF").
void add_weight_donors(net::spawn_stage& spec, const std::string& node,
                       const controller_state& st) {
  if (std::none_of(spec.shards.begin(), spec.shards.end(),
                   [](const net::shard_spec& sh) { return !sh.weights_path.empty(); }))
    return;
  std::vector<std::string> names;
  for (const auto& [name, m] : st.members)
    if (name != node && m.alive && m.agent) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    spec.weight_donors.push_back(st.members.at(name).agent);
    spec.weight_donor_names.push_back(name);
  }
}

net::spawn_stage spawn_message(const planned_group& g, const planned_stage& s,
                               const controller_state& st) {
  net::spawn_stage spec;
  spec.group = g.group;
  spec.stage = s.stage;
  spec.num_stages = s.num_stages;
  spec.devices.assign(s.devices.begin(), s.devices.end());
  spec.backend = st.settings.backend;
  spec.rendezvous = st.rendezvous;
  spec.recv_over_nccl = s.recv_over_nccl;
  spec.send_over_nccl = s.send_over_nccl;
  spec.next_op = s.next_op;
  spec.epoch = st.controller_epoch;
  for (const auto& sh : s.shards)
    spec.shards.push_back({sh.model, sh.latency_s, sh.weight_bytes, sh.architecture, sh.seed,
                           sh.weights_path, sh.layer_begin, sh.layer_end, sh.batch_latency_s,
                           sh.definition});
  add_weight_donors(spec, s.node_name, st);
  return spec;
}

}  // namespace

void realize_placement(controller_self self, const planner::placement& p) {
  auto& st = self->state;
  auto& gen = st.current;
  deployment_plan plan;
  try {
    auto problems = planner::placement_problems(p, st.settings.models, st.env);
    if (!problems.empty())
      throw std::invalid_argument(fmt::format("{}", fmt::join(problems, "; ")));
    const sticky_layout_result sl = next_layout(st, p);
    gen.layout = sl.layout;
    gen.kept = sl.kept;
    for (size_t g = 0; g < gen.layout.size(); ++g)
      if (gen.kept[g] < 0) gen.layout[g].group += st.next_group_id;
    plan = plan_deployment(gen.layout, gen.nodes, st.settings.models, backend_of(st.settings));
  } catch (const std::exception& e) {
    return step_failed(self, controller_event::placement_invalid,
                       std::string("placement: ") + e.what());
  }
  gen.first_group = st.next_group_id;
  st.next_group_id += static_cast<int>(gen.layout.size());
  gen.placement = p;
  const uint64_t epoch = ++st.epoch;
  for (size_t i = 0; i < plan.groups.size(); ++i) {
    const auto& g = plan.groups[i];
    std::vector<std::string> names;
    for (int m : g.models) names.push_back(st.settings.models[m].name);
    spdlog::info("{}: group {} {}: {}{}", st.node, g.group, g.description, fmt::join(names, ", "),
                 gen.kept[i] >= 0 ? " (kept running)" : "");
  }
  if (!st.previous) on_event(self, controller_event::placement_ready);
  gen.failed_groups.assign(gen.layout.size(), std::string());
  gen.failed_models.assign(gen.layout.size(), {});
  gen.stages.assign(gen.layout.size(), {});
  st.pending = 0;
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    if (gen.kept[g] >= 0) {  // runs on: its stage workers are the previous generation's
      const auto r = static_cast<size_t>(gen.kept[g]);
      gen.stages[g] = st.previous->stages[r];
      gen.failed_models[g] = st.previous->failed_models[r];
      continue;
    }
    gen.failed_models[g] = plan.groups[g].failed_models;
    gen.stages[g].resize(plan.groups[g].stages.size());
    st.pending += plan.groups[g].stages.size();
  }
  if (st.pending == 0) return wire_pipelines(self);
  const auto timeout = seconds_span(st.settings.timeouts.stage_start_timeout_s + 5);
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    if (gen.kept[g] >= 0) continue;
    for (size_t k = 0; k < plan.groups[g].stages.size(); ++k) {
      const planned_stage& ps = plan.groups[g].stages[k];
      const auto& agent = st.members[ps.node_name].agent;
      self->request(agent, timeout, spawn_message(plan.groups[g], ps, st))
          .then(
              [=](net::stage_ready& r) {
                auto& st = self->state;
                if (st.epoch != epoch) return;
                st.current.stages[g][k] = std::move(r.worker);
                for (size_t i = 0; i < r.failed_models.size(); ++i)
                  st.current.failed_models[g][r.failed_models[i]] = r.errors.at(i);
                if (--st.pending == 0) wire_pipelines(self);
              },
              [=](caf::error& e) {
                auto& st = self->state;
                if (st.epoch != epoch) return;
                st.current.failed_groups[g] =
                    fmt::format("group {} stage {} could not be started: {}",
                                st.current.layout[g].group, k, self->system().render(e));
                if (!st.previous) on_event(self, controller_event::stage_failed);
                if (--st.pending == 0) wire_pipelines(self);
              });
    }
  }
}

namespace {

// Drains group g of `gen` (its manager answers what it accepted), then has its nodes stop the
// stage workers; `done` runs once the stop went out (a node agent handles the controller's
// messages in order, so a spawn_stage sent after it finds the memory free).
void retire_group_of(controller_self self, const generation& gen, size_t g,
                     std::function<void()> done = {}) {
  auto& st = self->state;
  const int id = gen.layout[g].group;
  std::vector<net::node_agent_actor> agents;
  for (const auto& stage : gen.layout[g].stages) {
    const auto it = st.members.find(gen.nodes.at(static_cast<size_t>(stage.node)).name);
    if (it != st.members.end() && it->second.alive) agents.push_back(it->second.agent);
  }
  const uint64_t ce = st.controller_epoch;
  auto stop_workers = [=] {
    for (const auto& a : agents) self->send(a, net::retire_group{id, ce});
    if (done) done();
  };
  const net::group_manager_actor manager =
      g < gen.managers.size() ? gen.managers[g] : net::group_manager_actor{};
  if (!manager) return stop_workers();
  self->request(manager, seconds_span(st.settings.timeouts.drain_timeout_s),
                net::group_retire{st.controller_epoch})
      .then([=](bool) { stop_workers(); },
            [=](caf::error& e) {
              spdlog::warn("{}: controller: group {} did not drain ({}); stopping it",
                           self->state.node, id, self->system().render(e));
              self->send_exit(manager, caf::exit_reason::user_shutdown);
              stop_workers();
            });
}

}  // namespace

void retire_generation(controller_self self, generation gen) {
  for (size_t g = 0; g < gen.layout.size(); ++g) retire_group_of(self, gen, g);
}

void reshard_to(controller_self self, const planner::placement& p) {
  auto& st = self->state;
  st.switch_started_s = monotonic_seconds();
  st.switch_mode.clear();
  st.switch_unavailable.clear();
  if (st.settings.backend == "emulated" || !st.previous) return realize_placement(self, p);
  // Real weights: do both generations fit on every device?
  auto& old = *st.previous;
  room_plan room;
  std::set<size_t> keep;
  try {
    const auto backend = backend_of(st.settings);
    // What the running groups hold: not the drained or failed ones (unloaded already).
    std::vector<group_layout> holding;
    std::vector<size_t> holding_index;  // holding[i] is old.layout[holding_index[i]]
    for (size_t g = 0; g < old.layout.size(); ++g)
      if (old.withdrawn.count(g) == 0 && old.failed_groups[g].empty()) {
        holding.push_back(old.layout[g]);
        holding_index.push_back(g);
      }
    const deployment_plan running =
        plan_deployment(holding, old.nodes, st.settings.models, backend);
    // Groups the new placement keeps running are counted once, in `running`, never withdrawn.
    const sticky_layout_result sl = next_layout(st, p);
    std::vector<group_layout> fresh;
    for (size_t g = 0; g < sl.layout.size(); ++g)
      if (sl.kept[g] < 0)
        fresh.push_back(sl.layout[g]);
      else
        for (size_t i = 0; i < holding_index.size(); ++i)
          if (holding_index[i] == static_cast<size_t>(sl.kept[g])) keep.insert(i);
    const deployment_plan next =
        plan_deployment(fresh, st.current.nodes, st.settings.models, backend);
    std::map<std::string, double> memory;
    for (const auto& n : old.nodes) memory[n.name] = n.memory_bytes;
    for (const auto& n : st.current.nodes) memory[n.name] = n.memory_bytes;
    room = make_room(running, next, memory, keep);
    for (auto& w : room.withdraw) w = holding_index[w];  // back to indices into old.layout
  } catch (const std::exception& e) {
    // realize_placement reports the same problem through the phase table.
    spdlog::warn("{}: controller: cannot plan the re-shard's memory: {}", st.node, e.what());
    return realize_placement(self, p);
  }
  if (room.withdraw.empty()) {
    spdlog::info(
        "{}: controller: the new placement's weights fit beside the running ones: "
        "make before break",
        st.node);
    return realize_placement(self, p);
  }
  // Make room: these groups stop taking requests, drain, unload; then the new placement loads
  // beside the groups that stay. A model only they served is answered failed_model_unavailable
  // until the switch (never queued past its SLO, never lost).
  std::vector<int> ids;
  for (size_t g : room.withdraw) {
    ids.push_back(old.layout[g].group);
    old.withdrawn.insert(g);
  }
  const net::routing_table probe = routing_of(st, old);
  for (const auto& m : probe.models)
    if (!m.switching.empty()) st.switch_unavailable.push_back(m.name);
  st.switch_mode =
      fmt::format("drained and unloaded group{} {} first: {}", ids.size() > 1 ? "s" : "",
                  fmt::join(ids, ", "), fmt::join(room.overfull, "; "));
  spdlog::info(
      "{}: controller: the new placement does not fit beside the running one ({}); "
      "draining group{} {} first",
      st.node, fmt::join(room.overfull, "; "), ids.size() > 1 ? "s" : "", fmt::join(ids, ", "));
  const uint64_t epoch = ++st.epoch;
  if (!st.dispatcher)
    return abort_replan(self, controller_event::stage_failed, "the dispatcher is lost");
  send_routing(
      self, old,
      [=](bool) {
        auto& st = self->state;
        if (st.epoch != epoch || !st.previous) return;
        auto left = std::make_shared<size_t>(room.withdraw.size());
        for (size_t g : room.withdraw) {
          retire_group_of(self, *st.previous, g, [=] {
            auto& st = self->state;
            if (--*left > 0 || st.epoch != epoch || !st.previous) return;
            // Retired: nothing of them is left to stop when the generation retires.
            for (size_t w : room.withdraw) st.previous->managers[w] = net::group_manager_actor{};
            spdlog::info(
                "{}: controller: group{} {} drained and unloaded after {:.2f} s; "
                "loading the new placement",
                st.node, room.withdraw.size() > 1 ? "s" : "", fmt::join(ids, ", "),
                monotonic_seconds() - st.switch_started_s);
            realize_placement(self, p);
          });
        }
      },
      [=](caf::error& e) {
        if (self->state.epoch != epoch) return;
        abort_replan(
            self, controller_event::stage_failed,
            "routing table without the drained groups not installed: " + self->system().render(e));
      });
}

}  // namespace alpaserve::actors
