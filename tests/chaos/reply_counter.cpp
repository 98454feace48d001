// alpaserve_reply_counter: a test-only client that COUNTS the replies of every request id
// (tests/integration/runtime_one_reply.sh). The normal client (net/client.cpp) uses CAF's
// request/then, which keeps the first response to a request id and silently drops a second one,
// so it cannot see a duplicate reply. This tool sends each infer_request with a plain
// asynchronous `send`: every reply (the dispatcher's own, or the group manager's delivered
// through the promise the dispatcher delegated to it) then arrives as an ordinary infer_reply
// message, and each one is counted.
//
// It monitors the dispatcher: a down_msg means the connection to the dispatcher's node is gone;
// requests without a reply by then are recorded as lost_connection (not as replies), the rest are
// not sent. It stops when every request has a reply (or is lost), or at --deadline-s, then waits
// --grace-s for late duplicates and writes one CSV row per request:
//   request_id,model,sent_s,replies,status,group,first_reply_s,statuses
// status: the first reply's status, or lost_connection / not_sent / no_reply; group: the first
// reply's group (-1: answered by the dispatcher itself, or none); statuses: every reply's
// status in arrival order (';'-separated). The last line on stdout is a summary.
//
//   alpaserve_reply_counter --host 127.0.0.1 --port 7700 --requests 300 --rate 30
//                           --models m0,m1 --seed 1 --csv out.csv

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "net/bootstrap.hpp"
#include "net/messages.hpp"
#include "net/tensor_wire.hpp"

namespace {

using namespace alpaserve;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  int port = 0;
  size_t requests = 100;
  double rate = 20;  // requests per second (Poisson arrivals)
  std::vector<std::string> models = {"m0"};
  uint64_t seed = 1;
  double slo_ms = 0;       // 0: the model's SLO
  double deadline_s = 60;  // from the first send: stop waiting for missing replies
  double grace_s = 3;      // after the stop: wait this long for late duplicate replies
  double connect_timeout_s = 20;
  double ready_timeout_s = 30;
  int heartbeat_ms = 500;
  std::string csv;
};

// What one request got back.
struct record {
  std::string model;
  bool sent = false;
  double sent_s = -1;
  double first_reply_s = -1;
  int group = -1;                     // of the first reply
  std::vector<std::string> statuses;  // every reply, in arrival order
};

struct results {
  std::vector<record> records;
  bool lost = false;
  double lost_at_s = -1;
  std::string lost_reason;
  size_t stray = 0;   // replies for ids this counter never sent
  size_t errors = 0;  // caf::error messages (none expected: replies are infer_reply)
  size_t other = 0;   // any other unexpected message
};

struct send_tick {};
struct check_tick {};
struct grace_over {};

struct counter_state {
  net::dispatcher_actor dispatcher;
  options opt;
  results* out = nullptr;
  std::vector<double> offsets;  // send time of request i, seconds after start
  std::string payload;
  clock_type::time_point start;
  size_t next = 0;
  size_t resolved = 0;  // requests with >= 1 reply, or lost
  bool stopping = false;
  static inline const char* name = "reply_counter";
};

using counter_actor = caf::stateful_actor<counter_state>*;

caf::timespan seconds_span(double s) {
  return std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(std::max(s, 0.0)));
}

double elapsed(counter_actor self) {
  return std::chrono::duration<double>(clock_type::now() - self->state.start).count();
}

// Everything is answered (or lost), or the deadline passed: wait the grace period for late
// duplicates (none can come over a lost connection), then stop.
void stop(counter_actor self, const char* why) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  const double grace = st.out->lost ? 0.2 : st.opt.grace_s;
  std::fprintf(stderr, "counter: stopping at %.2f s (%s); grace %.1f s\n", elapsed(self), why,
               grace);
  self->delayed_send(self, seconds_span(grace), grace_over{});
}

void maybe_done(counter_actor self) {
  auto& st = self->state;
  if (st.out->lost) return stop(self, "connection to the dispatcher lost");
  if (st.next == st.opt.requests && st.resolved == st.opt.requests)
    stop(self, "every request answered");
}

void send_due(counter_actor self) {
  auto& st = self->state;
  if (st.out->lost || st.stopping) return;
  const double now = elapsed(self);
  while (st.next < st.opt.requests && st.offsets[st.next] <= now) {
    const size_t i = st.next++;
    auto& rec = st.out->records[i];
    net::infer_request req;
    req.model = rec.model;
    req.request_id = i;
    req.payload = st.payload;
    req.slo_s = st.opt.slo_ms / 1e3;
    rec.sent = true;
    rec.sent_s = elapsed(self);
    // A plain asynchronous message: the reply comes back as an ordinary infer_reply message
    // (no request id, so nothing filters a second one).
    self->send(st.dispatcher, std::move(req));
  }
  if (st.next < st.opt.requests)
    self->delayed_send(self, seconds_span(st.offsets[st.next] - now), send_tick{});
}

