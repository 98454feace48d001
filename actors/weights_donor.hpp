#pragma once
// Weights over CAF (docs/real-execution.md "Weights over CAF"): the donor actor a node agent
// delegates weights_fetch to, and the CAF transport of actors/remote_weights.hpp for a loading
// stage rank.

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/remote_weights.hpp"
#include "net/protocols.hpp"

namespace alpaserve::actors {

// A detached actor (file reads and encoding never run on a scheduler thread) serving
// weights_fetch for the files in `allowed` and those weights_allow adds later
// (weights_donor_core). Its chunk size is weights_chunk_bytes of the system's transport limit.
[[nodiscard]] net::weights_donor_actor spawn_weights_donor(caf::actor_system& sys, std::string node,
                                                           std::vector<std::string> allowed);

// The chunk function of remote_weight_source over CAF: a blocking request (scoped_actor,
// `timeout_s`) to donors[donor]. Call it only from a thread that is not a CAF scheduler thread
// (a stage rank's job thread).
[[nodiscard]] weights_chunk_fn actor_weights_fetcher(caf::actor_system* sys,
                                                     std::vector<net::node_agent_actor> donors,
                                                     double timeout_s = 30);

// A remote_weight_source for `path` over `donors` (names: for logs and errors), with the chunk
// size of the system's transport limit.
[[nodiscard]] std::shared_ptr<remote_weight_source> make_actor_weight_source(
    caf::actor_system* sys, const std::string& path, std::vector<net::node_agent_actor> donors,
    std::vector<std::string> names, double timeout_s = 30);

}  // namespace alpaserve::actors
