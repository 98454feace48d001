#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include <httplib.h>
#include <catch2/catch.hpp>

#include "metrics/http_exporter.hpp"
#include "metrics/registry.hpp"

using namespace alpaserve::metrics;

namespace {

httplib::Result get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(5, 0);
  return c.Get(path.c_str());
}

}  // namespace

TEST_CASE("http_exporter: /metrics, /healthz, /readyz in both states, 404 elsewhere") {
  registry reg;
  const auto c = reg.counter("demo_requests_total", "Demo.", {"model"}).labels({"bert"});
  c.inc(41);
  std::atomic<bool> ready{false};
  http_exporter ex(reg, {"127.0.0.1", 0, 2}, [&] {
    return ready ? readiness{true, ""} : readiness{false, "placement not installed"};
  });
  CHECK(ex.port() == 0);
  const int port = ex.start();
  REQUIRE(port > 0);
  CHECK(ex.port() == port);
  CHECK(ex.running());

  c.inc();  // served live, not a copy taken at start
  auto m = get(port, "/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(m->body.find("# TYPE demo_requests_total counter\n") != std::string::npos);
  CHECK(m->body.find("demo_requests_total{model=\"bert\"} 42\n") != std::string::npos);

  auto h = get(port, "/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(h->body == "ok\n");

  auto r1 = get(port, "/readyz");
  REQUIRE(r1);
  CHECK(r1->status == 503);
  CHECK(r1->body.find("placement not installed") != std::string::npos);
  ready = true;
  auto r2 = get(port, "/readyz");
  REQUIRE(r2);
  CHECK(r2->status == 200);
  CHECK(r2->body == "ready\n");

  auto n = get(port, "/nope");
  REQUIRE(n);
  CHECK(n->status == 404);
  auto n2 = get(port, "/metrics/extra");
  REQUIRE(n2);
  CHECK(n2->status == 404);

  ex.stop();
  CHECK_FALSE(ex.running());
  CHECK_FALSE(get(port, "/healthz"));  // nothing listens any more
  ex.stop();                           // idempotent
}

TEST_CASE("http_exporter: a throwing or missing readiness check answers 503") {
  registry reg;
  http_exporter throwing(reg, {}, []() -> readiness { throw std::runtime_error("groups down"); });
  const int p1 = throwing.start();
  auto r = get(p1, "/readyz");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body.find("groups down") != std::string::npos);
  http_exporter none(reg, {}, nullptr);
  const int p2 = none.start();
  CHECK(p2 != p1);
  auto r2 = get(p2, "/readyz");
  REQUIRE(r2);
  CHECK(r2->status == 503);
  auto h = get(p2, "/healthz");  // liveness does not depend on readiness
  REQUIRE(h);
  CHECK(h->status == 200);
}

TEST_CASE("http_exporter: a fixed port, a taken port, stop right after start") {
  registry reg;
  http_exporter first(reg, {}, nullptr);
  const int port = first.start();
  CHECK_THROWS_AS(first.start(), std::runtime_error);  // already started
  http_exporter second(reg, {"127.0.0.1", port, 1}, nullptr);
  CHECK_THROWS_WITH(second.start(), Catch::Contains(std::to_string(port)));
  CHECK_FALSE(second.running());
  first.stop();
  // The freed port can be bound again on purpose (configured port, not 0).
  http_exporter third(reg, {"127.0.0.1", port, 1}, nullptr);
  CHECK(third.start() == port);
  auto h = get(port, "/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  third.stop();
  // Start/stop back to back must never hang (httplib ignores stop() before its loop runs).
  for (int i = 0; i < 20; ++i) {
    http_exporter quick(reg, {}, nullptr);
    REQUIRE(quick.start() > 0);
  }  // destructor stops
  CHECK_THROWS_AS(http_exporter(reg, {"256.0.0.1", 0, 1}, nullptr).start(), std::runtime_error);
}

TEST_CASE("http_exporter: stop with a scraper's keep-alive connection open is prompt") {
  registry reg;
  http_exporter ex(reg, {}, nullptr);
  const int port = ex.start();
  httplib::Client scraper("127.0.0.1", port);
  scraper.set_keep_alive(true);  // as Prometheus does
  for (int i = 0; i < 3; ++i) {
    auto res = scraper.Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  const auto t0 = std::chrono::steady_clock::now();
  ex.stop();
  const double stop_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(stop_s < 2.0);  // bounded by the exporter's 1 s keep-alive wait, not httplib's 5 s
}
