// The runtime's five actors in one translation unit (CAF headers cost ~12 s per unit).
// Flow (docs/runtime.md): client -> dispatcher (admission: dispatch_core) -> group manager
// (delegated, replies to the client) -> stage 0 worker -> ... -> last stage worker -> group
// manager -> client; the group manager feeds measured stage ends back to the dispatcher.

#include "actors/runtime_actors.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/job_thread.hpp"
#include "actors/real_stage.hpp"
#include "kernels/device_backend.hpp"
#include "net/gloo_group.hpp"
#include "net/messages.hpp"
#include "planner/model_zoo.hpp"
#include "planner/placement_evaluator.hpp"
#include "planner/replan_rule.hpp"
#include "planner/traffic_meter.hpp"
#include "planner/train_workload.hpp"

namespace alpaserve::actors {

double monotonic_seconds() noexcept {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

namespace {

using namespace std::chrono_literals;
using net::reply_status;

caf::timespan seconds_span(double s) {
  return std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(s));
}

net::infer_reply make_reply(uint64_t id, reply_status status, std::string message, int group = -1) {
  net::infer_reply r;
  r.request_id = id;
  r.status = status;
  r.message = std::move(message);
  r.group = group;
  return r;
}

// Collects cluster_status answers from several actors, then delivers them all at once.
struct status_gather {
  caf::response_promise promise;
  net::cluster_status collected;
  size_t waiting = 0;
  void done_one() {
    if (--waiting == 0) promise.deliver(std::move(collected));
  }
};

void gather_status(caf::event_based_actor* self, std::shared_ptr<status_gather> g,
                   const std::vector<caf::actor>& targets) {
  g->waiting = targets.size() + 1;  // +1: the caller's own entry, added before done_one()
  for (const auto& t : targets) {
    self->request(t, 3s, net::status_query{})
        .then(
            [g](net::cluster_status& s) {
              for (auto& a : s.actors) g->collected.actors.push_back(std::move(a));
              g->done_one();
            },
            [g](caf::error&) { g->done_one(); });
  }
  g->done_one();
}

// ---- stage worker ----------------------------------------------------------------------------
// FCFS execution of one pipeline stage on its devices. The emulated backend
// (kernels/device_backend.hpp) says how long a batch occupies the devices; that time elapses
// without blocking a thread: a delayed message to itself, sent early by the timer lead because
// CAF's timer thread and the scheduler's wake-up are late (0.1 ms on a quiet machine, several ms
// on a loaded one); the rest is waited out yielding the thread. The lead follows the observed
// lateness (its ~90th percentile, between 0.2 and 1 ms), so the measured stage time is the
// emulated one in most cases without spinning long where timers are punctual.

constexpr double min_timer_lead_s = 200e-6;
constexpr double max_timer_lead_s = 1e-3;

// Streaming estimate of the 90th percentile of timer lateness (stochastic approximation: a
// late sample pushes the estimate up 9x as hard as an early one pushes it down).
struct lateness_estimate {
  double q90 = min_timer_lead_s;
  void observe(double late) noexcept {
    constexpr double step = 20e-6;
    q90 += late > q90 ? 0.9 * step : -0.1 * step;
    q90 = std::clamp(q90, min_timer_lead_s, max_timer_lead_s);
  }
};

using shard_map = std::unordered_map<std::string, std::unique_ptr<kernels::stage_backend>>;

struct stage_worker_state {
  std::string node;
  net::spawn_stage spec;
  shard_map shards;  // model -> its shard on this stage's devices
  caf::actor next;
  struct queued {
    net::stage_task task;
    double arrived;
  };
  std::deque<queued> queue;
  bool busy = false;
  net::stage_task current;
  double current_start = 0;
  double current_nominal = 0;
  double current_end = 0;  // when the emulated time is up
  double tick_due = 0;     // when the pending timer should fire
  lateness_estimate timer;
  uint64_t token = 0;
  uint64_t processed = 0;
  double busy_seconds = 0;
  static inline const char* name = "stage_worker";
};

using stage_worker_actor = caf::stateful_actor<stage_worker_state>*;

// Emulated backends for every shard of `spec` (throws when one fails to load).
shard_map load_shards(const net::spawn_stage& spec) {
  shard_map out;
  for (const auto& s : spec.shards) {
    auto backend = kernels::make_backend(spec.backend);
    if (!backend->is_emulated())
      throw std::runtime_error("stage worker: backend '" + spec.backend +
                               "' runs real compute; this worker only drives emulated devices");
    // Profile-only models have no architecture: a one-layer stand-in shard carries the name;
    // the emulated backend computes nothing and reports the profiled latency and weights.
    kernels::model_spec m;
    m.name = s.model;
    m.hidden = 64;
    m.heads = 1;
    m.layers = std::max(1, spec.num_stages);
    m.vocab = 1;
    m.seq_len = 1;
    kernels::load_options o;
    o.stage_latency_s = {s.latency_s};
    o.emulated_weight_bytes = static_cast<size_t>(s.weight_bytes);
    backend->load(kernels::make_shard(m, spec.stage, spec.stage + 1), o);
    out[s.model] = std::move(backend);
  }
  return out;
}

void finish_current(stage_worker_actor self);

// Waits out the rest of the emulated stage time: a timer when more than the lead is left,
// else yielding the thread until it is up.
void wait_stage(stage_worker_actor self) {
  auto& st = self->state;
  const double now = monotonic_seconds();
  const double left = st.current_end - now;
  const double lead = st.timer.q90;
  if (left > lead) {
    st.tick_due = now + (left - lead);
    self->delayed_send(self, seconds_span(left - lead), net::stage_done_tick{st.token});
    return;
  }
  while (monotonic_seconds() < st.current_end) std::this_thread::yield();
  finish_current(self);
}

void start_next(stage_worker_actor self) {
  auto& st = self->state;
  if (st.busy || st.queue.empty()) return;
  const double now = monotonic_seconds();
  stage_worker_state::queued q = std::move(st.queue.front());
  st.queue.pop_front();
  auto it = st.shards.find(q.task.model);
  st.current_nominal = it == st.shards.end() ? 0.0 : it->second->emulated_stage_seconds(1);
  if (it == st.shards.end())
    spdlog::error("{}: stage {}.{} holds no shard of model '{}'", st.node, st.spec.group,
                  st.spec.stage, q.task.model);
  q.task.queue_s.push_back(now - q.arrived);
  st.current = std::move(q.task);
  st.current_start = now;
  st.current_end = now + st.current_nominal;
  st.busy = true;
  ++st.token;
  wait_stage(self);
}

// The last stage answers the client directly, then hands the timings to its group manager.
void reply_to_client(caf::local_actor* self, net::stage_task& t) {
  net::infer_reply r;
  r.request_id = t.client_request_id;
  r.status = reply_status::ok;
  r.result = std::move(t.payload);
  r.group = t.group;
  double in_stages = 0;
  for (size_t k = 0; k < t.run_s.size(); ++k) in_stages += t.run_s[k] + t.queue_s[k];
  r.server_s = t.server_base_s + in_stages;  // stage-to-stage hops not included
  r.predicted_s = t.predicted_s;
  r.stage_queue_s = t.queue_s;
  r.stage_run_s = t.run_s;
  r.stage_nominal_s = t.nominal_s;
  caf::response_promise rp(caf::actor_cast<caf::strong_actor_ptr>(self),
                           caf::actor_cast<caf::strong_actor_ptr>(t.reply_to), {},
                           caf::message_id(t.reply_mid));
  rp.deliver(std::move(r));
  t.payload.clear();
  t.reply_to = nullptr;
}

void finish_current(stage_worker_actor self) {
  auto& st = self->state;
  const double run = monotonic_seconds() - st.current_start;
  st.current.run_s.push_back(run);
  st.current.nominal_s.push_back(st.current_nominal);
  st.busy_seconds += run;
  ++st.processed;
  st.busy = false;
  const bool last = st.spec.stage + 1 >= st.spec.num_stages;
  if (last && st.current.reply_to) reply_to_client(self, st.current);
  if (st.next) self->send(st.next, std::move(st.current));
  start_next(self);
}

caf::behavior stage_worker(stage_worker_actor self, std::string node, net::spawn_stage spec,
                           std::shared_ptr<shard_map> shards) {
  self->state.node = std::move(node);
  self->state.spec = std::move(spec);
  self->state.shards = std::move(*shards);
  return {
      [=](net::stage_wire& w) {
        self->state.next = std::move(w.next);
        return true;
      },
      [=](net::stage_task& t) {
        self->state.queue.push_back({std::move(t), monotonic_seconds()});
        start_next(self);
      },
      [=](const net::stage_done_tick& tick) {
        auto& st = self->state;
        if (!st.busy || tick.token != st.token) return;
        st.timer.observe(monotonic_seconds() - st.tick_due);
        wait_stage(self);
      },
      [=](net::status_query) {
        const auto& st = self->state;
        net::actor_status a;
        a.node = st.node;
        a.role = "stage-worker";
        a.name = fmt::format("group {} stage {}/{} devices {}", st.spec.group, st.spec.stage,
                             st.spec.num_stages, fmt::join(st.spec.devices, ","));
        a.state = st.busy ? "busy" : "idle";
        a.queue_length = static_cast<int64_t>(st.queue.size()) + (st.busy ? 1 : 0);
        for (const auto& s : st.spec.shards)
          a.shards.push_back(fmt::format("{} ({:.1f} ms, {:.2f} GiB)", s.model, s.latency_s * 1e3,
                                         s.weight_bytes / (1024.0 * 1024 * 1024)));
        a.counters = {{"processed", static_cast<double>(st.processed)},
                      {"busy_seconds", st.busy_seconds}};
        return net::cluster_status{{std::move(a)}};
      },
  };
}

// ---- rendezvous store ------------------------------------------------------------------------
// A key-value store on the controller node where the Gloo ranks of a tensor-parallel stage
// exchange their addresses ("rendezvous through the actors"). A get of a missing key is answered
// once some rank puts it.

struct kv_store_state {
  std::unordered_map<std::string, std::string> values;
  std::unordered_map<std::string, std::vector<caf::response_promise>> waiting;
  static inline const char* name = "rendezvous";
};

caf::behavior kv_store(caf::stateful_actor<kv_store_state>* self) {
  return {
      [=](net::kv_put& p) {
        auto& st = self->state;
        auto w = st.waiting.find(p.key);
        if (w != st.waiting.end()) {
          for (auto& rp : w->second) rp.deliver(p.value);
          st.waiting.erase(w);
        }
        st.values[p.key] = std::move(p.value);
      },
      [=](net::kv_get& g) -> caf::result<std::string> {
        auto& st = self->state;
        auto it = st.values.find(g.key);
        if (it != st.values.end()) return it->second;
        auto rp = self->make_response_promise();
        st.waiting[g.key].push_back(rp);
        return rp;
      },
  };
}

// The store as Gloo's rendezvous sees it; called from a worker's job thread (never from a CAF
// scheduler thread), so the blocking request is fine.
net::rendezvous_store actor_rendezvous_store(caf::actor_system* sys, caf::actor store) {
  net::rendezvous_store s;
  s.set = [store](const std::string& key, const std::string& value) {
    caf::anon_send(store, net::kv_put{key, value});
  };
  s.get = [sys, store](const std::string& key, std::chrono::milliseconds timeout) {
    caf::scoped_actor self{*sys};
    std::string value, problem;
    self->request(store, timeout, net::kv_get{key})
        .receive([&](std::string& v) { value = std::move(v); },
                 [&](caf::error& e) { problem = sys->render(e); });
    if (!problem.empty())
      throw std::runtime_error(fmt::format("rendezvous key '{}': {}", key, problem));
    return value;
  };
  return s;
}

// ---- real stage worker ---------------------------------------------------------------------
// One op rank of a pipeline stage on a cpu / cuda device (docs/real-execution.md). Its backend
// loads and computes on its own job_thread; results come back as stage_run_done messages.
// Rank 0 (the leader) is the stage's address: it hands every task to its peer ranks too (each
// rank needs the full input), forwards its own output to the next stage, and the peers drop
// theirs. Within the stage the ranks all-reduce through Gloo.

struct real_worker_state {
  std::string node;
  net::spawn_stage spec;
  int rank = 0;
  std::vector<caf::actor> peers;  // leader only: ranks 1..op-1
  caf::actor next;
  std::unordered_map<std::string, double> nominal;         // model -> profiled stage seconds
  std::unordered_map<uint64_t, net::stage_task> inflight;  // token -> task (payload moved out)
  uint64_t next_token = 0;
  caf::response_promise load_promise;
  std::vector<std::string> failed_models;
  std::vector<std::string> errors;
  bool loaded = false;
  std::string allreduce = "none";  // choose_allreduce of the plan: none / gloo / nccl
  uint64_t processed = 0;
  double busy_seconds = 0;
  std::shared_ptr<real_stage> stage = std::make_shared<real_stage>();
  std::unique_ptr<job_thread> thread = std::make_unique<job_thread>();  // joined first
  static inline const char* name = "real_stage_worker";
};

using real_worker = caf::stateful_actor<real_worker_state>*;

real_stage_plan make_real_plan(const net::spawn_stage& spec, int rank, size_t memory_budget,
                               const std::string& host) {
  real_stage_plan plan;
  plan.backend = spec.backend;
  plan.op_rank = rank;
  plan.op_size = static_cast<int>(std::max<size_t>(spec.devices.size(), 1));
  plan.memory_budget_bytes = memory_budget;
  plan.device = spec.devices.empty() ? 0 : spec.devices[static_cast<size_t>(rank)];
  plan.stage_devices.assign(spec.devices.begin(), spec.devices.end());
  plan.label = fmt::format("group {} stage {}", spec.group, spec.stage);
  plan.gloo_host = host;
  plan.gloo_prefix = fmt::format("alpaserve/g{}/s{}", spec.group, spec.stage);
  // Link b<k> joins stage k's leader with stage k + 1's ranks.
  if (spec.recv_over_nccl)
    plan.recv_link_prefix = fmt::format("alpaserve/g{}/b{}", spec.group, spec.stage - 1);
  if (spec.send_over_nccl && rank == 0) {
    plan.send_link_prefix = fmt::format("alpaserve/g{}/b{}", spec.group, spec.stage);
    plan.next_op_size = spec.next_op;
  }
  for (const auto& s : spec.shards) {
    real_shard_plan sp;
    sp.model = s.model;
    sp.spec = real_model_spec(s.architecture, s.seed, s.model);
    sp.layer_begin = s.layer_begin;
    sp.layer_end = s.layer_end;
    sp.weights_path = s.weights_path;
    plan.shards.push_back(std::move(sp));
  }
  return plan;
}

caf::behavior real_stage_worker(real_worker self, std::string node, net::spawn_stage spec, int rank,
                                std::vector<caf::actor> peers, double memory, std::string host) {
  auto& st = self->state;
  st.node = std::move(node);
  st.rank = rank;
  st.peers = std::move(peers);
  for (const auto& s : spec.shards) st.nominal[s.model] = s.latency_s;
  st.spec = std::move(spec);
  auto submit = [=](net::stage_task& t) {
    auto& st = self->state;
    const uint64_t token = ++st.next_token;
    std::string payload = std::move(t.payload);
    std::string model = t.model;
    std::vector<int64_t> device_shape = std::move(t.device_shape);
    st.inflight.emplace(token, std::move(t));
    const double arrived = monotonic_seconds();
    st.thread->post([stage = st.stage, me = caf::actor_cast<caf::actor>(self), token,
                     model = std::move(model), payload = std::move(payload),
                     device_shape = std::move(device_shape), arrived] {
      const double start = monotonic_seconds();
      real_stage::output out = stage->run(model, payload, device_shape);
      const double end = monotonic_seconds();
      caf::anon_send(
          me, net::stage_run_done{token, std::move(out.payload), start - arrived, end - start,
                                  std::move(out.error), std::move(out.device_shape)});
    });
  };
  return {
      [=](net::stage_load) -> caf::result<net::stage_ready> {
        auto& st = self->state;
        real_stage_plan plan;
        try {
          plan = make_real_plan(st.spec, st.rank, static_cast<size_t>(memory), host);
        } catch (const std::exception& e) {
          net::stage_ready r{caf::actor_cast<caf::actor>(self), {}, {}};
          for (const auto& s : st.spec.shards) {
            r.failed_models.push_back(s.model);
            r.errors.push_back(e.what());
          }
          return r;
        }
        st.load_promise = self->make_response_promise();
        st.allreduce = choose_allreduce(plan);  // the job thread's real_stage::load picks the same
        std::optional<net::rendezvous_store> store;
        const bool linked = !plan.recv_link_prefix.empty() || !plan.send_link_prefix.empty();
        if ((plan.op_size > 1 || linked) && st.spec.rendezvous)
          store = actor_rendezvous_store(&self->system(), st.spec.rendezvous);
        st.thread->post([stage = st.stage, me = caf::actor_cast<caf::actor>(self),
                         plan = std::move(plan), store = std::move(store)] {
          auto failures = stage->load(plan, store ? &*store : nullptr);
          net::stage_ready r{me, {}, {}};
          for (auto& f : failures) {
            r.failed_models.push_back(std::move(f.model));
            r.errors.push_back(std::move(f.error));
          }
          caf::anon_send(me, std::move(r));
        });
        return st.load_promise;
      },
      [=](net::stage_ready& r) {  // from the job thread: loading finished
        auto& st = self->state;
        st.loaded = true;
        st.failed_models = r.failed_models;
        st.errors = r.errors;
        for (const auto& e : r.errors) spdlog::error("{}: {}", st.node, e);
        st.load_promise.deliver(std::move(r));
      },
      [=](net::stage_wire& w) {
        self->state.next = std::move(w.next);
        return true;
      },
      [=](net::stage_task& t) {
        auto& st = self->state;
        if (st.rank == 0)
          for (const auto& p : st.peers) self->send(p, t);
        if (!t.error.empty()) {  // an earlier stage rejected it: pass it on untouched
          if (st.rank == 0 && st.next) self->send(st.next, std::move(t));
          return;
        }
        submit(t);
      },
      [=](net::stage_run_done& d) {
        auto& st = self->state;
        auto it = st.inflight.find(d.token);
        if (it == st.inflight.end()) return;
        net::stage_task task = std::move(it->second);
        st.inflight.erase(it);
        ++st.processed;
        st.busy_seconds += d.run_s;
        if (st.rank != 0 || !st.next) return;  // peers' outputs equal the leader's
        task.queue_s.push_back(d.queue_s);
        task.run_s.push_back(d.run_s);
        auto n = st.nominal.find(task.model);
        task.nominal_s.push_back(n == st.nominal.end() ? 0.0 : n->second);
        if (d.error.empty()) {
          task.payload = std::move(d.payload);
          task.device_shape = std::move(d.device_shape);
          // The last stage answers the client itself; errors go via the group manager.
          if (st.spec.stage + 1 >= st.spec.num_stages && task.reply_to) reply_to_client(self, task);
        } else {
          task.error = std::move(d.error);
        }
        self->send(st.next, std::move(task));
      },
      [=](net::status_query) {
        const auto& st = self->state;
        net::actor_status a;
        a.node = st.node;
        a.role = "stage-worker";
        a.name = fmt::format(
            "group {} stage {}/{} op rank {}/{} device {} ({})", st.spec.group, st.spec.stage,
            st.spec.num_stages, st.rank, std::max<size_t>(st.spec.devices.size(), 1),
            st.spec.devices.empty() ? 0 : st.spec.devices[st.rank], st.spec.backend);
        if (st.allreduce != "none") a.name += fmt::format(", all-reduce {}", st.allreduce);
        if (st.spec.recv_over_nccl || st.spec.send_over_nccl) a.name += ", activations over NCCL";
        a.state = !st.loaded ? "loading" : (st.inflight.empty() ? "idle" : "busy");
        a.queue_length = static_cast<int64_t>(st.inflight.size());
        for (const auto& s : st.spec.shards) {
          const bool failed = std::find(st.failed_models.begin(), st.failed_models.end(),
                                        s.model) != st.failed_models.end();
          a.shards.push_back(fmt::format("{} {} layers [{}, {}) ({:.1f} ms){}", s.model,
                                         s.architecture, s.layer_begin, s.layer_end,
                                         s.latency_s * 1e3, failed ? " FAILED TO LOAD" : ""));
        }
        a.counters = {{"processed", static_cast<double>(st.processed)},
                      {"busy_seconds", st.busy_seconds},
                      {"weight_bytes", static_cast<double>(st.stage->weight_bytes())}};
        return net::cluster_status{{std::move(a)}};
      },
  };
}

// ---- group manager -------------------------------------------------------------------------
// Feeds its pipeline, replies to clients, reports measured stage times to the dispatcher, and
// fails every in-flight request explicitly when a stage worker's node is lost.

struct group_manager_state {
  std::string node;
  int group = 0;
  std::string description;
  std::vector<caf::actor> stages;
  caf::actor dispatcher;
  double request_timeout_s = 30;
  struct flight {
    caf::response_promise promise;
    uint64_t client_id = 0;
    std::string model;
    double admitted_at = 0;
    double predicted_finish = 0;
  };
  std::unordered_map<uint64_t, flight> flights;
  uint64_t next_seq = 0;
  bool retiring = false;          // replaced by a re-plan: stop once drained
  caf::response_promise retired;  // answered when the last in-flight request is
  bool broken = false;
  std::string broken_reason;
  uint64_t completed = 0, failed = 0, timed_out = 0;
  static inline const char* name = "group_manager";
};

// A retiring manager stops once nothing is in flight (its stage workers are stopped by their
// node agents afterwards, on the controller's word).
void finish_if_retired(caf::stateful_actor<group_manager_state>* self) {
  auto& st = self->state;
  if (!st.retiring || !st.flights.empty()) return;
  st.retired.deliver(true);
  for (const auto& s : st.stages) self->demonitor(s);
  self->quit();
}

void fail_flight(caf::stateful_actor<group_manager_state>* self, uint64_t seq, reply_status status,
                 const std::string& why) {
  auto& st = self->state;
  auto it = st.flights.find(seq);
  if (it == st.flights.end()) return;
  it->second.promise.deliver(make_reply(it->second.client_id, status, why, st.group));
  net::group_feedback fb;
  fb.group = st.group;
  fb.model = it->second.model;
  fb.completed = false;
  self->send(st.dispatcher, std::move(fb));
  st.flights.erase(it);
  ++st.failed;
  finish_if_retired(self);
}

caf::behavior group_manager(caf::stateful_actor<group_manager_state>* self, std::string node,
                            int group, std::string description, std::vector<caf::actor> stages,
                            caf::actor dispatcher, double request_timeout_s) {
  auto& st = self->state;
  st.node = std::move(node);
  st.group = group;
  st.description = std::move(description);
  st.stages = std::move(stages);
  st.dispatcher = std::move(dispatcher);
  st.request_timeout_s = request_timeout_s;
  for (const auto& s : st.stages) self->monitor(s);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.broken) return;
    int lost = -1;
    for (size_t k = 0; k < st.stages.size(); ++k)
      if (st.stages[k].address() == dm.source) lost = static_cast<int>(k);
    if (lost < 0) return;
    st.broken = true;
    st.broken_reason = fmt::format("group {} lost its stage {} worker ({})", st.group, lost,
                                   self->system().render(dm.reason));
    spdlog::warn("{}: {}; failing {} in-flight requests", st.node, st.broken_reason,
                 st.flights.size());
    std::vector<uint64_t> seqs;
    for (const auto& [seq, f] : st.flights) seqs.push_back(seq);
    for (uint64_t seq : seqs)
      fail_flight(self, seq, reply_status::failed_node_lost, st.broken_reason);
    self->send(st.dispatcher, net::group_down{st.group, st.broken_reason});
  });
  self->delayed_send(self, 1s, net::sweep_tick{});
  return {
      [=](net::group_request& r) -> caf::result<net::infer_reply> {
        auto& st = self->state;
        if (st.broken) {
          net::group_feedback fb;
          fb.group = st.group;
          fb.model = r.request.model;
          self->send(st.dispatcher, std::move(fb));
          return make_reply(r.request.request_id, reply_status::failed_node_lost, st.broken_reason,
                            st.group);
        }
        const uint64_t seq = ++st.next_seq;
        auto& f = st.flights[seq];
        f.promise = self->make_response_promise();
        f.client_id = r.request.request_id;
        f.model = r.request.model;
        f.admitted_at = r.admitted_at;
        f.predicted_finish = r.predicted_finish;
        net::stage_task task;
        task.request_id = seq;
        task.model = std::move(r.request.model);
        task.payload = std::move(r.request.payload);
        task.reply_to = caf::actor_cast<caf::actor>(f.promise.source());
        task.reply_mid = f.promise.id().integer_value();
        task.client_request_id = f.client_id;
        task.group = st.group;
        task.predicted_s = f.predicted_finish - f.admitted_at;
        task.server_base_s = monotonic_seconds() - f.admitted_at;
        self->send(st.stages.front(), std::move(task));
        return f.promise;
      },
      [=](net::stage_task& t) {  // the last stage finished a request
        auto& st = self->state;
        auto it = st.flights.find(t.request_id);
        if (it == st.flights.end()) return;  // already failed (timeout or lost node)
        const double now = monotonic_seconds();
        auto& f = it->second;
        if (!t.error.empty()) {  // a stage could not run the input (never answered by a stage)
          f.promise.deliver(
              make_reply(f.client_id, reply_status::rejected_bad_input, t.error, st.group));
          net::group_feedback fb;
          fb.group = st.group;
          fb.model = std::move(f.model);
          self->send(st.dispatcher, std::move(fb));
          st.flights.erase(it);
          ++st.failed;
          finish_if_retired(self);
          return;
        }
        if (t.reply_to) {  // the last stage did not answer the client (no reply address)
          net::infer_reply r;
          r.request_id = f.client_id;
          r.status = reply_status::ok;
          r.result = std::move(t.payload);
          r.group = st.group;
          r.server_s = now - f.admitted_at;
          r.predicted_s = f.predicted_finish - f.admitted_at;
          r.stage_queue_s = t.queue_s;
          r.stage_run_s = t.run_s;
          r.stage_nominal_s = t.nominal_s;
          f.promise.deliver(std::move(r));
        }
        // Stage ends on this clock, walking back from now (hand-off times ignored: the
        // estimates are slightly late, which keeps the mirror conservative).
        net::group_feedback fb;
        fb.group = st.group;
        fb.model = std::move(f.model);
        fb.completed = true;
        const size_t n = t.run_s.size();
        fb.stage_end.assign(n, now);
        for (size_t k = n; k-- > 1;)
          fb.stage_end[k - 1] = fb.stage_end[k] - t.run_s[k] - t.queue_s[k];
        fb.stage_run_s = std::move(t.run_s);
        fb.stage_nominal_s = std::move(t.nominal_s);
        self->send(st.dispatcher, std::move(fb));
        st.flights.erase(it);
        ++st.completed;
        finish_if_retired(self);
      },
      [=](net::group_retire) -> caf::result<bool> {
        auto& st = self->state;
        st.retiring = true;
        st.retired = self->make_response_promise();
        spdlog::info("{}: group {} retiring ({} requests in flight)", st.node, st.group,
                     st.flights.size());
        auto rp = st.retired;
        finish_if_retired(self);
        return rp;
      },
      [=](net::sweep_tick) {
        auto& st = self->state;
        const double now = monotonic_seconds();
        std::vector<uint64_t> expired;
        for (const auto& [seq, f] : st.flights)
          if (now - f.admitted_at > st.request_timeout_s) expired.push_back(seq);
        for (uint64_t seq : expired) {
          ++st.timed_out;
          fail_flight(self, seq, reply_status::failed_timeout,
                      fmt::format("not finished within {} s", st.request_timeout_s));
        }
        self->delayed_send(self, 1s, net::sweep_tick{});
      },
      [=](net::status_query) {
        const auto& st = self->state;
        net::actor_status a;
        a.node = st.node;
        a.role = "group-manager";
        a.name = fmt::format("group {} {}", st.group, st.description);
        a.state =
            st.broken ? "broken: " + st.broken_reason : (st.retiring ? "retiring" : "serving");
        a.queue_length = static_cast<int64_t>(st.flights.size());
        a.counters = {{"completed", static_cast<double>(st.completed)},
                      {"failed", static_cast<double>(st.failed)},
                      {"timed_out", static_cast<double>(st.timed_out)}};
        return net::cluster_status{{std::move(a)}};
      },
  };
}

