#pragma once
// How a process sets up CAF (scheduler, heartbeats, profiling), as plain data: the node launcher
// and the client fill it from the config without including CAF (net/bootstrap.hpp applies it).

#include <cstddef>
#include <string>

namespace alpaserve::net {

// The TLS material a process presents and verifies its peers against (CAF's openssl.cafile,
// openssl.certificate, openssl.key, openssl.passphrase). All empty: plain TCP. Otherwise all
// three files must be set: CAF's module falls back to anonymous, unauthenticated encryption
// when the certificate and key are unset, which alpaserve never allows.
struct tls_files {
  std::string ca_file;
  std::string certificate;
  std::string key;
  std::string passphrase;  // of `key`; empty = unencrypted

  [[nodiscard]] bool enabled() const noexcept {
    return !ca_file.empty() || !certificate.empty() || !key.empty();
  }
};

struct runtime_settings {
  std::string scheduler_policy = "sharing";  // "sharing" or "stealing"
  int max_threads = 2;                       // 0 = CAF's default (one per core)
  int heartbeat_interval_ms = 1000;          // 0 = off
  std::string profiling_output_file;         // non-empty: per-actor CPU/memory samples
  int profiling_resolution_ms = 100;
  int middleman_workers = 0;  // CAF's BASP deserialization threads; 0 = on the I/O thread
  tls_files tls;              // empty: plain TCP
  // Largest BASP message a peer may send (net/capped_transport.hpp); the payloads being read
  // at once over all connections may add up to twice this. 0 = 80 MiB.
  size_t max_message_bytes = 0;
  size_t max_pending_message_bytes = 0;  // 0 = twice max_message_bytes
};

}  // namespace alpaserve::net
