#include "net/client.hpp"

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "net/bootstrap.hpp"
#include "net/messages.hpp"

namespace alpaserve::net {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

caf::timespan seconds_span(double s) {
  return std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(s));
}

infer_reply synthesized(uint64_t id, const caf::error& e, caf::actor_system& sys) {
  infer_reply r;
  r.request_id = id;
  // request_timeout: the cluster did not answer; anything else: the connection is gone.
  r.status = e == caf::sec::request_timeout ? reply_status::failed_timeout
                                            : reply_status::failed_node_lost;
  r.message = "client: " + sys.render(e);
  return r;
}

// Whether the client may send this SLO at all (CAF 0.17 loops forever packing +-inf).
bool valid_slo(double slo_s) {
  return std::isfinite(slo_s) && slo_s >= 0;
}

// Sends requests on a schedule (replay) or keeping a window full (burst) and collects exactly
// one reply per request: the cluster's, or one synthesized here (timeout, lost dispatcher, an
// SLO the client refuses to send). It monitors the dispatcher: when the connection drops, every
// outstanding request fails at once, and later ones without being sent.
struct sender_state {
  dispatcher_actor dispatcher;
  double timeout_s = 60;
  double slo_s = 0;
  uint64_t first_id = 0;                         // request i carries first_id + i
  const std::vector<double>* offsets = nullptr;  // replay schedule; null for burst
  std::vector<std::string> models;               // per request (burst: one entry)
  std::string payload;
  size_t total = 0;
  size_t window = 0;
  size_t next = 0;
  clock_type::time_point start;
  std::vector<timed_reply>* out = nullptr;
  std::vector<clock_type::time_point> sent_at;
  std::vector<bool> answered_flag;
  std::atomic<size_t>* sent = nullptr;
  std::atomic<size_t>* answered = nullptr;
  size_t done = 0;
  bool pumping = false;
  std::string lost;  // non-empty: the dispatcher is gone (why)
  static inline const char* name = "client_sender";
};

using sender_actor = caf::stateful_actor<sender_state>*;

struct send_tick {};

void pump(sender_actor self);

// The one answer of request i (a second one, e.g. a late timeout, is ignored).
void answer(sender_actor self, size_t i, infer_reply r) {
  auto& st = self->state;
  if (st.answered_flag[i]) return;
  st.answered_flag[i] = true;
  (*st.out)[i] = {std::move(r), seconds_since(st.sent_at[i])};
  st.answered->fetch_add(1);
  if (++st.done == st.total) return self->quit();
  pump(self);
}

infer_reply client_reply(uint64_t id, reply_status status, std::string message) {
  infer_reply r;
  r.request_id = id;
  r.status = status;
  r.message = "client: " + std::move(message);
  return r;
}

void send_one(sender_actor self) {
  auto& st = self->state;
  const size_t i = st.next++;
  const uint64_t id = st.first_id + i;
  st.sent_at[i] = clock_type::now();
  st.sent->fetch_add(1);
  if (!st.lost.empty())
    return answer(self, i, client_reply(id, reply_status::failed_node_lost, st.lost));
  if (!valid_slo(st.slo_s))
    return answer(self, i,
                  client_reply(id, reply_status::rejected_bad_input,
                               "slo_s must be a finite number >= 0 (0 = the model's SLO)"));
  infer_request req;
  req.model = st.models.size() == 1 ? st.models[0] : st.models[i];
  req.request_id = id;
  req.payload = st.payload;
  req.slo_s = st.slo_s;
  self->request(st.dispatcher, seconds_span(st.timeout_s), std::move(req))
      .then([=](infer_reply& r) { answer(self, i, std::move(r)); },
            [=](caf::error& e) { answer(self, i, synthesized(id, e, self->system())); });
}

// Burst: keeps `window` requests outstanding (a loop, not recursion: answers may come at once).
void pump(sender_actor self) {
  auto& st = self->state;
  if (st.pumping || st.offsets != nullptr) return;
  st.pumping = true;
  while (st.next < st.total && st.next - st.done < st.window) send_one(self);
  st.pumping = false;
}

void send_due(sender_actor self) {
  auto& st = self->state;
  const double elapsed = seconds_since(st.start);
  while (st.next < st.total && (*st.offsets)[st.next] <= elapsed) send_one(self);
  if (st.next < st.total && st.done < st.total)
    self->delayed_send(self, seconds_span((*st.offsets)[st.next] - elapsed), send_tick{});
}

void on_dispatcher_lost(sender_actor self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (dm.source != st.dispatcher.address() || !st.lost.empty()) return;
  st.lost = "connection to the dispatcher lost (" + self->system().render(dm.reason) + ")";
  std::vector<size_t> outstanding;
  for (size_t i = 0; i < st.next; ++i)
    if (!st.answered_flag[i]) outstanding.push_back(i);
  for (size_t i : outstanding)
    answer(self, i, client_reply(st.first_id + i, reply_status::failed_node_lost, st.lost));
}