// ---- dispatcher ----------------------------------------------------------------------------

struct dispatcher_state {
  std::string node;
  dispatcher_settings settings;
  dispatch_core core;
  planner::traffic_meter traffic{monotonic_seconds()};  // arrivals, for re-planning
  std::unordered_map<int, caf::actor> managers;
  net::cluster_info info;
  static inline const char* name = "dispatcher";
};

net::reply_status status_of(dispatch_outcome o) {
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

caf::behavior dispatcher(caf::stateful_actor<dispatcher_state>* self, std::string node,
                         dispatcher_settings settings) {
  self->state.node = std::move(node);
  self->state.settings = settings;
  self->state.info.state = "waiting for the controller's placement";
  return {
      [=](net::infer_request& req) -> caf::result<net::infer_reply> {
        auto& st = self->state;
        if (!st.info.ready)
          return make_reply(req.request_id, reply_status::rejected_overloaded,
                            "cluster not ready: " + st.info.state);
        const double now = monotonic_seconds();
        if (st.core.knows_model(req.model)) st.traffic.record(req.model, now);
        dispatch_result d = st.core.decide(req.model, req.payload, req.slo_s, now);
        if (d.outcome != dispatch_outcome::admitted) {
          auto r = make_reply(req.request_id, status_of(d.outcome), std::move(d.message), d.group);
          if (d.outcome == dispatch_outcome::slo_unattainable)
            r.predicted_s = d.predicted_finish - now;
          return r;
        }
        net::group_request gr;
        gr.admitted_at = now;
        gr.deadline = d.deadline;
        gr.predicted_finish = d.predicted_finish;
        gr.request = std::move(req);
        auto rp = self->make_response_promise();
        rp.delegate(st.managers.at(d.group), std::move(gr));
        return rp;
      },
      [=](net::group_feedback& fb) {
        self->state.core.on_finished(fb.group, fb.model, fb.completed, fb.stage_end, fb.stage_run_s,
                                     fb.stage_nominal_s);
      },
      [=](net::group_down& gd) {
        spdlog::warn("{}: dispatcher stops routing to group {}: {}", self->state.node, gd.group,
                     gd.reason);
        self->state.core.on_group_down(gd.group);
      },
      [=](net::routing_table& table) {
        auto& st = self->state;
        std::vector<served_group> groups;
        st.managers.clear();
        st.info.groups.clear();
        for (auto& g : table.groups) {
          groups.push_back({g.group, g.models, g.stage_latency});
          st.managers[g.group] = g.manager;
          st.info.groups.push_back(
              fmt::format("group {} {}: {}", g.group, g.description, fmt::join(g.models, ", ")));
        }
        std::vector<std::pair<std::string, double>> slos;
        for (const auto& m : table.models) slos.emplace_back(m.name, m.slo_s);
        dispatch_core next(std::move(groups), std::move(slos), st.settings.core);
        next.carry_counters_from(st.core);
        st.core = std::move(next);
        for (const auto& m : table.models)
          if (!m.unavailable.empty()) st.core.set_unavailable(m.name, m.unavailable);
        st.info.models = table.models;
        st.info.ready = true;
        st.info.state = "serving";
        spdlog::info("{}: dispatcher serving {} models on {} groups", st.node, table.models.size(),
                     table.groups.size());
        return true;
      },
      [=](const std::string& not_ready_state) {  // controller progress before routing
        if (!self->state.info.ready) self->state.info.state = not_ready_state;
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
      [=](net::cluster_info_query) { return self->state.info; },
      [=](net::status_query) {
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
        return net::cluster_status{{std::move(a)}};
      },
  };
}

// ---- controller ----------------------------------------------------------------------------
// Waits for the configured nodes, places the models (injected solver or a fixed placement),
// realizes the placement (stage workers load shards, group managers), then installs routing.

// The result of a re-plan computed off the actor's thread (the policies take seconds).
struct replan_job {
  std::mutex mutex;
  std::string reason;                       // the drift, or the lost nodes
  std::vector<std::string> lost_nodes;      // non-empty: re-placing after a node loss
  std::vector<planner::model_data> models;  // with the observed traffic
  std::optional<planner::placement> placement;
  double running_score = 0, new_score = 0;
  std::string error;
};

struct controller_state {
  std::string node;
  controller_settings settings;
  caf::actor dispatcher;
  struct member {
    node_devices devices;
    caf::actor agent;
    bool alive = true;
  };
  std::unordered_map<std::string, member> members;
  std::string state = "waiting for nodes";
  bool planning = false;
  planner::cluster_env env;  // what the registered nodes offer
  std::vector<group_layout> layout;
  std::vector<node_devices> nodes;
  std::vector<std::vector<caf::actor>> stage_actors;  // [group][stage]
  std::vector<caf::actor> managers;  // [group]; null for a group that failed to load
  size_t pending = 0;
  caf::actor rendezvous;                                   // Gloo key-value store
  std::vector<std::string> failed_groups;                  // [group] why, "" = fine
  std::vector<std::map<std::string, std::string>> failed;  // [group] model -> load error
  int next_group_id = 0;  // group ids are never reused, so a retired group's late messages
                          // cannot be mistaken for a new group's
  // Re-planning (docs/runtime.md "Re-planning").
  std::vector<planner::model_data> planned;  // the traffic the running placement was made for
  planner::placement running;
  struct generation {
    std::vector<group_layout> layout;
    std::vector<std::vector<caf::actor>> stage_actors;
    std::vector<caf::actor> managers;
    planner::placement placement;
    std::vector<node_devices> nodes;  // what layout's node indices refer to
  };
  std::optional<generation> previous;  // serving while its replacement is realized
  bool replanning = false;             // a re-plan is being computed or realized
  bool loss_pending = false;           // a node was lost while a re-plan was under way
  uint64_t epoch = 0;  // bumped per realization and abort: answers to an older one are ignored
  std::shared_ptr<replan_job> job;  // the re-plan being computed
  uint64_t replans = 0, replans_kept = 0;
  static inline const char* name = "controller";
};

using controller_actor = caf::stateful_actor<controller_state>*;

void set_state(controller_actor self, std::string s) {
  spdlog::info("{}: controller: {}", self->state.node, s);
  self->state.state = s;
  self->send(self->state.dispatcher, std::move(s));
}

void replan_after_loss(controller_actor self);

// Called whenever a re-plan ends (or none ran): a node lost meanwhile is handled first.
void schedule_replan(controller_actor self) {
  if (self->state.loss_pending && !self->state.replanning) return replan_after_loss(self);
  const double interval = self->state.settings.replan_interval_s;
  if (interval > 0) self->delayed_send(self, seconds_span(interval), net::replan_tick{});
}

// Stops a generation's groups: each manager answers once its in-flight requests are answered
// (accepted requests are never dropped), then the node agents stop the stage workers.
void retire_generation(controller_actor self, controller_state::generation gen) {
  auto& st = self->state;
  for (size_t g = 0; g < gen.layout.size(); ++g) {
    const int id = gen.layout[g].group;
    std::vector<caf::actor> agents;
    for (const auto& stage : gen.layout[g].stages) {
      const auto it = st.members.find(gen.nodes.at(static_cast<size_t>(stage.node)).name);
      if (it != st.members.end() && it->second.alive) agents.push_back(it->second.agent);
    }
    auto stop_workers = [=] {
      for (const auto& a : agents) self->send(a, net::retire_group{id});
    };
    const caf::actor manager = g < gen.managers.size() ? gen.managers[g] : caf::actor{};
    if (!manager) {
      stop_workers();
      continue;
    }
    const double drain_s = self->state.settings.request_timeout_s + 5;
    self->request(manager, seconds_span(drain_s), net::group_retire{})
        .then([=](bool) { stop_workers(); },
              [=](caf::error& e) {
                spdlog::warn("{}: controller: group {} did not drain ({}); stopping it",
                             self->state.node, id, self->system().render(e));
                self->send_exit(manager, caf::exit_reason::user_shutdown);
                stop_workers();
              });
  }
}

// What the policies see of a set of nodes: their devices, the smallest memory, the largest node.
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

// A re-plan's new groups could not all be started: drop them and keep serving the old ones.
void abort_replan(controller_actor self, const std::string& why) {
  auto& st = self->state;
  spdlog::error("{}: controller: re-plan abandoned, keeping the running placement: {}", st.node,
                why);
  controller_state::generation failed_gen{st.layout, st.stage_actors, st.managers, {}, st.nodes};
  controller_state::generation& old = *st.previous;
  st.nodes = std::move(old.nodes);
  st.env = cluster_of(st.nodes);
  st.layout = std::move(old.layout);
  st.stage_actors = std::move(old.stage_actors);
  st.managers = std::move(old.managers);
  st.running = std::move(old.placement);
  st.previous.reset();
  st.failed_groups.assign(st.layout.size(), std::string());
  st.failed.assign(st.layout.size(), {});
  retire_generation(self, std::move(failed_gen));
  ++st.epoch;
  st.replanning = false;
  set_state(self, "serving");
  schedule_replan(self);
}

void install_routing(controller_actor self) {
  auto& st = self->state;
  net::routing_table table;
  std::map<std::string, std::vector<std::string>> why_not;  // model -> load errors
  std::map<std::string, int> served;                        // model -> healthy groups
  for (size_t g = 0; g < st.layout.size(); ++g) {
    if (!st.failed_groups[g].empty()) {
      for (int m : st.layout[g].models)
        why_not[st.settings.models[m].name].push_back(st.failed_groups[g]);
      continue;
    }
    net::route_group rg;
    rg.group = st.layout[g].group;
    rg.manager = st.managers[g];
    rg.description = describe_group(st.layout[g], st.nodes);
    for (int m : st.layout[g].models) {
      const auto& name = st.settings.models[m].name;
      auto bad = st.failed[g].find(name);
      if (bad != st.failed[g].end()) {  // this group serves its other models
        why_not[name].push_back(bad->second);
        continue;
      }
      ++served[name];
      rg.models.push_back(name);
      rg.stage_latency.push_back(group_stage_latency(st.layout[g], st.settings.models[m]));
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
    table.models.push_back(std::move(info));
  }
  const uint64_t epoch = st.epoch;
  self->request(st.dispatcher, 10s, std::move(table))
      .then(
          [=](bool) {
            auto& st = self->state;
            if (st.epoch != epoch) return;
            if (st.previous) {  // the new groups serve from now on; the old ones drain
              controller_state::generation old = std::move(*st.previous);
              st.previous.reset();
              st.replanning = false;
              ++st.replans;
              spdlog::info("{}: controller: re-sharded onto {} groups; retiring {} old ones",
                           st.node, st.layout.size(), old.layout.size());
              retire_generation(self, std::move(old));
              set_state(self, "serving");
              schedule_replan(self);
              return;
            }
            set_state(self, "serving");
            schedule_replan(self);
          },
          [=](caf::error& e) {
            if (self->state.epoch != epoch) return;
            const std::string why = "routing table not installed: " + self->system().render(e);
            if (self->state.previous) return abort_replan(self, why);
            set_state(self, "failed: " + why);
          });
}

void wire_pipelines(controller_actor self) {
  auto& st = self->state;
  if (st.previous) {  // a re-plan serves only when every new group loaded every shard
    for (size_t g = 0; g < st.layout.size(); ++g) {
      if (!st.failed_groups[g].empty()) return abort_replan(self, st.failed_groups[g]);
      if (!st.failed[g].empty())
        return abort_replan(self,
                            st.failed[g].begin()->first + ": " + st.failed[g].begin()->second);
    }
  }
  st.managers.assign(st.layout.size(), caf::actor{});
  st.pending = 0;
  for (size_t g = 0; g < st.layout.size(); ++g) {
    if (!st.failed_groups[g].empty()) {
      spdlog::error("{}: group {} does not serve: {}", st.node, g, st.failed_groups[g]);
      for (auto& w : st.stage_actors[g])  // free what its other stages loaded
        if (w) self->send_exit(w, caf::exit_reason::user_shutdown);
      continue;
    }
    st.managers[g] = self->spawn<caf::linked>(group_manager, st.node, st.layout[g].group,
                                              describe_group(st.layout[g], st.nodes),
                                              st.stage_actors[g], st.dispatcher, 30.0);
    st.pending += st.stage_actors[g].size();
  }
  if (st.pending == 0) return install_routing(self);
  const uint64_t epoch = st.epoch;
  for (size_t g = 0; g < st.layout.size(); ++g) {
    if (!st.failed_groups[g].empty()) continue;
    const auto& stages = st.stage_actors[g];
    for (size_t k = 0; k < stages.size(); ++k) {
      caf::actor next = k + 1 < stages.size() ? stages[k + 1] : st.managers[g];
      self->request(stages[k], 10s, net::stage_wire{next})
          .then(
              [=](bool) {
                if (self->state.epoch != epoch) return;
                if (--self->state.pending == 0) install_routing(self);
              },
              [=](caf::error& e) {
                if (self->state.epoch != epoch) return;
                const std::string why =
                    "wiring group " + std::to_string(g) + ": " + self->system().render(e);
                if (self->state.previous) return abort_replan(self, why);
                set_state(self, "failed: " + why);
              });
    }
  }
}

// Lays the placement out on the nodes, has the node agents start its stage workers (they load
// their shards), then wires the pipelines and installs the routing table. During a re-plan the
// previous generation keeps serving until the new table is installed.
void realize_placement(controller_actor self, const planner::placement& p) {
  auto& st = self->state;
  try {
    auto problems = planner::placement_problems(p, st.settings.models, st.env);
    if (!problems.empty())
      throw std::invalid_argument(fmt::format("{}", fmt::join(problems, "; ")));
    st.layout = layout_groups(p, st.nodes);
    for (auto& g : st.layout) {
      g.group += st.next_group_id;
      for (int m : g.models) (void)group_stage_latency(g, st.settings.models[m]);
    }
  } catch (const std::exception& e) {
    if (st.previous) return abort_replan(self, std::string("placement: ") + e.what());
    set_state(self, std::string("failed: placement: ") + e.what());
    return;
  }
  st.next_group_id += static_cast<int>(st.layout.size());
  st.running = p;
  const uint64_t epoch = ++st.epoch;
  for (const auto& g : st.layout) {
    std::vector<std::string> names;
    for (int m : g.models) names.push_back(st.settings.models[m].name);
    spdlog::info("{}: group {} {}: {}", st.node, g.group, describe_group(g, st.nodes),
                 fmt::join(names, ", "));
  }
  set_state(self, st.previous ? "serving (re-sharding: loading shards)" : "loading shards");
  st.failed_groups.assign(st.layout.size(), std::string());
  st.failed.assign(st.layout.size(), {});
  st.stage_actors.assign(st.layout.size(), {});
  st.pending = 0;
  for (size_t g = 0; g < st.layout.size(); ++g) {
    st.stage_actors[g].resize(st.layout[g].stages.size());
    st.pending += st.layout[g].stages.size();
  }
  if (st.pending == 0) return wire_pipelines(self);
  const bool real = st.settings.backend != "emulated";
  for (size_t g = 0; g < st.layout.size(); ++g) {
    const group_layout& gl = st.layout[g];
    // How activations cross each boundary k -> k + 1 of this pipeline.
    std::vector<bool> nccl_boundary(gl.stages.size(), false);
    for (size_t k = 0; k + 1 < gl.stages.size(); ++k) {
      auto device_of = [&](size_t stage, size_t rank) {
        return device_id{st.nodes[gl.stages[stage].node].name,
                         gl.stages[stage].local_devices.at(rank)};
      };
      std::vector<device_id> receivers;
      for (size_t r = 0; r < gl.stages[k + 1].local_devices.size(); ++r)
        receivers.push_back(device_of(k + 1, r));
      nccl_boundary[k] = !gl.stages[k].local_devices.empty() &&
                         choose_activation_link(st.settings.backend, nccl_built(), device_of(k, 0),
                                                receivers) == "nccl";
    }
    for (size_t k = 0; k < gl.stages.size(); ++k) {
      net::spawn_stage spec;
      spec.recv_over_nccl = k > 0 && nccl_boundary[k - 1];
      spec.send_over_nccl = nccl_boundary[k];
      if (spec.send_over_nccl)
        spec.next_op = static_cast<int32_t>(gl.stages[k + 1].local_devices.size());
      spec.group = gl.group;
      spec.stage = static_cast<int32_t>(k);
      spec.num_stages = static_cast<int32_t>(gl.stages.size());
      spec.devices.assign(gl.stages[k].local_devices.begin(), gl.stages[k].local_devices.end());
      spec.backend = st.settings.backend;
      spec.rendezvous = st.rendezvous;
      for (int m : gl.models) {
        const auto& model = st.settings.models[m];
        const auto* prof = model.profile.find(gl.config);
        net::shard_spec shard;
        shard.model = model.name;
        shard.latency_s = prof->stage_latency(1)[k];
        shard.weight_bytes = prof->weight_mem[k];
        if (real) {
          auto src = st.settings.real_models.find(model.name);
          const planner::model_architecture* arch =
              src == st.settings.real_models.end()
                  ? nullptr
                  : planner::find_zoo_model(src->second.architecture);
          if (arch == nullptr) {
            st.failed[g][model.name] = fmt::format(
                "model '{}' has no real architecture for the {} backend", model.name, spec.backend);
          } else {
            const auto b = real_stage_boundaries(prof, arch->layers, gl.config.pp);
            shard.architecture = src->second.architecture;
            shard.seed = src->second.seed;
            shard.weights_path = src->second.weights_path;
            shard.layer_begin = b[k];
            shard.layer_end = b[k + 1];
          }
          if (st.failed[g].count(model.name)) continue;
        }
        spec.shards.push_back(std::move(shard));
      }
      const auto& agent = st.members[st.nodes[gl.stages[k].node].name].agent;
      self->request(agent, seconds_span(st.settings.spawn_timeout_s), std::move(spec))
          .then(
              [=](net::stage_ready& r) {
                auto& st = self->state;
                if (st.epoch != epoch) return;
                st.stage_actors[g][k] = std::move(r.worker);
                for (size_t i = 0; i < r.failed_models.size(); ++i)
                  st.failed[g][r.failed_models[i]] = r.errors.at(i);
                if (--st.pending == 0) wire_pipelines(self);
              },
              [=](caf::error& e) {
                auto& st = self->state;
                if (st.epoch != epoch) return;
                st.failed_groups[g] = fmt::format("group {} stage {} could not be started: {}", g,
                                                  k, self->system().render(e));
                if (--st.pending == 0) wire_pipelines(self);
              });
    }
  }
}

void realize(controller_actor self) {
  auto& st = self->state;
  st.planning = true;
  st.nodes.clear();
  for (const auto& name : st.settings.expected_nodes) st.nodes.push_back(st.members[name].devices);
  st.env = cluster_of(st.nodes);
  st.planned = st.settings.models;
  planner::placement p;
  try {
    p = st.settings.fixed_placement ? *st.settings.fixed_placement
                                    : st.settings.solver(st.settings.models, st.env);
  } catch (const std::exception& e) {
    set_state(self, std::string("failed: placement: ") + e.what());
    return;
  }
  realize_placement(self, p);
}

// Re-planning is for policy-placed clusters on emulated devices: a placement file is the
// user's decision, and real backends would hold two generations' weights while switching.
bool replanning_enabled(const controller_settings& s) {
  return s.replan_interval_s > 0 && !s.fixed_placement && s.solver && s.backend == "emulated";
}

// Runs the policy for `job` on a background thread (the policies take seconds); replan_done
// wakes the controller.
void start_replan(controller_actor self, std::shared_ptr<replan_job> job,
                  planner::cluster_env env) {
  auto& st = self->state;
  st.replanning = true;
  set_state(self, "serving (re-planning)");
  std::thread([job, solver = st.settings.solver, env, running = self->state.running,
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
      caf::anon_send(caf::actor_cast<caf::actor>(strong), net::replan_done{});
  }).detach();
  st.job = std::move(job);
}

// A node died: its groups are broken (their in-flight requests failed, the dispatcher stopped
// routing to them); place every model again on the nodes left and re-shard onto them.
void replan_after_loss(controller_actor self) {
  auto& st = self->state;
  st.loss_pending = false;
  std::vector<node_devices> alive;
  std::vector<std::string> lost;
  for (const auto& n : st.nodes) {
    if (st.members[n.name].alive)
      alive.push_back(n);
    else
      lost.push_back(n.name);
  }
  if (lost.empty()) return schedule_replan(self);
  if (alive.empty()) return set_state(self, "failed: every worker node was lost");
  auto job = std::make_shared<replan_job>();
  job->lost_nodes = lost;
  job->reason = fmt::format("lost {}", fmt::join(lost, ", "));
  job->models = st.planned;
  const planner::cluster_env env = cluster_of(alive);
  spdlog::warn("{}: controller: {}; re-placing every model on the {} devices left", st.node,
               job->reason, env.num_devices);
  start_replan(self, std::move(job), env);
}

// Compares the dispatcher's observed traffic with the plan; on drift, re-plans on a background
// thread (replan_done wakes the controller).
void check_traffic(controller_actor self) {
  auto& st = self->state;
  if (st.replanning || st.state != "serving") return schedule_replan(self);
  self->request(st.dispatcher, 10s, net::traffic_query{})
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
            if (!drift || st.replanning) return schedule_replan(self);
            auto job = std::make_shared<replan_job>();
            job->reason = *drift;
            job->models = planner::with_observed_traffic(st.planned, w, st.settings.replan);
            spdlog::info("{}: controller: traffic drifted over {:.0f} s ({}); re-planning", st.node,
                         w.seconds, job->reason);
            start_replan(self, job, st.env);
          },
          [=](caf::error& e) {
            spdlog::warn("{}: controller: no traffic report: {}", self->state.node,
                         self->system().render(e));
            schedule_replan(self);
          });
}

void on_replan_done(controller_actor self) {
  auto& st = self->state;
  auto job = std::move(st.job);
  if (!job) return;
  std::lock_guard<std::mutex> lock(job->mutex);
  if (!job->error.empty()) {
    spdlog::warn("{}: controller: re-plan failed: {}", st.node, job->error);
    st.replanning = false;
    set_state(self, "serving");
    return schedule_replan(self);
  }
  st.planned = job->models;  // judged against this traffic from now on, switched or not
  if (job->lost_nodes.empty() &&
      !planner::worth_switching(job->running_score, job->new_score, st.settings.replan)) {
    ++st.replans_kept;
    spdlog::info(
        "{}: controller: keeping the running placement (predicted score {:.4f}, new {:.4f})",
        st.node, job->running_score, job->new_score);
    st.replanning = false;
    set_state(self, "serving");
    return schedule_replan(self);
  }
  spdlog::info("{}: controller: re-sharding (predicted score {:.4f} -> {:.4f})", st.node,
               job->running_score, job->new_score);
  st.previous = controller_state::generation{std::move(st.layout), std::move(st.stage_actors),
                                             std::move(st.managers), st.running, st.nodes};
  if (!job->lost_nodes.empty()) {  // the new placement lives on the surviving nodes only
    std::vector<node_devices> alive;
    for (const auto& n : st.nodes)
      if (st.members[n.name].alive) alive.push_back(n);
    st.nodes = std::move(alive);
    st.env = cluster_of(st.nodes);
  }
  realize_placement(self, *job->placement);
}

caf::behavior controller(controller_actor self, std::string node, controller_settings settings,
                         caf::actor dispatcher) {
  self->state.node = std::move(node);
  self->state.settings = std::move(settings);
  if (!replanning_enabled(self->state.settings)) self->state.settings.replan_interval_s = 0;
  self->state.dispatcher = std::move(dispatcher);
  self->state.rendezvous = self->spawn<caf::linked>(kv_store);
  set_state(self,
            fmt::format("waiting for nodes (0/{})", self->state.settings.expected_nodes.size()));
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto& [name, m] : st.members) {
      if (m.agent.address() == dm.source && m.alive) {
        m.alive = false;
        spdlog::warn("{}: controller: node {} lost ({})", st.node, name,
                     self->system().render(dm.reason));
        // Serving (or re-planning) with a policy: re-place on the nodes left.
        if (replanning_enabled(st.settings) && st.state.rfind("serving", 0) == 0) {
          st.loss_pending = true;
          if (!st.replanning) replan_after_loss(self);
        }
      }
    }
  });
  return {
      [=](net::register_node& r) {
        auto& st = self->state;
        const auto& expected = st.settings.expected_nodes;
        if (std::find(expected.begin(), expected.end(), r.name) == expected.end()) {
          spdlog::warn("{}: controller: node '{}' is not a worker of the config; ignored", st.node,
                       r.name);
          return false;
        }
        if (st.planning) {
          spdlog::warn("{}: controller: node '{}' registered after placement; not used", st.node,
                       r.name);
          return false;
        }
        self->monitor(r.agent);
        st.members[r.name] = {
            {r.name, r.num_devices, r.device_memory_bytes, r.device_kind}, r.agent, true};
        spdlog::info("{}: controller: node {} registered ({} {} devices)", st.node, r.name,
                     r.num_devices, r.device_kind);
        size_t have = 0;
        for (const auto& n : expected) have += st.members.count(n);
        if (have == expected.size()) {
          realize(self);
        } else {
          set_state(self, fmt::format("waiting for nodes ({}/{})", have, expected.size()));
        }
        return true;
      },
      [=](net::replan_tick) { check_traffic(self); },
      [=](net::replan_done) { on_replan_done(self); },
      [=](net::status_query) -> caf::result<net::cluster_status> {
        auto& st = self->state;
        auto g = std::make_shared<status_gather>();
        g->promise = self->make_response_promise();
        net::actor_status a;
        a.node = st.node;
        a.role = "controller";
        a.name = "controller (policy " + st.settings.policy_name + ")";
        a.state = st.state;
        size_t alive = 0;
        for (const auto& [n, m] : st.members) alive += m.alive ? 1 : 0;
        a.counters = {{"nodes_registered", static_cast<double>(st.members.size())},
                      {"nodes_alive", static_cast<double>(alive)},
                      {"groups", static_cast<double>(st.layout.size())},
                      {"models", static_cast<double>(st.settings.models.size())},
                      {"replans", static_cast<double>(st.replans)},
                      {"replans_kept", static_cast<double>(st.replans_kept)}};
        g->collected.actors.push_back(std::move(a));
        gather_status(self, g, st.managers);
        return g->promise;
      },
  };
}

