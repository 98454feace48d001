#include "actors/node_runtime.hpp"

#include <atomic>
#include <csignal>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace alpaserve::actors {
namespace {

std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
}

}  // namespace

int run_node(const node_launch& launch) {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
  net::runtime_config cfg(launch.caf);
  caf::actor_system sys(cfg);
  caf::actor dispatcher_actor, controller_actor;
  std::vector<caf::actor> local;
  if (launch.is_controller) {
    dispatcher_actor = spawn_dispatcher(sys, launch.name, launch.dispatcher);
    controller_actor = spawn_controller(sys, launch.name, launch.controller, dispatcher_actor);
    sys.registry().put(net::registry_names::dispatcher, dispatcher_actor);
    sys.registry().put(net::registry_names::controller, controller_actor);
    local = {controller_actor, dispatcher_actor};
  }
  caf::actor controller_for_agent;
  if (launch.is_worker) {
    if (launch.is_controller) {
      controller_for_agent = controller_actor;
    }
  }
  auto stop_all = [&](caf::actor& agent) {
    caf::scoped_actor self{sys};
    for (auto* a : {&agent, &controller_actor, &dispatcher_actor})
      if (*a) self->send_exit(*a, caf::exit_reason::user_shutdown);
  };
  // The controller's node publishes before looking anything up, so workers can find it.
  caf::actor agent;
  auto publish_agent = [&]() -> bool {
    const char* bind = launch.host == "localhost" || launch.host.rfind("127.", 0) == 0
                           ? launch.host.c_str()
                           : nullptr;  // a routable host: listen on every interface
    // Plain TCP or TLS, as launch.caf.tls says (net/bootstrap.hpp).
    std::string problem;
    auto port = net::publish_actor(sys, agent, static_cast<uint16_t>(launch.port), bind,
                                   launch.name, &problem);
    if (!port) {
      spdlog::error("{}: cannot listen on {}:{}: {}", launch.name, launch.host, launch.port,
                    problem);
      return false;
    }
    spdlog::info("{}: listening on {}:{}{}{}", launch.name, launch.host, *port,
                 launch.is_controller ? " (controller, dispatcher)" : "",
                 net::tls_transport(sys) ? " over TLS" : "");
    return true;
  };
  if (launch.is_worker && !launch.is_controller) {
    std::string problem;
    auto ctrl = net::lookup_remote(
        sys, launch.controller_host, launch.controller_port, net::registry_names::controller,
        std::chrono::milliseconds(static_cast<int64_t>(launch.startup_timeout_s * 1000)), &problem);
    if (!ctrl) {
      spdlog::error("{}: cannot reach the controller at {}:{} within {} s: {}", launch.name,
                    launch.controller_host, launch.controller_port, launch.startup_timeout_s,
                    problem);
      stop_all(agent);
      return 1;
    }
    controller_for_agent = *ctrl;
  }
  agent = spawn_node_agent(sys, launch.name, launch.num_devices, launch.device_memory_bytes,
                           launch.device_kind, controller_for_agent, local, launch.host);
  sys.registry().put(net::registry_names::node_agent, agent);
  if (!publish_agent()) {
    stop_all(agent);
    return 1;
  }
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    self->monitor(agent);
    bool running = true;
    while (running && stop_signal.load() == 0) {
      self->receive(
          [&](caf::down_msg& dm) {
            spdlog::error("{}: node agent stopped ({}); exiting", launch.name,
                          sys.render(dm.reason));
            rc = 1;
            running = false;
          },
          caf::after(std::chrono::milliseconds(100)) >> [] {});
    }
  }
  if (stop_signal.load() != 0)
    spdlog::info("{}: stopping on signal {}", launch.name, stop_signal.load());
  stop_all(agent);
  net::unpublish_actor(sys, agent, static_cast<uint16_t>(launch.port));
  return rc;
}

}  // namespace alpaserve::actors