void on_reply(counter_actor self, net::infer_reply& r) {
  auto& st = self->state;
  if (r.request_id >= st.out->records.size() || !st.out->records[r.request_id].sent) {
    ++st.out->stray;
    std::fprintf(stderr, "counter: reply for a request never sent: id %llu (%s)\n",
                 static_cast<unsigned long long>(r.request_id), net::to_string(r.status).c_str());
    return;
  }
  auto& rec = st.out->records[r.request_id];
  rec.statuses.push_back(net::to_string(r.status));
  if (rec.statuses.size() == 1) {
    rec.first_reply_s = elapsed(self);
    rec.group = r.group;
    ++st.resolved;
    maybe_done(self);
  } else {
    std::fprintf(stderr, "counter: DUPLICATE reply %zu for request %llu: %s (%s)\n",
                 rec.statuses.size(), static_cast<unsigned long long>(r.request_id),
                 net::to_string(r.status).c_str(), r.message.c_str());
  }
}

caf::behavior counter(counter_actor self, counter_state init) {
  self->state = std::move(init);
  auto& st = self->state;
  st.start = clock_type::now();
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    if (dm.source != s.dispatcher.address() || s.out->lost) return;
    s.out->lost = true;
    s.out->lost_at_s = elapsed(self);
    s.out->lost_reason = self->system().render(dm.reason);
    std::fprintf(stderr, "counter: connection to the dispatcher lost at %.2f s (%s)\n",
                 s.out->lost_at_s, s.out->lost_reason.c_str());
    maybe_done(self);
  });
  self->set_error_handler([=](caf::error& e) {
    ++self->state.out->errors;
    std::fprintf(stderr, "counter: error message: %s\n", self->system().render(e).c_str());
  });
  self->set_default_handler(
      [=](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        ++self->state.out->other;
        std::fprintf(stderr, "counter: unexpected message %s\n", to_string(x.content()).c_str());
        return caf::message{};
      });
  self->monitor(st.dispatcher);
  send_due(self);
  self->delayed_send(self, seconds_span(st.opt.deadline_s), check_tick{});
  return {
      [=](send_tick) { send_due(self); },
      [=](net::infer_reply& r) { on_reply(self, r); },
      [=](check_tick) { stop(self, "deadline"); },
      [=](grace_over) { self->quit(); },
  };
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  for (;;) {
    const size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "alpaserve_reply_counter: " << why << "\n"
            << "usage: alpaserve_reply_counter --port P --csv FILE [--host H] [--requests N]\n"
               "  [--rate R] [--models m0,m1] [--seed S] [--slo-ms MS] [--deadline-s S]\n"
               "  [--grace-s S] [--connect-timeout-s S] [--ready-timeout-s S] "
               "[--heartbeat-ms MS]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + a);
    const std::string v = argv[++i];
    try {
      if (a == "--host")
        o.host = v;
      else if (a == "--port")
        o.port = std::stoi(v);
      else if (a == "--requests")
        o.requests = std::stoul(v);
      else if (a == "--rate")
        o.rate = std::stod(v);
      else if (a == "--models")
        o.models = split(v, ',');
      else if (a == "--seed")
        o.seed = std::stoull(v);
      else if (a == "--slo-ms")
        o.slo_ms = std::stod(v);
      else if (a == "--deadline-s")
        o.deadline_s = std::stod(v);
      else if (a == "--grace-s")
        o.grace_s = std::stod(v);
      else if (a == "--connect-timeout-s")
        o.connect_timeout_s = std::stod(v);
      else if (a == "--ready-timeout-s")
        o.ready_timeout_s = std::stod(v);
      else if (a == "--heartbeat-ms")
        o.heartbeat_ms = std::stoi(v);
      else if (a == "--csv")
        o.csv = v;
      else
        usage("unknown option " + a);
    } catch (const std::exception&) {
      usage("bad value for " + a + ": " + v);
    }
  }
  if (o.port <= 0 || o.csv.empty() || o.requests == 0 || !(o.rate > 0) || o.models.empty() ||
      !std::isfinite(o.slo_ms) || o.slo_ms < 0)
    usage("--port, --csv, --requests > 0, --rate > 0 and a finite --slo-ms >= 0 are required");
  return o;
}