// ---- node agent ----------------------------------------------------------------------------

struct node_agent_state {
  std::string node;
  int num_devices = 0;
  double memory = 0;
  std::string kind;
  caf::actor controller;
  std::vector<caf::actor> workers;
  std::vector<int32_t> worker_groups;  // the group of workers[i]
  std::vector<caf::actor> local_actors;
  std::string host;
  bool registered = false;
  static inline const char* name = "node_agent";
};

caf::behavior node_agent(caf::stateful_actor<node_agent_state>* self, std::string node,
                         int num_devices, double memory, std::string kind, caf::actor controller,
                         std::vector<caf::actor> local_actors, std::string host) {
  auto& st = self->state;
  st.node = std::move(node);
  st.host = std::move(host);
  st.num_devices = num_devices;
  st.memory = memory;
  st.kind = std::move(kind);
  st.controller = std::move(controller);
  st.local_actors = std::move(local_actors);
  if (st.controller) {
    self->monitor(st.controller);
    self->request(st.controller, 30s,
                  net::register_node{st.node, st.kind, num_devices, memory,
                                     caf::actor_cast<caf::actor>(self)})
        .then([=](bool accepted) { self->state.registered = accepted; },
              [=](caf::error& e) {
                spdlog::error("{}: registering with the controller failed: {}", self->state.node,
                              self->system().render(e));
              });
  }
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.controller.address()) {
      spdlog::error("{}: controller lost ({}); this node stops", self->state.node,
                    self->system().render(dm.reason));
      for (auto& w : self->state.workers) self->send_exit(w, caf::exit_reason::user_shutdown);
      self->quit(dm.reason);
    }
  });
  return {
      [=](net::spawn_stage& spec) -> caf::result<net::stage_ready> {
        auto& st = self->state;
        spdlog::info("{}: loading group {} stage {}/{} on {} devices {} ({} shards)", st.node,
                     spec.group, spec.stage, spec.num_stages, spec.backend,
                     fmt::join(spec.devices, ","), spec.shards.size());
        if (spec.backend == "emulated") {
          std::shared_ptr<shard_map> shards;
          try {
            shards = std::make_shared<shard_map>(load_shards(spec));
          } catch (const std::exception& e) {
            spdlog::error("{}: loading group {} stage {} failed: {}", st.node, spec.group,
                          spec.stage, e.what());
            return caf::make_error(caf::sec::runtime_error, std::string(e.what()));
          }
          const int32_t group = spec.group;
          auto w = self->spawn<caf::linked>(stage_worker, st.node, std::move(spec), shards);
          st.workers.push_back(w);
          st.worker_groups.push_back(group);
          return net::stage_ready{w, {}, {}};
        }
        // One worker per op rank (device); rank 0 leads. Every rank loads its shards on its
        // own thread; the answer waits for all of them.
        const size_t op = std::max<size_t>(spec.devices.size(), 1);
        std::vector<caf::actor> ranks(op);
        for (size_t r = op; r-- > 1;)
          ranks[r] = self->spawn<caf::linked>(real_stage_worker, st.node, spec, static_cast<int>(r),
                                              std::vector<caf::actor>{}, st.memory, st.host);
        ranks[0] = self->spawn<caf::linked>(real_stage_worker, st.node, spec, 0,
                                            std::vector<caf::actor>(ranks.begin() + 1, ranks.end()),
                                            st.memory, st.host);
        for (const auto& w : ranks) {
          st.workers.push_back(w);
          st.worker_groups.push_back(spec.group);
        }
        struct gather {
          caf::response_promise promise;
          net::stage_ready ready;
          size_t waiting = 0;
          void add(const std::string& model, const std::string& error) {
            if (std::find(ready.failed_models.begin(), ready.failed_models.end(), model) ==
                ready.failed_models.end()) {
              ready.failed_models.push_back(model);
              ready.errors.push_back(error);
            }
          }
        };
        auto g = std::make_shared<gather>();
        g->promise = self->make_response_promise();
        g->ready.worker = ranks[0];
        g->waiting = op;
        std::vector<std::string> models;
        for (const auto& s : spec.shards) models.push_back(s.model);
        for (const auto& w : ranks) {
          self->request(w, 300s, net::stage_load{})
              .then(
                  [=](net::stage_ready& r) {
                    for (size_t i = 0; i < r.failed_models.size(); ++i)
                      g->add(r.failed_models[i], r.errors.at(i));
                    if (--g->waiting == 0) g->promise.deliver(std::move(g->ready));
                  },
                  [=](caf::error& e) {
                    for (const auto& m : models)
                      g->add(m, "loading failed: " + self->system().render(e));
                    if (--g->waiting == 0) g->promise.deliver(std::move(g->ready));
                  });
        }
        return g->promise;
      },
      [=](net::retire_group& r) {
        // Unlinked first: a linked worker's exit would take the agent down with it.
        auto& st = self->state;
        size_t stopped = 0;
        for (size_t i = st.workers.size(); i-- > 0;) {
          if (st.worker_groups[i] != r.group) continue;
          self->unlink_from(st.workers[i]);
          self->send_exit(st.workers[i], caf::exit_reason::user_shutdown);
          st.workers.erase(st.workers.begin() + static_cast<std::ptrdiff_t>(i));
          st.worker_groups.erase(st.worker_groups.begin() + static_cast<std::ptrdiff_t>(i));
          ++stopped;
        }
        if (stopped > 0)
          spdlog::info("{}: stopped {} stage workers of retired group {}", st.node, stopped,
                       r.group);
      },
      [=](net::status_query) -> caf::result<net::cluster_status> {
        auto& st = self->state;
        auto g = std::make_shared<status_gather>();
        g->promise = self->make_response_promise();
        net::actor_status a;
        a.node = st.node;
        a.role = "node-agent";
        a.name = fmt::format("{} x {}", st.num_devices, st.kind);
        a.state = st.controller ? (st.registered ? "registered" : "registering") : "standalone";
        a.queue_length = 0;
        a.counters = {{"devices", static_cast<double>(st.num_devices)},
                      {"stage_workers", static_cast<double>(st.workers.size())}};
        g->collected.actors.push_back(std::move(a));
        std::vector<caf::actor> targets = st.workers;
        targets.insert(targets.end(), st.local_actors.begin(), st.local_actors.end());
        gather_status(self, g, targets);
        return g->promise;
      },
  };
}

}  // namespace

caf::actor spawn_dispatcher(caf::actor_system& sys, const std::string& node,
                            dispatcher_settings settings) {
  return sys.spawn(dispatcher, node, std::move(settings));
}

caf::actor spawn_controller(caf::actor_system& sys, const std::string& node,
                            controller_settings settings, caf::actor dispatcher_handle) {
  return sys.spawn(controller, node, std::move(settings), std::move(dispatcher_handle));
}

caf::actor spawn_node_agent(caf::actor_system& sys, const std::string& node, int num_devices,
                            double device_memory_bytes, std::string device_kind,
                            caf::actor controller_handle, std::vector<caf::actor> local_actors,
                            std::string host) {
  return sys.spawn(node_agent, node, num_devices, device_memory_bytes, std::move(device_kind),
                   std::move(controller_handle), std::move(local_actors), std::move(host));
}

}  // namespace alpaserve::actors
