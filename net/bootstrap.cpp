#include "net/bootstrap.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>

#include "net/messages.hpp"
#include "net/tls_error_queue.hpp"

namespace alpaserve::net {

runtime_config::runtime_config(const runtime_settings& s) {
  if (s.max_message_bytes > 0) {
    limits_.max_message_bytes = s.max_message_bytes;
    limits_.pending_budget_bytes = 2 * s.max_message_bytes;
  }
  if (s.max_pending_message_bytes > 0)
    limits_.pending_budget_bytes = std::max(s.max_pending_message_bytes, limits_.max_message_bytes);
  // Message buffers above 1 MiB come from mmap and go back to the system when freed. glibc
  // would otherwise raise its mmap threshold after the first large free and serve later large
  // buffers from the heap, where a freed 20 MiB read buffer stays resident: a peer that
  // announces payloads (within the limits) and hangs up would ratchet the node's RSS up.
  static const bool mmap_threshold_set = [] {
    return mallopt(M_MMAP_THRESHOLD, static_cast<int>(message_limits{}.small_read_bytes)) == 1;
  }();
  (void)mmap_threshold_set;
  register_message_types(*this);
  load<caf::io::middleman>();
  // Every connection is one this process asked for (lookup_remote): CAF's automatic
  // connections would open extra listening ports, in plain text.
  set("middleman.enable-automatic-connections", false);
  if (s.tls.enabled()) {
    if (s.tls.ca_file.empty() || s.tls.certificate.empty() || s.tls.key.empty())
      throw std::invalid_argument(
          "TLS needs a CA file, a certificate and a key (CAF's anonymous TLS is never used)");
    if (!tls_error_queue_guard_active())
      throw std::runtime_error(
          "TLS: the OpenSSL error-queue guard is not active in this binary (see "
          "net/tls_error_queue.cpp); CAF 0.17.6 would drop healthy connections");
    load<caf::openssl::manager>();
    // Setting the certificate and key turns on CAF's mutual authentication: both sides present
    // a certificate and verify the peer's against the CA file (SSL_VERIFY_PEER |
    // SSL_VERIFY_FAIL_IF_NO_PEER_CERT). The options and the fields CAF's session reads are
    // both set.
    set("openssl.cafile", s.tls.ca_file);
    set("openssl.certificate", s.tls.certificate);
    set("openssl.key", s.tls.key);
    openssl_cafile = s.tls.ca_file;
    openssl_certificate = s.tls.certificate;
    openssl_key = s.tls.key;
    if (!s.tls.passphrase.empty()) {
      set("openssl.passphrase", s.tls.passphrase);
      openssl_passphrase = s.tls.passphrase;
    }
  }
  if (s.scheduler_policy == "stealing") {
    set("scheduler.policy", caf::atom("stealing"));
  } else {
    set("scheduler.policy", caf::atom("sharing"));
  }
  if (s.max_threads > 0) set("scheduler.max-threads", static_cast<size_t>(s.max_threads));
  // 0: the multiplexer thread deserializes incoming messages and enqueues them itself instead
  // of handing them to a BASP worker thread: one thread wake-up less per network hop.
  set("middleman.workers", static_cast<size_t>(s.middleman_workers));
  if (s.heartbeat_interval_ms > 0) {
    set("middleman.heartbeat-interval",
        caf::timespan{std::chrono::milliseconds(s.heartbeat_interval_ms)});
    // A peer silent for several heartbeats is declared dead (its actors send down_msg). CAF
    // checks the timeout at each heartbeat tick, so 4 intervals here declare a silent peer dead
    // within 5 intervals: the documented bound (docs/runtime.md "Failures").
    set("middleman.connection-timeout",
        caf::timespan{std::chrono::milliseconds(4 * s.heartbeat_interval_ms)});
  }
  if (!s.profiling_output_file.empty()) {
    set("scheduler.enable-profiling", true);
    set("scheduler.profiling-output-file", s.profiling_output_file);
    set("scheduler.profiling-resolution",
        caf::timespan{std::chrono::milliseconds(s.profiling_resolution_ms)});
  }
}

message_limits transport_limits(caf::actor_system& system) {
  if (const auto* cfg = dynamic_cast<const runtime_config*>(&system.config())) return cfg->limits();
  return {};
}

bool tls_transport(caf::actor_system& system) {
  return system.has_openssl_manager();
}

void warn_if_plain_text(caf::actor_system& system, const std::string& who) {
  static std::atomic<bool> warned{false};
  if (tls_transport(system) || warned.exchange(true)) return;
  spdlog::warn(
      "{}: plain-text transport: any peer that reaches the port is trusted and nothing is "
      "encrypted; turn on [tls] (docs/config.md) or keep the cluster on a trusted network",
      who);
}

std::optional<uint16_t> publish_actor(caf::actor_system& system, const caf::actor& whom,
                                      uint16_t port, const char* bind, const std::string& who,
                                      std::string* problem) {
  warn_if_plain_text(system, who);
  auto bound = capped_publish(system, whom, port, bind, true, tls_transport(system),
                              transport_limits(system));
  if (bound) return *bound;
  if (problem != nullptr) *problem = system.render(bound.error());
  return std::nullopt;
}

void unpublish_actor(caf::actor_system& system, const caf::actor& whom, uint16_t port) {
  capped_unpublish(system, whom, port);
}

namespace {

// The node listening on host:port, over the system's transport.
caf::expected<caf::node_id> connect_node(caf::actor_system& system, const std::string& host,
                                         int port) {
  return capped_connect(system, host, static_cast<uint16_t>(port), tls_transport(system),
                        transport_limits(system));
}

}  // namespace

std::optional<caf::actor> lookup_remote(caf::actor_system& system, const std::string& host,
                                        int port, caf::atom_value name,
                                        std::chrono::milliseconds patience, std::string* problem) {
  const auto give_up = std::chrono::steady_clock::now() + patience;
  std::string last;
  for (;;) {
    auto node = connect_node(system, host, port);
    if (node) {
      auto handle = system.middleman().remote_lookup(name, *node);
      if (handle) return caf::actor_cast<caf::actor>(handle);
      last = "no actor named '" + to_string(name) + "' registered on " + host + ":" +
             std::to_string(port) + " (yet)";
    } else {
      last = "cannot connect to " + host + ":" + std::to_string(port) + ": " +
             system.render(node.error());
    }
    if (std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (problem != nullptr) *problem = last;
  return std::nullopt;
}

}  // namespace alpaserve::net
