#pragma once
// The rendezvous store of the collectives (net/gloo_group.hpp, net/nccl_group.hpp) as an actor:
// the ranks of a tensor-parallel stage, on any node, exchange their addresses through it. One
// lives on the controller's node per cluster. A get of a missing key is answered once some rank
// puts it.

#include <caf/fwd.hpp>

#include "net/gloo_group.hpp"
#include "net/protocols.hpp"

namespace alpaserve::net {

[[nodiscard]] rendezvous_actor spawn_rendezvous(caf::actor_system& sys);

// The store as the collectives see it. Blocks on a CAF request in get(): call it only from a
// thread that is not a CAF scheduler thread (a stage worker's job thread).
[[nodiscard]] rendezvous_store actor_rendezvous_store(caf::actor_system* sys,
                                                      rendezvous_actor store);

}  // namespace alpaserve::net
