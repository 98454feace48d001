#pragma once
// The node's HTTP endpoint for Prometheus and for orchestrators (docs/metrics.md):
//   GET /metrics  the registry in text exposition format 0.0.4 (200)
//   GET /healthz  200 "ok" while the process serves HTTP at all (liveness)
//   GET /readyz   200 "ready" when the caller's readiness function says so, else 503 with its
//                 reason (readiness: placement installed, its groups up)
// anything else 404. Served by cpp-httplib (Debian's compiled libcpp-httplib) on its own threads;
// httplib.h is not included here, so users of this header need none of its defines.

#include <functional>
#include <memory>
#include <string>

#include "metrics/registry.hpp"

namespace alpaserve::metrics {

struct readiness {
  bool ready = false;
  std::string reason;  // why not ready (shown in the 503 body); optional detail when ready
};

struct http_exporter_options {
  std::string bind_address = "127.0.0.1";  // "0.0.0.0" for every interface
  int port = 0;                            // 0: the OS picks a free port (see port())
  int worker_threads = 2;                  // request handler threads
};

class http_exporter {
 public:
  // Called on the exporter's threads for every /readyz request; must be thread-safe and quick.
  // An exception it throws is answered 503 with its message. Empty: never ready.
  using readiness_fn = std::function<readiness()>;

  http_exporter(const registry& reg, http_exporter_options options, readiness_fn ready);
  ~http_exporter();  // stop()
  http_exporter(const http_exporter&) = delete;
  http_exporter& operator=(const http_exporter&) = delete;

  // Binds and starts serving; returns the bound port once the server accepts connections.
  // Throws std::runtime_error when the address cannot be bound, or when already started.
  int start();
  // Stops accepting, finishes the requests in progress, joins the threads. Idempotent. Takes up
  // to ~1 s when a client holds an idle keep-alive connection (the keep-alive timeout).
  void stop();
  [[nodiscard]] bool running() const noexcept;
  [[nodiscard]] int port() const noexcept;  // 0 until started

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace alpaserve::metrics