caf::behavior sender(sender_actor self, sender_state init) {
  self->state = std::move(init);
  auto& st = self->state;
  st.sent_at.resize(st.total);
  st.answered_flag.assign(st.total, false);
  st.start = clock_type::now();
  if (st.total == 0) {
    self->quit();
    return {};
  }
  self->set_down_handler([=](caf::down_msg& dm) { on_dispatcher_lost(self, dm); });
  self->monitor(st.dispatcher);
  if (st.offsets != nullptr)
    send_due(self);
  else
    pump(self);
  return {
      [=](send_tick) { send_due(self); },
  };
}

}  // namespace

struct client::impl {
  client_options options;
  runtime_config cfg;
  caf::actor_system sys;
  dispatcher_actor dispatcher;

  explicit impl(client_options o) : options(std::move(o)), cfg(options.caf), sys(cfg) {}

  std::vector<timed_reply> run_sender(sender_state init,
                                      const std::function<void(size_t, size_t)>& progress) {
    std::vector<timed_reply> out(init.total);
    std::atomic<size_t> sent{0}, answered{0};
    init.out = &out;
    init.sent = &sent;
    init.answered = &answered;
    init.dispatcher = dispatcher;
    init.timeout_s = options.request_timeout_s;
    auto worker = sys.spawn(sender, std::move(init));
    caf::scoped_actor self{sys};
    self->monitor(worker);
    bool running = true;
    while (running) {
      self->receive([&](caf::down_msg&) { running = false; },
                    caf::after(std::chrono::milliseconds(100)) >>
                        [&] {
                          if (progress) progress(sent.load(), answered.load());
                        });
    }
    if (progress) progress(sent.load(), answered.load());
    return out;
  }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
  if (!impl_->options.connect_dispatcher) return;
  std::string problem;
  auto d = lookup_remote_as<dispatcher_actor>(
      impl_->sys, impl_->options.host, impl_->options.port, registry_names::dispatcher,
      std::chrono::milliseconds(static_cast<int64_t>(impl_->options.connect_timeout_s * 1000)),
      &problem);
  if (!d) throw std::runtime_error("cannot reach the dispatcher: " + problem);
  impl_->dispatcher = *d;
}

client::~client() = default;

cluster_info client::info() {
  caf::scoped_actor self{impl_->sys};
  cluster_info out;
  bool ok = false;
  std::string why;
  self->request(impl_->dispatcher, std::chrono::seconds(5), cluster_info_query{})
      .receive(
          [&](cluster_info& i) {
            out = std::move(i);
            ok = true;
          },
          [&](caf::error& e) { why = impl_->sys.render(e); });
  if (!ok) throw std::runtime_error("dispatcher did not answer: " + why);
  return out;
}

cluster_info client::wait_ready(double timeout_s) {
  const auto t0 = clock_type::now();
  for (;;) {
    cluster_info i = info();
    if (i.ready) return i;
    if (i.state.rfind("failed", 0) == 0) throw std::runtime_error("cluster " + i.state);
    if (seconds_since(t0) > timeout_s)
      throw std::runtime_error("cluster not ready after " + std::to_string(timeout_s) +
                               " s: " + i.state);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

timed_reply client::submit(const std::string& model, std::string payload, double slo_s) {
  static std::atomic<uint64_t> ids{1};
  sender_state init;
  init.models = {model};
  init.payload = std::move(payload);
  init.total = 1;
  init.window = 1;
  init.slo_s = slo_s;
  init.first_id = ids.fetch_add(1);
  return impl_->run_sender(std::move(init), {}).front();
}

std::vector<timed_reply> client::replay(const std::vector<double>& offsets,
                                        const std::vector<std::string>& models,
                                        const std::string& payload,
                                        const std::function<void(size_t, size_t)>& progress,
                                        double slo_s) {
  if (offsets.size() != models.size())
    throw std::invalid_argument("replay: offsets and models differ in length");
  sender_state init;
  init.offsets = &offsets;
  init.models = models;
  init.payload = payload;
  init.total = offsets.size();
  init.slo_s = slo_s;
  return impl_->run_sender(std::move(init), progress);
}

std::vector<timed_reply> client::burst(size_t count, size_t window, const std::string& model,
                                       const std::string& payload, double slo_s) {
  sender_state init;
  init.models = {model};
  init.payload = payload;
  init.total = count;
  init.window = std::max<size_t>(1, window);
  init.slo_s = slo_s;
  return impl_->run_sender(std::move(init), {});
}

cluster_status client::node_status(const std::string& host, int port) {
  std::string problem;
  auto agent =
      lookup_remote_as<node_agent_actor>(impl_->sys, host, port, registry_names::node_agent,
                                         std::chrono::milliseconds(2000), &problem);
  if (!agent) throw std::runtime_error(problem);
  caf::scoped_actor self{impl_->sys};
  cluster_status out;
  std::string why;
  bool ok = false;
  self->request(*agent, std::chrono::seconds(10), status_query{})
      .receive(
          [&](cluster_status& s) {
            out = std::move(s);
            ok = true;
          },
          [&](caf::error& e) { why = impl_->sys.render(e); });
  if (!ok)
    throw std::runtime_error("node at " + host + ":" + std::to_string(port) +
                             " did not answer: " + why);
  return out;
}

}  // namespace alpaserve::net
