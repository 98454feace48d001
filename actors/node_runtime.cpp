#include "actors/node_runtime.hpp"

#include <atomic>
#include <csignal>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actor_support.hpp"
#include "actors/controller.hpp"
#include "actors/dispatcher.hpp"
#include "actors/node_agent.hpp"
#include "net/bootstrap.hpp"

namespace alpaserve::actors {
namespace {

std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
  node_stopping().store(true);
}

}  // namespace

int run_node(const node_launch& launch) {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
  net::runtime_config cfg(launch.caf);
  caf::actor_system sys(cfg);
  net::dispatcher_actor dispatcher;
  net::controller_actor controller;
  std::vector<net::status_actor> local;
  if (launch.is_controller) {
    dispatcher = spawn_dispatcher(sys, launch.name, launch.dispatcher);
    controller = spawn_controller(sys, launch.name, launch.controller, dispatcher);
    // Each registry name holds only its role's handle (net::lookup_remote_as casts on lookup).
    sys.registry().put(net::registry_names::dispatcher, caf::actor_cast<caf::actor>(dispatcher));
    sys.registry().put(net::registry_names::controller, caf::actor_cast<caf::actor>(controller));
    local = {controller, dispatcher};
  }
  net::node_agent_actor agent;
  auto stop_all = [&] {
    caf::scoped_actor self{sys};
    if (agent) self->send_exit(agent, caf::exit_reason::user_shutdown);
    if (controller) self->send_exit(controller, caf::exit_reason::user_shutdown);
    if (dispatcher) self->send_exit(dispatcher, caf::exit_reason::user_shutdown);
  };
  net::controller_actor controller_for_agent;
  if (launch.is_worker && launch.is_controller) controller_for_agent = controller;
  if (launch.is_worker && !launch.is_controller) {
    std::string problem;
    auto ctrl = net::lookup_remote_as<net::controller_actor>(
        sys, launch.controller_host, launch.controller_port, net::registry_names::controller,
        std::chrono::milliseconds(static_cast<int64_t>(launch.startup_timeout_s * 1000)), &problem);
    if (!ctrl) {
      spdlog::error("{}: cannot reach the controller at {}:{} within {} s: {}", launch.name,
                    launch.controller_host, launch.controller_port, launch.startup_timeout_s,
                    problem);
      stop_all();
      return 1;
    }
    controller_for_agent = *ctrl;
  }
  node_agent_setup setup;
  setup.node = launch.name;
  setup.num_devices = launch.num_devices;
  setup.device_memory_bytes = launch.device_memory_bytes;
  setup.device_kind = launch.device_kind;
  setup.host = launch.host;
  setup.controller = controller_for_agent;
  setup.local_actors = local;
  setup.stage_start_timeout_s = launch.controller.timeouts.stage_start_timeout_s;
  agent = spawn_node_agent(sys, std::move(setup));
  sys.registry().put(net::registry_names::node_agent, caf::actor_cast<caf::actor>(agent));
  // The controller's node publishes before anything looks it up, so workers can find it.
  const char* bind = launch.host == "localhost" || launch.host.rfind("127.", 0) == 0
                         ? launch.host.c_str()
                         : nullptr;  // a routable host: listen on every interface
  // Plain TCP or TLS, as launch.caf.tls says (net/bootstrap.hpp).
  std::string problem;
  auto port = net::publish_actor(sys, caf::actor_cast<caf::actor>(agent),
                                 static_cast<uint16_t>(launch.port), bind, launch.name, &problem);
  if (!port) {
    spdlog::error("{}: cannot listen on {}:{}: {}", launch.name, launch.host, launch.port,
                  problem);
    stop_all();
    return 1;
  }
  spdlog::info("{}: listening on {}:{}{}{}", launch.name, launch.host, *port,
               launch.is_controller ? " (controller, dispatcher)" : "",
               net::tls_transport(sys) ? " over TLS" : "");
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    self->monitor(agent);
    bool running = true;
    while (running && stop_signal.load() == 0) {
      self->receive(
          [&](caf::down_msg& dm) {
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
