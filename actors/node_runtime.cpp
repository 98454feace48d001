#include "actors/node_runtime.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <thread>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actor_support.hpp"
#include "actors/controller.hpp"
#include "actors/dispatcher.hpp"
#include "actors/epoch_gate.hpp"
#include "actors/node_agent.hpp"
#include "actors/node_metrics.hpp"
#include "metrics/http_exporter.hpp"
#include "net/bootstrap.hpp"

namespace alpaserve::actors {
namespace {

std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
  node_stopping().store(true);
}

// Can a TCP connection to host:port be opened within `timeout`? CAF's connect blocks in
// connect(2) without a time limit: on a link that is down (a partition) that is the kernel's SYN
// retries, over a minute. The controller is looked up again only once this probe succeeds, so a
// node cut off notices the healed link within about a second.
bool tcp_reachable(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool ok = false;
  for (addrinfo* a = found; a != nullptr && !ok; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
    close(fd);
  }
  freeaddrinfo(found);
  return ok;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

// The node's metrics and their HTTP endpoint (null: metrics off). Throws when the port cannot be
// bound.
std::shared_ptr<node_metrics> start_metrics(const node_launch& launch,
                                            std::unique_ptr<metrics::http_exporter>& exporter) {
  if (launch.metrics_port <= 0) return nullptr;
  auto m = std::make_shared<node_metrics>(launch.name);
  if (launch.is_dispatcher)  // requests are counted where the dispatcher and groups run
    for (const auto& model : launch.controller.models)
      if (model.slo > 0) m->add_model(model.name, model.slo);
  metrics::http_exporter_options o;
  o.bind_address = !launch.metrics_bind_address.empty() ? launch.metrics_bind_address
                   : is_loopback(launch.host)           ? launch.host
                                                        : "0.0.0.0";
  o.port = launch.metrics_port;
  exporter = std::make_unique<metrics::http_exporter>(m->registry(), o,
                                                      [raw = m.get()] { return raw->readiness(); });
  exporter->start();
  spdlog::info("{}: metrics on http://{}:{}/metrics (/healthz, /readyz)", launch.name,
               o.bind_address, exporter->port());
  return m;
}

}  // namespace

int run_node(const node_launch& launch) {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
  // Declared before the actor system: its actors hold the metrics until the system is gone.
  std::unique_ptr<metrics::http_exporter> exporter;
  std::shared_ptr<node_metrics> metrics;
  try {
    metrics = start_metrics(launch, exporter);
  } catch (const std::exception& e) {
    spdlog::error(
        "{}: cannot serve metrics on port {}: {} (set the node's metrics_port, "
        "metrics.port_offset or metrics.enabled in the config)",
        launch.name, launch.metrics_port, e.what());
    return 1;
  }
  // The controller's deployment record (a restarted controller adopts what it names); a bad
  // file is reported before anything starts.
  std::optional<deployment_record> record;
  if (launch.is_controller && !launch.controller.record_path.empty()) {
    try {
      record = read_deployment_record(launch.controller.record_path);
    } catch (const std::exception& e) {
      spdlog::error("{}: {} (move the file away to start the cluster afresh)", launch.name,
                    e.what());
      return 2;
    }
  }
  net::runtime_config cfg(launch.caf);
  caf::actor_system sys(cfg);
  // One epoch gate for every actor of this process (actors/epoch_gate.hpp).
  auto epochs = std::make_shared<epoch_gate>();
  // Every controller candidate's endpoint, for logs.
  std::string candidates;
  for (const auto& [h, p] : launch.controllers)
    candidates += (candidates.empty() ? "" : ", ") + h + ":" + std::to_string(p);
  // A candidate runs the controller unless another candidate's already answers (one started on
  // a second candidate after the first was lost; a later candidate gives the first 3 s at a
  // cluster start). A candidate that does not run it is a plain node with its other roles.
  bool run_controller = launch.is_controller;
  if (run_controller && launch.controllers.size() > 1) {
    if (launch.candidate_index > 0)
      for (int i = 0; i < 30 && stop_signal.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (size_t i = 0; i < launch.controllers.size() && run_controller; ++i) {
      if (static_cast<int>(i) == launch.candidate_index) continue;
      const auto& [h, p] = launch.controllers[i];
      if (!tcp_reachable(h, p, std::chrono::milliseconds(300))) continue;
      if (net::lookup_remote(sys, h, p, net::registry_names::controller,
                             std::chrono::milliseconds(300))) {
        spdlog::info("{}: the controller already runs at {}:{}; this candidate does not start one",
                     launch.name, h, p);
        run_controller = false;
      }
    }
  }
  net::dispatcher_actor dispatcher;
  net::controller_actor controller;
  std::vector<net::status_actor> local;
  if (launch.is_dispatcher) {
    dispatcher_settings ds = launch.dispatcher;
    ds.metrics = metrics;
    ds.epochs = epochs;
    dispatcher = spawn_dispatcher(sys, launch.name, std::move(ds));
    // Each registry name holds only its role's handle (net::lookup_remote_as casts on lookup).
    sys.registry().put(net::registry_names::dispatcher, caf::actor_cast<caf::actor>(dispatcher));
    local.push_back(dispatcher);
  }
  if (run_controller) {
    controller_settings cs = launch.controller;
    cs.metrics = metrics;
    cs.record = std::move(record);
    // A dispatcher on another node reaches the controller when that node registers.
    controller = spawn_controller(sys, launch.name, std::move(cs), dispatcher);
    sys.registry().put(net::registry_names::controller, caf::actor_cast<caf::actor>(controller));
    local.insert(local.begin(), controller);
  }
  net::node_agent_actor agent;
  auto stop_all = [&] {
    caf::scoped_actor self{sys};
    if (agent) self->send_exit(agent, caf::exit_reason::user_shutdown);
    if (controller) self->send_exit(controller, caf::exit_reason::user_shutdown);
    if (dispatcher) self->send_exit(dispatcher, caf::exit_reason::user_shutdown);
  };
  net::controller_actor controller_for_agent;
  if (launch.is_worker && run_controller) controller_for_agent = controller;
  // Every other node registers (a dispatcher-only node too: it brings the dispatcher); a
  // candidate with no other role stands by.
  const bool registers = !run_controller && (launch.is_worker || launch.is_dispatcher);
  // Looks the controller up, retrying (with a growing pause) for up to `patience_s`; stops early
  // on SIGINT / SIGTERM.
  // `probe`: first check the port is reachable at all (tcp_reachable), as after a partition.
  auto find_controller = [&](double patience_s, std::chrono::milliseconds max_pause, bool probe,
                             std::string* problem) {
    const auto give_up = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(static_cast<int64_t>(patience_s * 1000));
    std::chrono::milliseconds pause{200};
    std::optional<net::controller_actor> found;
    while (stop_signal.load() == 0) {
      // Every candidate in turn: the controller runs on one of them.
      for (size_t i = 0; i < launch.controllers.size() && !found; ++i) {
        if (static_cast<int>(i) == launch.candidate_index) continue;
        const auto& [h, p] = launch.controllers[i];
        if (probe && !tcp_reachable(h, p, std::chrono::milliseconds(1000))) {
          if (problem != nullptr) *problem = "cannot connect to " + h + ":" + std::to_string(p);
          continue;
        }
        found = net::lookup_remote_as<net::controller_actor>(
            sys, h, p, net::registry_names::controller, std::chrono::milliseconds(500), problem);
      }
      if (found || std::chrono::steady_clock::now() >= give_up) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, max_pause);
    }
    return found;
  };
  if (registers) {
    std::string problem;
    auto ctrl =
        find_controller(launch.startup_timeout_s, std::chrono::milliseconds(200), false, &problem);
    if (!ctrl) {
      if (stop_signal.load() != 0) {
        stop_all();
        return 0;
      }
      spdlog::error("{}: cannot reach the controller (candidates {}) within {} s: {}", launch.name,
                    candidates, launch.startup_timeout_s, problem);
      stop_all();
      return 1;
    }
    controller_for_agent = *ctrl;
  }
  // Set by the node agent when the controller is lost (not shut down in order): the loop below
  // looks it up again and hands it to the agent, which registers again (docs/runtime.md
  // "Failures").
  auto controller_lost = std::make_shared<std::atomic<bool>>(false);
  node_agent_setup setup;
  setup.node = launch.name;
  setup.num_devices = launch.num_devices;
  setup.device_memory_bytes = launch.device_memory_bytes;
  setup.device_kind = launch.device_kind;
  setup.host = launch.host;
  setup.controller = controller_for_agent;
  setup.local_actors = local;
  setup.stage_start_timeout_s = launch.controller.timeouts.stage_start_timeout_s;
  setup.control_timeout_s = launch.controller.timeouts.control_timeout_s;
  setup.metrics = metrics;
  setup.epochs = epochs;
  setup.worker = launch.is_worker;
  setup.weights_files = launch.weights_files;
  if (launch.is_dispatcher && !run_controller) setup.dispatcher = dispatcher;
  if (registers) setup.on_controller_lost = [controller_lost] { controller_lost->store(true); };
  agent = spawn_node_agent(sys, std::move(setup));
  sys.registry().put(net::registry_names::node_agent, caf::actor_cast<caf::actor>(agent));
  // The controller's node publishes before anything looks it up, so workers can find it.
  const char* bind = !launch.bind_address.empty() ? launch.bind_address.c_str()
                     : is_loopback(launch.host)   ? launch.host.c_str()
                                                  : nullptr;  // else every interface
  // Plain TCP or TLS, as launch.caf.tls says (net/bootstrap.hpp).
  std::string problem;
  auto port = net::publish_actor(sys, caf::actor_cast<caf::actor>(agent),
                                 static_cast<uint16_t>(launch.port), bind, launch.name, &problem);
  if (!port) {
    spdlog::error("{}: cannot listen on {}:{}: {}", launch.name, launch.host, launch.port, problem);
    stop_all();
    return 1;
  }
  const char* roles = run_controller && launch.is_dispatcher ? " (controller, dispatcher)"
                      : run_controller                      ? " (controller)"
                      : launch.is_dispatcher                      ? " (dispatcher)"
                                                                  : "";
  spdlog::info("{}: listening on {}:{}{}{}", launch.name, launch.host, *port, roles,
               net::tls_transport(sys) ? " over TLS" : "");
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    self->monitor(agent);
    bool running = true;
    // Direct connections to every peer node (a BASP route through a third node would break
    // when that node is lost): tried every 2 s until made, again after a peer's agent is down.
    std::vector<caf::actor> peer_agents(launch.peers.size());
    auto next_mesh = std::chrono::steady_clock::now();
    auto connect_peers = [&] {
      if (std::chrono::steady_clock::now() < next_mesh) return;
      next_mesh = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      for (size_t i = 0; i < launch.peers.size(); ++i) {
        if (peer_agents[i]) continue;
        const auto& [host, port] = launch.peers[i];
        if (!tcp_reachable(host, port, std::chrono::milliseconds(300))) continue;
        auto found = net::lookup_remote(sys, host, port, net::registry_names::node_agent,
                                        std::chrono::milliseconds(0));
        if (!found) continue;
        peer_agents[i] = *found;
        self->monitor(*found);
      }
    };
    while (running && stop_signal.load() == 0) {
      connect_peers();
      if (controller_lost->exchange(false)) {
        // The node serves on without a controller and looks for it until it is back (a
        // restarted controller adopts what the node runs: docs/runtime.md "Controller loss").
        spdlog::warn("{}: looking up the controller again at {} (serving on meanwhile)",
                     launch.name, candidates);
        std::string problem;
        std::optional<net::controller_actor> ctrl;
        while (!ctrl && stop_signal.load() == 0 && !node_stopping().load()) {
          ctrl = find_controller(launch.startup_timeout_s, std::chrono::milliseconds(1000), true,
                                 &problem);
          if (!ctrl)
            spdlog::warn("{}: no controller at {} after {} s: {}", launch.name, candidates,
                         launch.startup_timeout_s, problem);
        }
        if (stop_signal.load() != 0 || node_stopping().load()) break;
        self->send(agent, net::rejoin_controller{*ctrl});
      }
      self->receive(
          [&](caf::down_msg& dm) {
            if (dm.source != agent.address()) {  // a peer's agent: connect again later
              for (auto& p : peer_agents)
                if (p && p.address() == dm.source) p = nullptr;
              return;
            }
            running = false;
            if (node_stopping().load() || dm.reason == caf::exit_reason::user_shutdown) {
              spdlog::info("{}: node agent stopped; exiting", launch.name);
            } else {
              spdlog::error("{}: node agent stopped ({}); exiting", launch.name,
                            sys.render(dm.reason));
              rc = 1;
            }
          },
          caf::after(std::chrono::milliseconds(100)) >> [] {});
    }
  }
  if (stop_signal.load() != 0)
    spdlog::info("{}: stopping on signal {}", launch.name, stop_signal.load());
  node_stopping().store(true);
  stop_all();
  net::unpublish_actor(sys, caf::actor_cast<caf::actor>(agent), static_cast<uint16_t>(*port));
  return rc;
}

}  // namespace alpaserve::actors
