#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "metrics/registry.hpp"
#include "metrics/text_exposition.hpp"

using namespace alpaserve::metrics;

TEST_CASE("text exposition: HELP, TYPE, samples and histogram series, in a fixed order") {
  registry r;
  // Registered and labelled out of order on purpose: the output is sorted.
  auto& z = r.gauge("zeta_ratio", "Last family.", {"device"});
  auto& req = r.counter("alpha_requests_total", "Requests.", {"model", "outcome"});
  auto& lat = r.histogram("mid_latency_seconds", "Latency.", {"model"}, {0.5, 2});
  z.labels({"gpu1"}).set(0.25);
  z.labels({"gpu0"}).set(1);
  req.labels({"b", "ok"}).inc(3);
  req.labels({"a", "rejected_slo"}).inc();
  req.labels({"a", "ok"}).inc(2);
  const auto h = lat.labels({"m"});
  h.observe(0.25);
  h.observe(1);
  h.observe(3);
  const std::string expected =
      "# HELP alpha_requests_total Requests.\n"
      "# TYPE alpha_requests_total counter\n"
      "alpha_requests_total{model=\"a\",outcome=\"ok\"} 2\n"
      "alpha_requests_total{model=\"a\",outcome=\"rejected_slo\"} 1\n"
      "alpha_requests_total{model=\"b\",outcome=\"ok\"} 3\n"
      "# HELP mid_latency_seconds Latency.\n"
      "# TYPE mid_latency_seconds histogram\n"
      "mid_latency_seconds_bucket{model=\"m\",le=\"0.5\"} 1\n"
      "mid_latency_seconds_bucket{model=\"m\",le=\"2\"} 2\n"
      "mid_latency_seconds_bucket{model=\"m\",le=\"+Inf\"} 3\n"
      "mid_latency_seconds_sum{model=\"m\"} 4.25\n"
      "mid_latency_seconds_count{model=\"m\"} 3\n"
      "# HELP zeta_ratio Last family.\n"
      "# TYPE zeta_ratio gauge\n"
      "zeta_ratio{device=\"gpu0\"} 1\n"
      "zeta_ratio{device=\"gpu1\"} 0.25\n";
  CHECK(to_text(r) == expected);
  CHECK(to_text(r) == to_text(r));  // deterministic
}

TEST_CASE("text exposition: a histogram without labels and a family without series") {
  registry r;
  r.histogram("h_seconds", "H.", {}, {1}).labels({}).observe(0.5);
  r.counter("never_total", "No label set used yet.", {"model"});
  CHECK(to_text(r) ==
        "# HELP h_seconds H.\n"
        "# TYPE h_seconds histogram\n"
        "h_seconds_bucket{le=\"1\"} 1\n"
        "h_seconds_bucket{le=\"+Inf\"} 1\n"
        "h_seconds_sum 0.5\n"
        "h_seconds_count 1\n"
        "# HELP never_total No label set used yet.\n"
        "# TYPE never_total counter\n");
}

TEST_CASE("text exposition: label values and help text are escaped") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(escape_label_value("caf\xc3\xa9 {x=1}") == "caf\xc3\xa9 {x=1}");  // UTF-8, braces as is
  CHECK(escape_help("line1\nline2 \\ \"quoted\"") == "line1\\nline2 \\\\ \"quoted\"");
  registry r;
  r.gauge("g", "two\nlines", {"model"}).labels({"we\"ird\\name\n"}).set(1);
  CHECK(to_text(r) ==
        "# HELP g two\\nlines\n"
        "# TYPE g gauge\n"
        "g{model=\"we\\\"ird\\\\name\\n\"} 1\n");
}

TEST_CASE("text exposition: numbers read back to the same double") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(1) == "1");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(-2.5) == "-2.5");
  CHECK(format_value(1e-9) == "1e-09");
  CHECK(format_value(INFINITY) == "+Inf");
  CHECK(format_value(-INFINITY) == "-Inf");
  CHECK(format_value(NAN) == "NaN");
  for (double v : {0.1 + 0.2, 1.0 / 3.0, 123456789.123, 6.02e23, 2.2250738585072014e-308})
    CHECK(std::stod(format_value(v)) == v);
  CHECK(format_value(4294967296.0) == "4294967296");
  CHECK(format_value(2.6e9) == "2600000000");
  CHECK(format_value(-0.0) == "0");
  CHECK(format_value(1e300) == "1e+300");
}