// Polls cluster_info until the cluster serves.
bool wait_ready(caf::actor_system& sys, const net::dispatcher_actor& d, double timeout_s) {
  const auto give_up = clock_type::now() + std::chrono::duration<double>(timeout_s);
  caf::scoped_actor self{sys};
  std::string last;
  while (clock_type::now() < give_up) {
    bool ready = false;
    self->request(d, std::chrono::seconds(5), net::cluster_info_query{})
        .receive([&](net::cluster_info& i) { ready = i.ready, last = i.state; },
                 [&](caf::error& e) { last = sys.render(e); });
    if (ready) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "alpaserve_reply_counter: cluster not ready: " << last << "\n";
  return false;
}

int write_csv(const options& o, const results& r) {
  std::ofstream f(o.csv);
  if (!f) {
    std::cerr << "alpaserve_reply_counter: cannot write " << o.csv << "\n";
    return 1;
  }
  f << "request_id,model,sent_s,replies,status,group,first_reply_s,statuses\n";
  size_t sent = 0, answered = 0, duplicates = 0, lost = 0, not_sent = 0, no_reply = 0;
  std::unordered_map<std::string, size_t> first;
  for (size_t i = 0; i < r.records.size(); ++i) {
    const auto& rec = r.records[i];
    std::string status, all;
    for (const auto& s : rec.statuses) all += (all.empty() ? "" : ";") + s;
    if (!rec.statuses.empty()) {
      status = rec.statuses.front();
      ++answered;
      ++first[status];
      if (rec.statuses.size() > 1) ++duplicates;
    } else if (!rec.sent) {
      status = "not_sent";
      ++not_sent;
    } else if (r.lost) {
      status = "lost_connection";
      ++lost;
    } else {
      status = "no_reply";
      ++no_reply;
    }
    sent += rec.sent ? 1 : 0;
    char line[256];
    std::snprintf(line, sizeof line, "%zu,%s,%.4f,%zu,%s,%d,%.4f,", i, rec.model.c_str(),
                  rec.sent_s, rec.statuses.size(), status.c_str(), rec.group, rec.first_reply_s);
    f << line << all << "\n";
  }
  std::string by_status;
  for (const auto& [s, n] : first) by_status += " " + s + "=" + std::to_string(n);
  std::cout << "counter: requests=" << r.records.size() << " sent=" << sent
            << " answered=" << answered << " duplicates=" << duplicates << " no_reply=" << no_reply
            << " lost_connection=" << lost << " not_sent=" << not_sent << " stray=" << r.stray
            << " errors=" << r.errors << " other=" << r.other << " lost=" << (r.lost ? "yes" : "no")
            << " |" << by_status << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  net::runtime_settings settings;
  settings.heartbeat_interval_ms = o.heartbeat_ms;  // a frozen dispatcher node is noticed
  net::runtime_config cfg(settings);
  caf::actor_system sys(cfg);
  std::string problem;
  auto d = net::lookup_remote_as<net::dispatcher_actor>(
      sys, o.host, o.port, net::registry_names::dispatcher,
      std::chrono::milliseconds(static_cast<int64_t>(o.connect_timeout_s * 1000)), &problem);
  if (!d) {
    std::cerr << "alpaserve_reply_counter: cannot reach the dispatcher: " << problem << "\n";
    return 1;
  }
  if (!wait_ready(sys, *d, o.ready_timeout_s)) return 1;

  results out;
  out.records.resize(o.requests);
  counter_state init;
  init.dispatcher = *d;
  init.opt = o;
  init.out = &out;
  std::mt19937_64 rng(o.seed);
  std::exponential_distribution<double> gap(o.rate);
  std::uniform_int_distribution<size_t> pick(0, o.models.size() - 1);
  double t = 0;
  for (size_t i = 0; i < o.requests; ++i) {
    init.offsets.push_back(t);
    t += gap(rng);
    out.records[i].model = o.models[pick(rng)];
  }
  const std::vector<int64_t> shape = {1, 4};
  const float data[4] = {3, 10, 17, 24};
  init.payload = net::encode_f32(shape, data);
  std::cout << "counter: sending " << o.requests << " requests at " << o.rate << " r/s to "
            << o.host << ":" << o.port << std::endl;  // the script waits for this line
  {
    auto worker = sys.spawn(counter, std::move(init));
    caf::scoped_actor self{sys};
    self->monitor(worker);
    self->receive([](caf::down_msg&) {});
  }
  // The actor is gone: `out` is ours again.
  return write_csv(o, out);
}
