#include "actors/node_agent.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/actor_support.hpp"
#include "actors/device_ledger.hpp"
#include "actors/epoch_gate.hpp"
#include "actors/node_metrics.hpp"
#include "actors/stage_worker.hpp"
#include "actors/weights_donor.hpp"

namespace alpaserve::actors {
namespace {

struct node_agent_state {
  node_agent_setup setup;
  std::vector<net::stage_actor> workers;
  std::vector<int32_t> worker_groups;  // the group of workers[i]
  std::vector<int32_t> worker_stages;  // -1: not a stage leader; else its stage index
  bool registered = false;
  bool controller_lost = false;  // serving on, looking the controller up again
  // The newest deployment record the controller sent (JSON), for the next controller.
  std::string record;
  uint64_t record_epoch = 0;
  std::string not_registered = "registering with the controller";  // why, for readiness
  int loading = 0;  // stages whose ranks are loading their shards
  // Real backends: the weight bytes each local device holds (a stage that does not fit is
  // refused). Emulated devices hold nothing real and are not counted.
  device_ledger ledger;
  // Serves weights_fetch (actors/weights_donor.hpp); started at the first one.
  net::weights_donor_actor donor;
  static inline const char* name = "node_agent";
};

using agent_self = net::node_agent_actor::stateful_pointer<node_agent_state>;

// Collects every rank's stage_ready into one answer for the controller.
struct load_gather {
  caf::typed_response_promise<net::stage_ready> promise;
  net::stage_ready ready;
  size_t waiting = 0;
  void add(const std::string& model, const std::string& error) {
    if (std::find(ready.failed_models.begin(), ready.failed_models.end(), model) ==
        ready.failed_models.end()) {
      ready.failed_models.push_back(model);
      ready.errors.push_back(error);
    }
  }
  bool done_one() {  // true once every rank answered
    if (--waiting != 0) return false;
    promise.deliver(std::move(ready));
    return true;
  }
};

// Readiness (docs/metrics.md): a worker node is ready once the controller accepted it and none of
// its stages is loading.
void publish_readiness(agent_self self) {
  auto& st = self->state;
  auto* m = st.setup.metrics.get();
  if (m == nullptr || !st.setup.controller) return;
  if (!st.registered && st.controller_lost)  // still serving what it runs
    m->set_component("node agent", true, st.not_registered);
  else if (!st.registered)
    m->set_component("node agent", false, st.not_registered);
  else if (st.loading > 0)
    m->set_component("node agent", false, fmt::format("{} stages loading", st.loading));
  else
    m->set_component("node agent", true, "registered");
}

void load_finished(agent_self self) {
  --self->state.loading;
  publish_readiness(self);
}

// A command from an older controller than one already heard.
bool stale(agent_self self, uint64_t epoch, const char* what) {
  return self->state.setup.epochs->refuses(epoch, self->state.setup.node + ": node agent", what);
}

// Weights files other nodes may fetch from this one: the config's and every spawn_stage's.
void allow_weights(agent_self self, const std::vector<std::string>& paths) {
  auto& st = self->state;
  st.setup.weights_files.insert(st.setup.weights_files.end(), paths.begin(), paths.end());
  if (st.donor) self->send(st.donor, net::weights_allow{paths});
}

caf::result<net::weights_chunk> serve_weights(agent_self self, net::weights_fetch& f) {
  auto& st = self->state;
  if (!st.donor) {
    st.donor = spawn_weights_donor(self->system(), st.setup.node, st.setup.weights_files);
    self->link_to(st.donor);
  }
  return self->delegate(st.donor, std::move(f));
}

caf::result<net::stage_ready> start_stage(agent_self self, net::spawn_stage& spec) {
  auto& st = self->state;
  if (stale(self, spec.epoch, "spawn_stage")) return stale_epoch_error();
  std::vector<std::string> files;
  for (const auto& s : spec.shards)
    if (!s.weights_path.empty()) files.push_back(s.weights_path);
  if (!files.empty()) allow_weights(self, files);
  spdlog::info("{}: loading group {} stage {}/{} on {} devices {} ({} shards)", st.setup.node,
               spec.group, spec.stage, spec.num_stages, spec.backend, fmt::join(spec.devices, ","),
               spec.shards.size());
  if (spec.backend != "emulated") {
    double bytes = 0;
    for (const auto& sh : spec.shards) bytes += sh.weight_bytes;
    if (auto why = st.ledger.reserve(spec.group, spec.devices, bytes)) {
      const std::string msg = fmt::format("{}: group {} stage {} does not fit: {}", st.setup.node,
                                          spec.group, spec.stage, *why);
      spdlog::error("{}", msg);
      return caf::make_error(caf::sec::runtime_error, msg);
    }
  }
  std::vector<net::stage_actor> ranks;
  try {
    ranks = spawn_stage_ranks(self->system(), spec,
                              {st.setup.node, st.setup.device_memory_bytes, st.setup.host,
                               st.setup.metrics, st.setup.epochs});
  } catch (const std::exception& e) {
    st.ledger.release(spec.group);
    spdlog::error("{}: starting group {} stage {} failed: {}", st.setup.node, spec.group,
                  spec.stage, e.what());
    return caf::make_error(caf::sec::runtime_error, std::string(e.what()));
  }
  for (size_t r = 0; r < ranks.size(); ++r) {
    self->link_to(ranks[r]);  // a worker dies with its node agent
    st.workers.push_back(ranks[r]);
    st.worker_groups.push_back(spec.group);
    st.worker_stages.push_back(r == 0 ? spec.stage : -1);
  }
  auto g = std::make_shared<load_gather>();
  g->promise = self->make_response_promise<net::stage_ready>();
  g->ready.worker = ranks[0];
  g->waiting = ranks.size();
  ++st.loading;
  publish_readiness(self);
  std::vector<std::string> models;
  for (const auto& s : spec.shards) models.push_back(s.model);
  for (const auto& w : ranks) {
    self->request(w, seconds_span(st.setup.stage_start_timeout_s), net::stage_load{})
        .then(
            [=](net::stage_ready& r) {
              for (size_t i = 0; i < r.failed_models.size(); ++i)
                g->add(r.failed_models[i], r.errors.at(i));
              if (g->done_one()) load_finished(self);
            },
            [=](caf::error& e) {
              for (const auto& m : models) g->add(m, "loading failed: " + self->system().render(e));
              if (g->done_one()) load_finished(self);
            });
  }
  return g->promise;
}

void stop_group(agent_self self, int32_t group) {
  // Unlinked first: a linked worker's exit would take the agent down with it.
  auto& st = self->state;
  st.ledger.release(group);
  size_t stopped = 0;
  for (size_t i = st.workers.size(); i-- > 0;) {
    if (st.worker_groups[i] != group) continue;
    self->unlink_from(st.workers[i]);
    self->send_exit(st.workers[i], caf::exit_reason::user_shutdown);
    st.workers.erase(st.workers.begin() + static_cast<std::ptrdiff_t>(i));
    st.worker_groups.erase(st.worker_groups.begin() + static_cast<std::ptrdiff_t>(i));
    st.worker_stages.erase(st.worker_stages.begin() + static_cast<std::ptrdiff_t>(i));
    ++stopped;
  }
  if (stopped > 0)
    spdlog::info("{}: stopped {} stage workers of retired group {}", st.setup.node, stopped, group);
}

// The controller is unreachable: keep serving what this node runs (the groups need no
// controller) and have the process look the controller up again. Whether the stage workers stay
// is the controller's answer when this node registers again.
void controller_unreachable(agent_self self, const std::string& why) {
  auto& st = self->state;
  st.registered = false;
  st.controller_lost = true;
  st.not_registered = fmt::format("controller lost ({}); serving {} stage workers, looking it up",
                                  why, st.workers.size());
  publish_readiness(self);
  st.setup.on_controller_lost();
}

// After registering: of the groups it reported (`reported`), keep those the controller adopted
// and stop the others (re-placed while this node was away, or the controller starts afresh).
// Groups started after the registration went out are the controller's new ones: untouched.
void keep_only(agent_self self, const std::vector<int32_t>& reported,
               const std::vector<int32_t>& keep) {
  for (int32_t g : reported)
    if (std::find(keep.begin(), keep.end(), g) == keep.end()) stop_group(self, g);
}

void register_with_controller(agent_self self) {
  auto& st = self->state;
  self->monitor(st.setup.controller);
  net::register_node r{st.setup.node, st.setup.device_kind, st.setup.num_devices,
                       st.setup.device_memory_bytes, caf::actor_cast<net::node_agent_actor>(self)};
  for (size_t i = 0; i < st.workers.size(); ++i)
    if (st.worker_stages[i] >= 0)
      r.stages.push_back({st.worker_groups[i], st.worker_stages[i], st.workers[i]});
  r.dispatcher = st.setup.dispatcher;
  r.worker = st.setup.worker;
  r.epoch_seen = st.setup.epochs->newest();
  r.record = st.record;
  std::vector<int32_t> reported;
  for (const auto& rs : r.stages)
    if (std::find(reported.begin(), reported.end(), rs.group) == reported.end())
      reported.push_back(rs.group);
  self->request(st.setup.controller, seconds_span(st.setup.control_timeout_s), std::move(r))
      .then(
          [=, reported = std::move(reported)](net::register_answer& a) {
            auto& st = self->state;
            if (a.accepted && stale(self, a.epoch, "a registration answer")) return;
            st.registered = a.accepted;
            st.controller_lost = false;
            st.not_registered = "the controller did not accept this node";
            if (a.accepted) {
              spdlog::info("{}: registered with the controller (epoch {}; keeps {} groups)",
                           st.setup.node, a.epoch, a.keep_groups.size());
              keep_only(self, reported, a.keep_groups);
            }
            publish_readiness(self);
          },
          [=](caf::error& e) {
            auto& st = self->state;
            const std::string why = self->system().render(e);
            st.not_registered = "registering failed: " + why;
            publish_readiness(self);
            if (node_stopping().load()) return;
            if (st.setup.on_controller_lost) {
              spdlog::warn("{}: registering with the controller failed: {}; trying again",
                           st.setup.node, why);
              controller_unreachable(self, why);
            } else {
              spdlog::error("{}: registering with the controller failed: {}", st.setup.node, why);
            }
          });
}

net::node_agent_actor::behavior_type node_agent(agent_self self, node_agent_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.ledger = device_ledger(st.setup.device_memory_bytes);
  if (!st.setup.epochs) st.setup.epochs = std::make_shared<epoch_gate>();
  if (st.setup.controller) register_with_controller(self);
  publish_readiness(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.setup.controller.address()) return;
    const bool orderly = node_stopping().load() || dm.reason == caf::exit_reason::user_shutdown;
    const std::string why = self->system().render(dm.reason);
    if (!orderly && st.setup.on_controller_lost) {
      spdlog::warn("{}: controller lost ({}); serving on and looking it up again", st.setup.node,
                   why);
      return controller_unreachable(self, why);
    }
    if (orderly)
      spdlog::info("{}: the controller shut down; this node stops", st.setup.node);
    else
      spdlog::error("{}: controller lost ({}); this node stops", st.setup.node, why);
    for (auto& w : st.workers) self->send_exit(w, caf::exit_reason::user_shutdown);
    self->quit(orderly ? caf::error{caf::exit_reason::user_shutdown} : dm.reason);
  });
  return {
      [=](net::spawn_stage& spec) { return start_stage(self, spec); },
      [=](net::weights_fetch& f) { return serve_weights(self, f); },
      [=](net::record_copy& c) {
        auto& st = self->state;
        if (c.epoch < st.record_epoch) return;
        st.record_epoch = c.epoch;
        st.record = std::move(c.record);
      },
      [=](net::retire_group& r) {
        if (!stale(self, r.epoch, "retire_group")) stop_group(self, r.group);
      },
      [=](net::rejoin_controller& r) {
        auto& st = self->state;
        st.setup.controller = std::move(r.controller);
        st.not_registered = "registering with the controller again";
        publish_readiness(self);
        spdlog::info("{}: controller found again; registering", st.setup.node);
        register_with_controller(self);
      },
      [=](net::status_query) -> caf::result<net::cluster_status> {
        auto& st = self->state;
        auto g = std::make_shared<status_gather>();
        g->promise = self->make_response_promise<net::cluster_status>();
        net::actor_status a;
        a.node = st.setup.node;
        a.role = "node-agent";
        a.name = fmt::format("{} x {}", st.setup.num_devices, st.setup.device_kind);
        a.state =
            st.setup.controller ? (st.registered ? "registered" : "registering") : "standalone";
        a.counters = {{"devices", static_cast<double>(st.setup.num_devices)},
                      {"stage_workers", static_cast<double>(st.workers.size())},
                      {"controller_epoch", static_cast<double>(st.setup.epochs->newest())}};
        g->collected.actors.push_back(std::move(a));
        std::vector<net::status_actor> targets(st.workers.begin(), st.workers.end());
        targets.insert(targets.end(), st.setup.local_actors.begin(), st.setup.local_actors.end());
        gather_status(self, g, targets);
        return g->promise;
      },
  };
}

}  // namespace

net::node_agent_actor spawn_node_agent(caf::actor_system& sys, node_agent_setup setup) {
  return sys.spawn(node_agent, std::move(setup));
}

}  // namespace alpaserve::actors
