#include "actors/group_manager.hpp"

#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/actor_support.hpp"
#include "actors/batch_tensor.hpp"
#include "actors/epoch_gate.hpp"
#include "actors/node_metrics.hpp"

namespace alpaserve::actors {
namespace {

using net::reply_status;

// How often in-flight requests are checked against runtime.request_timeout_s: a request times
// out at most this much after its limit.
constexpr auto sweep_interval = std::chrono::seconds(1);

struct group_manager_state {
  group_manager_setup setup;
  struct flight {
    caf::typed_response_promise<net::infer_reply> reply;  // the one reply of this request
    uint64_t client_id = 0;
    std::string model;
    double admitted_at = 0;
    double predicted_finish = 0;
    uint64_t ticket = 0;  // the dispatcher's, for its feedback
    std::string payload;  // until its batch leaves for stage 0
    int64_t rows = 1;     // its input's dimension 0 (its share of the batch output)
    double sent_at = 0;   // when its batch left for stage 0
    uint64_t batch = 0;   // 0 while it waits in the queue
  };
  std::unordered_map<uint64_t, flight> flights;  // by the manager's sequence number
  uint64_t next_seq = 0;
  batch_queue queue;                                            // waiting for stage 0
  std::unordered_map<uint64_t, std::vector<uint64_t>> batches;  // batch id -> its requests
  uint64_t next_batch = 0;
  bool retiring = false;  // replaced by a re-plan: stop once drained
  caf::typed_response_promise<bool> retired;
  bool broken = false;
  std::string broken_reason;
  uint64_t completed = 0, failed = 0, timed_out = 0;
  static inline const char* name = "group_manager";
};

using manager_self = net::group_manager_actor::stateful_pointer<group_manager_state>;

void feedback(manager_self self, uint64_t ticket, std::string model, bool completed,
              std::vector<double> stage_end = {}, std::vector<double> run_s = {},
              std::vector<double> nominal_s = {}) {
  net::group_feedback fb;
  fb.group = self->state.setup.group;
  fb.ticket = ticket;
  fb.model = std::move(model);
  fb.completed = completed;
  fb.stage_end = std::move(stage_end);
  fb.stage_run_s = std::move(run_s);
  fb.stage_nominal_s = std::move(nominal_s);
  self->send(self->state.setup.dispatcher, std::move(fb));
}

// A retiring manager stops once nothing is in flight (its stage workers are stopped by their
// node agents afterwards, on the controller's word).
void finish_if_retired(manager_self self) {
  auto& st = self->state;
  if (!st.retiring || !st.flights.empty()) return;
  st.retired.deliver(true);
  for (const auto& s : st.setup.stages) self->demonitor(s.address());
  self->quit();
}

// Answers one in-flight request with a failure; the flight ends here.
void fail_flight(manager_self self, uint64_t seq, reply_status status, const std::string& why) {
  auto& st = self->state;
  auto it = st.flights.find(seq);
  if (it == st.flights.end()) return;
  if (it->second.batch == 0) st.queue.remove(seq);
  if (auto* m = st.setup.metrics.get())  // counted before the client can see the reply
    m->on_request_done(it->second.model, status, monotonic_seconds() - it->second.admitted_at);
  it->second.reply.deliver(make_reply(it->second.client_id, status, why, st.setup.group));
  feedback(self, it->second.ticket, std::move(it->second.model), false);
  st.flights.erase(it);
  ++st.failed;
  finish_if_retired(self);
}

void on_stage_lost(manager_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.broken) return;
  int lost = -1;
  for (size_t k = 0; k < st.setup.stages.size(); ++k)
    if (st.setup.stages[k].address() == dm.source) lost = static_cast<int>(k);
  if (lost < 0) return;
  st.broken = true;
  st.broken_reason = fmt::format("group {} lost its stage {} worker ({})", st.setup.group, lost,
                                 self->system().render(dm.reason));
  // Stage workers stop before their manager when the node shuts down: not a loss then.
  spdlog::log(node_stopping().load() ? spdlog::level::info : spdlog::level::warn,
              "{}: {}; failing {} in-flight requests", st.setup.node, st.broken_reason,
              st.flights.size());
  std::vector<uint64_t> seqs;
  for (const auto& [seq, f] : st.flights) seqs.push_back(seq);
  for (uint64_t seq : seqs)
    fail_flight(self, seq, reply_status::failed_node_lost, st.broken_reason);
  st.batches.clear();
  self->send(st.setup.dispatcher, net::group_down{st.setup.group, st.broken_reason});
}

// Stage 0 is free (or nothing is held): send the next batches the queue forms.
void start_batches(manager_self self) {
  auto& st = self->state;
  if (st.broken) return;
  for (;;) {
    std::vector<uint64_t> ids = st.queue.next(monotonic_seconds());
    if (ids.empty()) return;
    const uint64_t id = ++st.next_batch;
    net::stage_task task;
    task.request_id = id;
    task.batch_size = static_cast<int32_t>(ids.size());
    const double now = monotonic_seconds();
    if (ids.size() == 1) {
      auto& f = st.flights.at(ids[0]);
      task.model = f.model;
      task.payload = std::move(f.payload);
    } else {
      std::vector<std::string_view> inputs;
      for (uint64_t seq : ids) inputs.push_back(st.flights.at(seq).payload);
      std::string error;
      task.model = st.flights.at(ids[0]).model;
      task.payload = concat_batch(inputs, &error);
      if (!error.empty()) {  // equal keys make this unreachable; answer, never lose them
        for (uint64_t seq : ids) {
          st.flights.at(seq).batch = id;
          fail_flight(self, seq, reply_status::rejected_bad_input, error);
        }
        st.queue.stage0_free();
        continue;
      }
    }
    for (uint64_t seq : ids) {
      auto& f = st.flights.at(seq);
      f.batch = id;
      f.sent_at = now;
      f.payload = std::string();
    }
    st.batches.emplace(id, std::move(ids));
    self->send(st.setup.stages.front(), std::move(task));
  }
}

// Answers one request of a finished batch with its output (`payload`); `times`: whether this
// reply carries the batch's stage times to the dispatcher (one per batch, as the simulator
// corrects its mirror once per batch).
void answer(manager_self self, uint64_t seq, std::string payload, const net::stage_task& t,
            bool times) {
  auto& st = self->state;
  auto it = st.flights.find(seq);
  if (it == st.flights.end()) return;  // already failed (timeout or lost node)
  const double now = monotonic_seconds();
  auto& f = it->second;
  net::infer_reply r;
  r.request_id = f.client_id;
  r.status = reply_status::ok;
  r.result = std::move(payload);
  r.group = st.setup.group;
  r.server_s = now - f.admitted_at;
  r.predicted_s = f.predicted_finish - f.admitted_at;
  r.stage_queue_s = t.queue_s;
  if (!r.stage_queue_s.empty()) r.stage_queue_s[0] += f.sent_at - f.admitted_at;  // held here
  r.stage_run_s = t.run_s;
  r.stage_nominal_s = t.nominal_s;
  if (auto* m = st.setup.metrics.get())
    m->on_request_served(f.model, r.server_s, r.stage_queue_s, t.nominal_s, t.run_s, t.batch_size);
  f.reply.deliver(std::move(r));
  if (times) {
    // Stage ends on this clock, walking back from now (hand-off times ignored: the estimates
    // are slightly late, which keeps the dispatcher's mirror conservative).
    const size_t n = t.run_s.size();
    std::vector<double> stage_end(n, now);
    for (size_t k = n; k-- > 1;) stage_end[k - 1] = stage_end[k] - t.run_s[k] - t.queue_s[k];
    feedback(self, f.ticket, std::move(f.model), true, std::move(stage_end), t.run_s, t.nominal_s);
  } else {
    feedback(self, f.ticket, std::move(f.model), true);
  }
  st.flights.erase(it);
  ++st.completed;
}

// The last stage handed a batch back: answer each of its requests, report the stage times.
void on_finished(manager_self self, net::stage_task& t) {
  auto& st = self->state;
  auto b = st.batches.find(t.request_id);
  if (b == st.batches.end()) return;  // its requests were all failed (lost node)
  const std::vector<uint64_t> members = std::move(b->second);
  st.batches.erase(b);
  std::string error = t.error;
  std::vector<std::string> outputs;
  if (error.empty() && members.size() > 1) {
    std::vector<int64_t> rows;
    for (uint64_t seq : members) {
      auto it = st.flights.find(seq);
      rows.push_back(it == st.flights.end() ? 1 : it->second.rows);
    }
    outputs = split_batch(t.payload, rows, &error);
  }
  if (!error.empty()) {  // a stage could not run the input
    for (uint64_t seq : members) fail_flight(self, seq, reply_status::rejected_bad_input, error);
    return;
  }
  bool times = true;
  for (size_t i = 0; i < members.size(); ++i) {
    const bool present = st.flights.count(members[i]) > 0;
    answer(self, members[i], members.size() > 1 ? std::move(outputs[i]) : std::move(t.payload), t,
           times && present);
    times = times && !present;
  }
  finish_if_retired(self);
}

net::actor_status describe(manager_self self) {
  const auto& st = self->state;
  net::actor_status a;
  a.node = st.setup.node;
  a.role = "group-manager";
  a.name = fmt::format("group {} {}", st.setup.group, st.setup.description);
  a.state = st.broken ? "broken: " + st.broken_reason : (st.retiring ? "retiring" : "serving");
  a.queue_length = static_cast<int64_t>(st.flights.size());
  a.counters = {{"completed", static_cast<double>(st.completed)},
                {"waiting", static_cast<double>(st.queue.waiting())},
                {"batches", static_cast<double>(st.queue.batches())},
                {"batched_requests", static_cast<double>(st.queue.batched_requests())},
                {"failed", static_cast<double>(st.failed)},
                {"timed_out", static_cast<double>(st.timed_out)}};
  return a;
}

net::group_manager_actor::behavior_type group_manager(manager_self self,
                                                      group_manager_setup setup) {
  self->state.setup = std::move(setup);
  self->state.queue = batch_queue(self->state.setup.batching, self->state.setup.overheads);
  for (const auto& s : self->state.setup.stages) self->monitor(s);
  self->set_down_handler([=](caf::down_msg& dm) { on_stage_lost(self, dm); });
  self->delayed_send(self, sweep_interval, net::sweep_tick{});
  return {
      [=](net::group_request& r) -> caf::result<net::infer_reply> {
        auto& st = self->state;
        if (st.broken) {
          if (auto* m = st.setup.metrics.get())
            m->on_request_done(r.request.model, reply_status::failed_node_lost);
          feedback(self, r.ticket, r.request.model, false);
          return make_reply(r.request.request_id, reply_status::failed_node_lost, st.broken_reason,
                            st.setup.group);
        }
        const uint64_t seq = ++st.next_seq;
        auto& f = st.flights[seq];
        f.reply = self->make_response_promise<net::infer_reply>();
        f.client_id = r.request.request_id;
        f.model = std::move(r.request.model);
        f.admitted_at = r.admitted_at;
        f.predicted_finish = r.predicted_finish;
        f.ticket = r.ticket;
        std::string key;
        if (st.queue.holds()) {
          key = batch_key(r.request.payload);
          f.rows = std::max<int64_t>(1, batch_rows(r.request.payload));
        }
        if (key.empty()) key = fmt::format("!{}", seq);  // no tensor: it runs alone
        f.payload = std::move(r.request.payload);
        st.queue.push(seq, f.model, std::move(key), r.deadline);
        auto promise = f.reply;
        start_batches(self);
        return promise;
      },
      [=](net::stage_task& t) { on_finished(self, t); },
      [=](const net::stage_free&) {
        self->state.queue.stage0_free();
        start_batches(self);
      },
      [=](net::group_retire& r) -> caf::result<bool> {
        auto& st = self->state;
        if (st.setup.epochs &&
            st.setup.epochs->refuses(r.epoch,
                                     fmt::format("{}: group {}", st.setup.node, st.setup.group),
                                     "group_retire"))
          return stale_epoch_error();
        st.retiring = true;
        st.retired = self->make_response_promise<bool>();
        spdlog::info("{}: group {} retiring ({} requests in flight)", st.setup.node, st.setup.group,
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
          if (now - f.admitted_at > st.setup.request_timeout_s) expired.push_back(seq);
        for (uint64_t seq : expired) {
          ++st.timed_out;
          fail_flight(self, seq, reply_status::failed_timeout,
                      fmt::format("not finished within {} s", st.setup.request_timeout_s));
        }
        self->delayed_send(self, sweep_interval, net::sweep_tick{});
      },
      [=](net::status_query) { return net::cluster_status{{describe(self)}}; },
  };
}

}  // namespace

net::group_manager_actor spawn_group_manager(caf::actor_system& sys, group_manager_setup setup) {
  return sys.spawn(group_manager, std::move(setup));
}

}  // namespace alpaserve::actors
