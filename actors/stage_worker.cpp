#include "actors/stage_worker.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/actor_support.hpp"
#include "actors/epoch_gate.hpp"
#include "actors/lead_timer.hpp"
#include "actors/node_metrics.hpp"
#include "actors/stage_executor.hpp"
#include "actors/stage_queue.hpp"
#include "actors/weights_donor.hpp"
#include "net/rendezvous_actor.hpp"

namespace alpaserve::actors {
namespace {

stage_spec to_stage_spec(const net::spawn_stage& s) {
  stage_spec out;
  out.group = s.group;
  out.stage = s.stage;
  out.num_stages = s.num_stages;
  out.devices.assign(s.devices.begin(), s.devices.end());
  out.backend = s.backend;
  out.recv_over_nccl = s.recv_over_nccl;
  out.send_over_nccl = s.send_over_nccl;
  out.next_op = s.next_op;
  for (const auto& sh : s.shards)
    out.shards.push_back({sh.model, sh.latency_s, sh.weight_bytes, sh.architecture, sh.seed,
                          sh.weights_path, sh.layer_begin, sh.layer_end, sh.batch_latency_s,
                          sh.definition});
  return out;
}

stage_job to_job(net::stage_task&& t) {
  stage_job j;
  j.request_id = t.request_id;
  j.model = std::move(t.model);
  j.batch = std::max(1, t.batch_size);
  j.payload = std::move(t.payload);
  j.device_shape = std::move(t.device_shape);
  j.error = std::move(t.error);
  j.queue_s = std::move(t.queue_s);
  j.run_s = std::move(t.run_s);
  j.nominal_s = std::move(t.nominal_s);
  return j;
}

net::stage_task to_task(stage_job&& j) {
  net::stage_task t;
  t.request_id = j.request_id;
  t.model = std::move(j.model);
  t.batch_size = j.batch;
  t.payload = std::move(j.payload);
  t.device_shape = std::move(j.device_shape);
  t.error = std::move(j.error);
  t.queue_s = std::move(j.queue_s);
  t.run_s = std::move(j.run_s);
  t.nominal_s = std::move(j.nominal_s);
  return t;
}

struct stage_worker_state {
  stage_rank_options options;
  net::spawn_stage spec;
  int rank = 0;
  std::vector<net::stage_actor> peers;  // leader only: ranks 1..op-1
  net::stage_sink_actor next;
  net::stage_free_actor free_to;  // stage 0's leader: the group manager, told after each batch
  bool loaded = false;
  std::vector<std::string> failed_models;
  caf::typed_response_promise<net::stage_ready> load_promise;
  node_metrics::device_usage usage;  // this rank's devices in the node's metrics
  // Declared in destruction order: the queue uses the executor, the executor the timer.
  std::unique_ptr<lead_timer> timer;
  std::unique_ptr<stage_executor> executor;
  std::unique_ptr<stage_queue> queue;
  static inline const char* name = "stage_worker";
};

using stage_self = net::stage_actor::stateful_pointer<stage_worker_state>;

net::stage_ready ready_of(stage_self self, std::vector<shard_failure> failures) {
  net::stage_ready r;
  r.worker = caf::actor_cast<net::stage_actor>(self);
  for (auto& f : failures) {
    r.failed_models.push_back(std::move(f.model));
    r.errors.push_back(std::move(f.error));
  }
  return r;
}

void note_loaded(stage_self self, const net::stage_ready& r) {
  auto& st = self->state;
  st.loaded = true;
  st.failed_models = r.failed_models;
  st.usage.weight_bytes(static_cast<double>(st.executor->weight_bytes()));
  for (const auto& e : r.errors) spdlog::error("{}: {}", st.options.node, e);
}

net::actor_status describe(stage_self self) {
  const auto& st = self->state;
  net::actor_status a;
  a.node = st.options.node;
  a.role = "stage-worker";
  const size_t op = std::max<size_t>(st.spec.devices.size(), 1);
  a.name = fmt::format("group {} stage {}/{} op rank {}/{} devices {} ({})", st.spec.group,
                       st.spec.stage, st.spec.num_stages, st.rank, op,
                       fmt::join(st.spec.devices, ","), st.spec.backend);
  if (auto* real = dynamic_cast<real_executor*>(st.executor.get());
      real && real->allreduce() != "none")
    a.name += fmt::format(", all-reduce {}", real->allreduce());
  if (st.spec.recv_over_nccl || st.spec.send_over_nccl) a.name += ", activations over NCCL";
  a.state = !st.loaded ? "loading" : (st.queue->busy() ? "busy" : "idle");
  a.queue_length = static_cast<int64_t>(st.queue->length());
  for (const auto& s : st.spec.shards) {
    const bool failed = std::find(st.failed_models.begin(), st.failed_models.end(), s.model) !=
                        st.failed_models.end();
    const std::string what = !s.definition.empty() ? "model folder" : s.architecture;
    const std::string layers =
        what.empty() ? std::string()
                     : fmt::format(" {} layers [{}, {})", what, s.layer_begin, s.layer_end);
    a.shards.push_back(fmt::format("{}{} ({:.1f} ms, {:.2f} GiB){}", s.model, layers,
                                   s.latency_s * 1e3, s.weight_bytes / (1024.0 * 1024 * 1024),
                                   failed ? " FAILED TO LOAD" : ""));
  }
  a.counters = {{"processed", static_cast<double>(st.queue->processed())},
                {"busy_seconds", st.queue->busy_seconds()},
                {"weight_bytes", static_cast<double>(st.executor->weight_bytes())}};
  return a;
}

net::stage_actor::behavior_type stage_worker(stage_self self, stage_rank_options options,
                                             net::spawn_stage spec, int rank,
                                             std::vector<net::stage_actor> peers) {
  auto& st = self->state;
  st.options = std::move(options);
  st.spec = std::move(spec);
  st.rank = rank;
  st.peers = std::move(peers);
  // An emulated stage's one rank runs on all its devices; a real rank on its own.
  std::vector<int> devices(st.spec.devices.begin(), st.spec.devices.end());
  if (st.spec.backend != "emulated" && static_cast<size_t>(rank) < devices.size())
    devices = {devices[static_cast<size_t>(rank)]};
  st.usage = node_metrics::device_usage(st.options.metrics, devices, st.spec.backend);
  st.timer = std::make_unique<lead_timer>([self](double delay_s, uint64_t token) {
    self->delayed_send(self, seconds_span(delay_s), net::stage_done_tick{token});
  });
  real_rank_options ro;
  ro.rank = rank;
  ro.memory_budget_bytes = static_cast<size_t>(st.options.device_memory_bytes);
  ro.host = st.options.host;
  const bool linked = st.spec.recv_over_nccl || st.spec.send_over_nccl;
  if ((st.spec.devices.size() > 1 || linked) && st.spec.rendezvous)
    ro.store = net::actor_rendezvous_store(&self->system(), st.spec.rendezvous);
  ro.node = st.options.node;
  if (!st.spec.weight_donors.empty())
    ro.remote_weights = [sys = &self->system(), donors = st.spec.weight_donors,
                         names = st.spec.weight_donor_names](const std::string& path) {
      return make_actor_weight_source(sys, path, donors, names);
    };
  st.executor = make_stage_executor(st.spec.backend, *st.timer, std::move(ro));
  // The emulated executor calls back on this actor's thread (its timer is this actor's); a real
  // one on its job thread, so the outcome comes back as a message.
  const bool same_thread = st.executor->backend() == "emulated";
  auto deliver = [self, same_thread](uint64_t token, stage_run_result r) {
    if (same_thread) {
      self->state.queue->complete(token, std::move(r));
      return;
    }
    caf::anon_send(caf::actor_cast<net::stage_actor>(self),
                   net::stage_run_done{token, std::move(r.payload), 0, r.run_s, std::move(r.error),
                                       std::move(r.device_shape)});
  };
  auto finished = [self](stage_job job) {
    auto& st = self->state;
    st.usage.busy_total(st.queue->busy_seconds());
    if (st.rank != 0 || !st.next) return;  // peers' outputs equal the leader's
    const uint64_t id = job.request_id;
    self->send(st.next, to_task(std::move(job)));
    if (st.free_to) self->send(st.free_to, net::stage_free{id});
  };
  st.queue = std::make_unique<stage_queue>(*st.executor, std::move(deliver), std::move(finished),
                                           [timer = st.timer.get()] { return timer->now(); });
  return {
      [=](net::stage_load) -> caf::result<net::stage_ready> {
        auto& st = self->state;
        if (st.executor->backend() == "emulated") {  // loads synchronously
          std::optional<net::stage_ready> ready;
          st.executor->load(to_stage_spec(st.spec), [&](std::vector<shard_failure> failed) {
            ready = ready_of(self, std::move(failed));
          });
          note_loaded(self, *ready);
          return std::move(*ready);
        }
        st.load_promise = self->make_response_promise<net::stage_ready>();
        st.executor->load(to_stage_spec(st.spec), [self](std::vector<shard_failure> failed) {
          caf::anon_send(caf::actor_cast<net::stage_actor>(self),
                         ready_of(self, std::move(failed)));
        });
        return st.load_promise;
      },
      [=](net::stage_ready& r) {  // a real executor finished loading (its job thread)
        note_loaded(self, r);
        self->state.load_promise.deliver(std::move(r));
      },
      [=](net::stage_wire& w) -> caf::result<bool> {
        const auto& gate = self->state.options.epochs;
        if (gate && gate->refuses(w.epoch, self->state.options.node + ": stage", "stage_wire"))
          return stale_epoch_error();
        self->state.next = std::move(w.next);
        self->state.free_to = std::move(w.free_to);
        return true;
      },
      [=](net::stage_task& t) {
        auto& st = self->state;
        if (st.rank == 0)
          for (const auto& p : st.peers) self->send(p, t);
        st.queue->enqueue(to_job(std::move(t)));
      },
      [=](net::stage_run_done& d) {
        stage_run_result r;
        r.payload = std::move(d.payload);
        r.error = std::move(d.error);
        r.device_shape = std::move(d.device_shape);
        r.run_s = d.run_s;
        self->state.queue->complete(d.token, std::move(r));
      },
      [=](const net::stage_done_tick& tick) { self->state.timer->on_tick(tick.token); },
      [=](net::status_query) { return net::cluster_status{{describe(self)}}; },
  };
}

}  // namespace

std::vector<net::stage_actor> spawn_stage_ranks(caf::actor_system& sys,
                                                const net::spawn_stage& spec,
                                                const stage_rank_options& options) {
  const size_t op = spec.backend == "emulated" ? 1 : std::max<size_t>(spec.devices.size(), 1);
  std::vector<net::stage_actor> ranks(op);
  for (size_t r = op; r-- > 1;)
    ranks[r] = sys.spawn(stage_worker, options, spec, static_cast<int>(r),
                         std::vector<net::stage_actor>{});
  ranks[0] = sys.spawn(stage_worker, options, spec, 0,
                       std::vector<net::stage_actor>(ranks.begin() + 1, ranks.end()));
  return ranks;
}

}  // namespace alpaserve::actors
