#pragma once
// The controller: waits for the configured worker nodes, places the models (the configured
// policy, or a placement file), realizes the placement (node agents start stage workers that
// load their shards; group managers; pipelines wired; the routing table installed at the
// dispatcher), then watches traffic and nodes and re-shards live (make before break). Its life
// cycle is the phase table of actors/controller_phase.hpp; what it sends to realize a placement
// is actors/deployment_plan.hpp.

#include <string>

#include <caf/fwd.hpp>

#include "actors/runtime_settings.hpp"
#include "net/protocols.hpp"

namespace alpaserve::actors {

[[nodiscard]] net::controller_actor spawn_controller(caf::actor_system& sys,
                                                     const std::string& node,
                                                     controller_settings settings,
                                                     net::dispatcher_actor dispatcher);

}  // namespace alpaserve::actors
