#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "metrics/registry.hpp"

using namespace alpaserve::metrics;

TEST_CASE("registry: metric and label names follow the Prometheus rules") {
  registry r;
  // Characters.
  CHECK_THROWS_AS(r.gauge("", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("1abc", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("a-b", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("a b", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("caf\xc3\xa9", "h"), metrics_error);
  CHECK_NOTHROW(r.gauge("ns:sub_system_value2", "colons are allowed"));
  CHECK_NOTHROW(r.gauge(":leading_colon", "h"));
  CHECK(is_valid_metric_name("_x"));
  CHECK_FALSE(is_valid_metric_name("x.y"));
  // Counters end in _total; nothing else does.
  CHECK_THROWS_WITH(r.counter("requests", "h"), Catch::Contains("_total"));
  CHECK_THROWS_AS(r.gauge("queue_total", "h"), metrics_error);
  CHECK_THROWS_AS(r.histogram("latency_seconds_total", "h", {}, {1}), metrics_error);
  CHECK_NOTHROW(r.counter("requests_total", "h"));
  // Histograms must not end like their own generated series.
  for (const char* n : {"h_bucket", "h_sum", "h_count"})
    CHECK_THROWS_AS(r.histogram(n, "h", {}, {1}), metrics_error);
  // Base units only.
  CHECK_THROWS_WITH(r.histogram("latency_milliseconds", "h", {}, {1}),
                    Catch::Contains("milliseconds"));
  CHECK_THROWS_AS(r.gauge("latency_ms", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("memory_MiB", "h"), metrics_error);
  CHECK_THROWS_AS(r.counter("uptime_hours_total", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("busy_percent", "h"), metrics_error);
  CHECK_NOTHROW(r.gauge("memory_bytes", "h"));
  CHECK_NOTHROW(r.gauge("busy_ratio", "h"));
  CHECK_NOTHROW(r.gauge("ms_queue_depth", "h"));  // "ms" is not in the unit position
  // Label names.
  CHECK_THROWS_AS(r.gauge("g1", "h", {"__reserved"}), metrics_error);
  CHECK_THROWS_AS(r.gauge("g2", "h", {"1a"}), metrics_error);
  CHECK_THROWS_AS(r.gauge("g3", "h", {"a:b"}), metrics_error);  // colons only in metric names
  CHECK_THROWS_AS(r.gauge("g4", "h", {"a", "a"}), metrics_error);
  CHECK_THROWS_AS(r.histogram("g5", "h", {"le"}, {1}), metrics_error);
  CHECK_NOTHROW(r.gauge("g6", "h", {"le"}));  // only histograms reserve le
  CHECK_NOTHROW(r.gauge("g7", "h", {"_private", "model"}));
}

TEST_CASE("registry: duplicate and colliding families are refused") {
  registry r;
  r.counter("a_total", "h");
  CHECK_THROWS_WITH(r.counter("a_total", "again"), Catch::Contains("collides"));
  r.histogram("lat_seconds", "h", {"model"}, {0.1, 1});
  CHECK_THROWS_AS(r.gauge("lat_seconds", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("lat_seconds_count", "h"), metrics_error);
  CHECK_THROWS_AS(r.gauge("lat_seconds_sum", "h"), metrics_error);
  // ... and the other way round: a histogram whose _sum is already a gauge.
  r.gauge("x_sum", "h");
  CHECK_THROWS_AS(r.histogram("x", "h", {}, {1}), metrics_error);
  // A refused registration leaves nothing behind.
  const auto fams = r.collect();
  REQUIRE(fams.size() == 3);
  CHECK(fams[0].name == "a_total");
  CHECK(fams[1].name == "lat_seconds");
  CHECK(fams[2].name == "x_sum");
}

TEST_CASE("registry: bucket bounds are finite and strictly increasing") {
  registry r;
  CHECK_THROWS_AS(r.histogram("h1", "h", {}, {1, 1}), metrics_error);
  CHECK_THROWS_AS(r.histogram("h2", "h", {}, {2, 1}), metrics_error);
  CHECK_THROWS_AS(r.histogram("h3", "h", {}, {1, INFINITY}), metrics_error);
  CHECK_THROWS_AS(r.histogram("h4", "h", {}, {NAN}), metrics_error);
  CHECK_NOTHROW(r.histogram("h5", "only +Inf", {}, {}));
  CHECK(linear_buckets(1, 0.5, 3) == std::vector<double>{1, 1.5, 2});
  CHECK(exponential_buckets(0.001, 10, 4) == std::vector<double>{0.001, 0.01, 0.1, 1.0});
  CHECK_THROWS_AS(linear_buckets(0, 0, 3), metrics_error);
  CHECK_THROWS_AS(exponential_buckets(0, 2, 3), metrics_error);
  CHECK_THROWS_AS(exponential_buckets(1, 1, 3), metrics_error);
}

TEST_CASE("registry: label values are fixed in number and select one series") {
  registry r;
  auto& f = r.counter("req_total", "h", {"model", "outcome"});
  CHECK_THROWS_AS(f.labels({"m"}), metrics_error);
  CHECK_THROWS_AS(f.labels({"m", "ok", "extra"}), metrics_error);
  const auto a = f.labels({"m", "ok"});
  const auto b = f.labels({"m", "ok"});
  const auto c = f.labels({"m", "rejected_slo"});
  a.inc();
  b.inc(2.5);
  c.inc();
  CHECK(a.value() == 3.5);  // same label set, same series
  CHECK(c.value() == 1);
  // A family without labels exports its single series from registration on.
  auto& g = r.gauge("up", "h");
  const auto snap = r.collect();
  REQUIRE(snap[1].name == "up");
  REQUIRE(snap[1].series.size() == 1);
  CHECK(snap[1].series[0].value == 0);
  g.labels({}).set(1);
  CHECK(r.collect()[1].series[0].value == 1);
}

TEST_CASE("registry: counters only grow but gauges go both ways") {
  registry r;
  const auto c = r.counter("c_total", "h").labels({});
  const uint64_t ignored_before = counter_handle::ignored_increments();
  c.inc(2);
  c.inc(-1);
  c.inc(NAN);
  CHECK(c.value() == 2);
  CHECK(counter_handle::ignored_increments() == ignored_before + 2);
  const auto g = r.gauge("g", "h").labels({});
  g.set(5);
  g.dec(7);
  g.inc(0.5);
  CHECK(g.value() == -1.5);
}

TEST_CASE("registry: histogram buckets are upper-inclusive and cumulative in the snapshot") {
  registry r;
  const auto h = r.histogram("lat_seconds", "h", {}, {0.1, 1, 10}).labels({});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0}) h.observe(v);
  h.observe(NAN);  // ignored
  // Non-cumulative: (-inf,0.1] = {0.05, 0.1}, (0.1,1] = {0.5, 1}, (1,10] = {5}, (10,+Inf) = {100}.
  CHECK(h.bucket_counts() == std::vector<uint64_t>{2, 2, 1, 1});
  CHECK(h.count() == 6);
  CHECK(h.sum() == Approx(106.65));
  const auto snap = r.collect();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].bounds == std::vector<double>{0.1, 1, 10});
  REQUIRE(snap[0].series.size() == 1);
  CHECK(snap[0].series[0].bucket_counts == std::vector<uint64_t>{2, 4, 5, 6});
  CHECK(snap[0].series[0].sum == Approx(106.65));
  // Values below the first bound and exactly at a bound.
  const auto h2 = r.histogram("b_seconds", "h", {}, {1, 2}).labels({});
  h2.observe(-3);
  h2.observe(2);
  h2.observe(2.0000001);
  CHECK(h2.bucket_counts() == std::vector<uint64_t>{1, 1, 1});
}

TEST_CASE("registry: concurrent updates from threads lose nothing") {
  registry r;
  auto& cf = r.counter("hits_total", "h", {"t"});
  auto& hf = r.histogram("obs_seconds", "h", {"t"}, {0.5, 1.5});
  const auto g = r.gauge("level", "h").labels({});
  constexpr int threads = 4;
  constexpr int per_thread = 50000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Every thread creates the handles itself (label lookups race too).
      const auto shared = cf.labels({"shared"});
      const auto own = cf.labels({"t" + std::to_string(t)});
      const auto h = hf.labels({"shared"});
      for (int i = 0; i < per_thread; ++i) {
        shared.inc();
        own.inc(0.5);
        h.observe(i % 2 ? 1.0 : 0.25);
        g.inc();
        g.dec();
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(cf.labels({"shared"}).value() == threads * per_thread);
  for (int t = 0; t < threads; ++t)
    CHECK(cf.labels({"t" + std::to_string(t)}).value() == per_thread * 0.5);
  const auto h = hf.labels({"shared"});
  CHECK(h.count() == threads * per_thread);
  CHECK(h.bucket_counts() ==
        std::vector<uint64_t>{threads * per_thread / 2, threads * per_thread / 2, 0});
  CHECK(h.sum() == Approx(threads * per_thread / 2 * 1.25));
  CHECK(g.value() == 0);
  CHECK(r.collect()[0].series.size() == 1 + threads);
}

TEST_CASE("registry: collect hooks run before every snapshot and can be removed") {
  registry r;
  const auto g = r.gauge("computed", "h").labels({});
  int calls = 0;
  const auto id = r.add_collect_hook([&] { g.set(++calls * 10.0); });
  CHECK(r.collect()[0].series[0].value == 10);
  CHECK(r.collect()[0].series[0].value == 20);
  r.remove_collect_hook(id);
  CHECK(r.collect()[0].series[0].value == 20);
  CHECK(calls == 2);
}
