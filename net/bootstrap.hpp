#pragma once
// Node bootstrap over CAF's network transport: the actor_system_config every alpaserve process
// builds (message types, middleman, scheduler, heartbeats, profiling), and finding actors of
// other processes by registry name.
//
// Every node publishes ONE actor (its node agent) on its configured port; every other actor a
// remote process needs is put into the node's registry under a name from registry_names and is
// found with middleman().connect(host, port) + remote_lookup(name, node).
//
// Transport: plain TCP, or TLS with mutual authentication through CAF's OpenSSL module when
// runtime_settings::tls names the material. Every publish and every connection goes through
// publish_actor / lookup_remote below, which pick the transport the actor system was built for:
// a TLS system never opens a plain-text port and never connects in plain text. Both transports
// bound what a peer can make the process allocate (net/capped_transport.hpp).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "net/capped_transport.hpp"
#include "net/runtime_settings.hpp"

namespace caf {
class actor_system;
}

namespace alpaserve::net {

// Registry names (CAF atoms: at most 10 characters).
namespace registry_names {
inline constexpr caf::atom_value node_agent = caf::atom("node");
inline constexpr caf::atom_value controller = caf::atom("controller");
inline constexpr caf::atom_value dispatcher = caf::atom("dispatcher");
}  // namespace registry_names

// A config with every alpaserve message type registered and the middleman loaded; with
// settings.tls also CAF's OpenSSL module, its material set and automatic connections off.
// Throws std::invalid_argument when settings.tls is only partly set.
class runtime_config : public caf::actor_system_config {
 public:
  explicit runtime_config(const runtime_settings& settings = {});

  // What the transport accepts from a peer (net/capped_transport.hpp).
  [[nodiscard]] const message_limits& limits() const noexcept { return limits_; }

 private:
  message_limits limits_;
};

// The limits of `system` (its runtime_config's, else the defaults).
[[nodiscard]] message_limits transport_limits(caf::actor_system& system);

// Whether `system` was built from a runtime_config with TLS.
[[nodiscard]] bool tls_transport(caf::actor_system& system);

// Publishes `whom` on port (0 = any) of `bind` (nullptr = every interface) over the system's
// transport; returns the bound port, or nullopt with the reason in `problem`. Plain text logs a
// warning naming `who`.
[[nodiscard]] std::optional<uint16_t> publish_actor(caf::actor_system& system,
                                                    const caf::actor& whom, uint16_t port,
                                                    const char* bind, const std::string& who,
                                                    std::string* problem = nullptr);
void unpublish_actor(caf::actor_system& system, const caf::actor& whom, uint16_t port);

// Logs the plain-text warning (once per process) when `system` does not use TLS.
void warn_if_plain_text(caf::actor_system& system, const std::string& who);

// Connects to the process listening on host:port (over the system's transport) and looks up
// `name` in its registry, retrying
// until `patience` has passed (the peer may still be starting). Returns nullopt on failure and
// says why in `problem`.
[[nodiscard]] std::optional<caf::actor> lookup_remote(caf::actor_system& system,
                                                      const std::string& host, int port,
                                                      caf::atom_value name,
                                                      std::chrono::milliseconds patience,
                                                      std::string* problem = nullptr);

// lookup_remote as one of the typed roles of net/protocols.hpp. The registry holds untyped
// pointers; each name is only ever registered with its role's handle (actors/node_runtime.cpp),
// so the cast here is the one place a remote handle gets its type.
template <class Handle>
[[nodiscard]] std::optional<Handle> lookup_remote_as(caf::actor_system& system,
                                                     const std::string& host, int port,
                                                     caf::atom_value name,
                                                     std::chrono::milliseconds patience,
                                                     std::string* problem = nullptr) {
  auto found = lookup_remote(system, host, port, name, patience, problem);
  if (!found) return std::nullopt;
  return caf::actor_cast<Handle>(*found);
}

}  // namespace alpaserve::net
