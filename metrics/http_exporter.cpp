#include "metrics/http_exporter.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <thread>

#include <sys/socket.h>

#include <httplib.h>

#include "metrics/text_exposition.hpp"

namespace alpaserve::metrics {

struct http_exporter::impl {
  const registry& reg;
  http_exporter_options opt;
  readiness_fn ready;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::atomic<int> port{0};
  bool started = false;

  impl(const registry& r, http_exporter_options o, readiness_fn f)
      : reg(r), opt(std::move(o)), ready(std::move(f)) {}
};

http_exporter::http_exporter(const registry& reg, http_exporter_options options, readiness_fn ready)
    : impl_(std::make_unique<impl>(reg, std::move(options), std::move(ready))) {
  auto& s = impl_->server;
  const int threads = impl_->opt.worker_threads > 0 ? impl_->opt.worker_threads : 1;
  // httplib's default pool has max(8, cores - 1) threads; a scrape endpoint needs few.
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // httplib's default socket options set SO_REUSEPORT on Linux: a second process could then bind
  // the same port and the kernel would spread scrapes over both. SO_REUSEADDR only: a restarted
  // node can bind again despite TIME_WAIT connections, a port in use is refused.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });
  // httplib's stop() only takes effect on an idle keep-alive connection when its keep-alive wait
  // ends, so that wait bounds how long stop() can take. Scrapes come every few seconds at most;
  // a 1 s keep-alive loses nothing and keeps shutdown quick.
  s.set_keep_alive_timeout(1);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  impl* self = impl_.get();
  s.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(to_text(self->reg), text_content_type);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("collecting metrics failed: ") + e.what() + "\n", "text/plain");
    }
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [self](const httplib::Request&, httplib::Response& res) {
    readiness r;
    try {
      if (self->ready)
        r = self->ready();
      else
        r.reason = "no readiness check configured";
    } catch (const std::exception& e) {
      r = readiness{false, std::string("readiness check failed: ") + e.what()};
    } catch (...) {
      r = readiness{false, "readiness check failed"};
    }
    if (r.ready) {
      res.set_content(r.reason.empty() ? "ready\n" : "ready: " + r.reason + "\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content(
          "not ready: " + (r.reason.empty() ? std::string("(no reason given)") : r.reason) + "\n",
          "text/plain");
    }
  });
  // Unknown paths: httplib answers 404 with an empty body; give it a line of text.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404) res.set_content("not found: " + req.path + "\n", "text/plain");
  });
}

http_exporter::~http_exporter() {
  stop();
}

int http_exporter::start() {
  auto& d = *impl_;
  if (d.started) throw std::runtime_error("http_exporter: already started");
  int port = -1;
  if (d.opt.port == 0) {
    port = d.server.bind_to_any_port(d.opt.bind_address);
  } else if (d.opt.port > 0 && d.opt.port < 65536 &&
             d.server.bind_to_port(d.opt.bind_address, d.opt.port)) {
    port = d.opt.port;
  }
  if (port <= 0)
    throw std::runtime_error("http_exporter: cannot bind " + d.opt.bind_address + ":" +
                             std::to_string(d.opt.port));
  d.started = true;
  d.port = port;
  d.listen_returned = false;
  d.thread = std::thread([&d] {
    d.server.listen_after_bind();
    d.listen_returned = true;
  });
  // httplib's stop() does nothing until the accept loop has marked itself running (the first
  // thing listen_after_bind does), so wait for that here: a stop() right after start() then
  // always ends the loop.
  while (!d.server.is_running() && !d.listen_returned)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  if (!d.server.is_running() && d.listen_returned) {
    d.thread.join();
    d.started = false;
    d.port = 0;
    throw std::runtime_error("http_exporter: the HTTP server on port " + std::to_string(port) +
                             " stopped at once");
  }
  return port;
}

void http_exporter::stop() {
  auto& d = *impl_;
  if (!d.started) return;
  d.server.stop();
  if (d.thread.joinable()) d.thread.join();
  d.started = false;
}

bool http_exporter::running() const noexcept {
  return impl_->started && impl_->server.is_running();
}

int http_exporter::port() const noexcept {
  return impl_->port;
}

}  // namespace alpaserve::metrics
