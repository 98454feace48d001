#pragma once
// CAF's BASP transport with a bound on what a peer can make a node allocate.
//
// CAF 0.17.6 reads a BASP message as a 32-byte header and then, in the same connection, exactly
// `payload_len` bytes (a uint32 the peer chooses): its stream resizes the read buffer to that
// size before a byte of the payload arrives, so one header announcing ~4 GiB commits ~4 GiB.
// CAF has no option that bounds it. Its extension point is the servant: a broker reads through
// `scribe` objects (virtual configure_read / consume), made by a `doorman` for accepted
// connections and by whoever connects; CAF's OpenSSL module uses the same point to put TLS
// under BASP. The servants here are CAF's own plain-TCP and TLS streams with a check in front:
//
// - every header is looked at before CAF's BASP broker sees it: a payload above the limit
//   closes the connection (the broker gets the same "connection closed" as for a peer that hung
//   up) and nothing is allocated;
// - until the peer's handshake has been read, the limit is first_message_bytes (a handshake is
//   a few KiB), so an unauthenticated plain-text peer cannot make a node commit a full message;
// - the announced payloads being read at once on all connections share one budget
//   (pending_budget_bytes); a connection that would exceed it is closed;
// - a read buffer grown for a large message is given back once the message is read.
//
// publish / connect / unpublish below replace the middleman's (and the OpenSSL module's): they
// hand these servants to the same BASP broker. Nothing else of CAF changes.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>

namespace caf {
class actor_system;
}

namespace alpaserve::net {

struct message_limits {
  // Largest BASP payload accepted once the peer's handshake has been read.
  size_t max_message_bytes = (64u << 20) + (16u << 20);
  // Largest payload before it (the handshake itself).
  size_t first_message_bytes = 1u << 20;
  // Payloads above small_read_bytes being read at once, over all connections of the process.
  size_t pending_budget_bytes = 2 * ((64u << 20) + (16u << 20));
  // Reads up to this size are not counted against the budget.
  size_t small_read_bytes = 1u << 20;
};

// What the hardened transport has refused so far in this process.
struct transport_counters {
  uint64_t refused_oversized = 0;  // a header announced more than the limit
  uint64_t refused_budget = 0;     // the pending budget was exhausted
  uint64_t buffers_released = 0;   // large read buffers given back
};
[[nodiscard]] transport_counters transport_refusals();

// Listens on port (0 = any) of bind (nullptr or "" = every interface) and publishes whom there
// through the BASP broker, over TLS when `tls`. Returns the bound port.
caf::expected<uint16_t> capped_publish(caf::actor_system& system, const caf::actor& whom,
                                       uint16_t port, const char* bind, bool reuse, bool tls,
                                       const message_limits& limits);

// Connects to host:port (over TLS when `tls`) and returns the peer's node once the BASP
// handshake has completed. Blocks the calling thread (not an actor's: use from a thread or a
// scoped actor).
caf::expected<caf::node_id> capped_connect(caf::actor_system& system, const std::string& host,
                                           uint16_t port, bool tls, const message_limits& limits);

// Stops publishing whom on port (closes the listening socket).
void capped_unpublish(caf::actor_system& system, const caf::actor& whom, uint16_t port);

}  // namespace alpaserve::net
