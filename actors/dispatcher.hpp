#pragma once
// The dispatcher: admission and routing (actors/dispatch_core.hpp decides). A request it admits
// is delegated to its group's manager, which owns the reply from then on; a request it does not
// admit is answered here at once (rejected_*, or failed_* when nothing can serve its model).

#include <string>

#include <caf/fwd.hpp>

#include "actors/runtime_settings.hpp"
#include "net/protocols.hpp"

namespace alpaserve::actors {

[[nodiscard]] net::dispatcher_actor spawn_dispatcher(caf::actor_system& sys,
                                                     const std::string& node,
                                                     dispatcher_settings settings);

}  // namespace alpaserve::actors
