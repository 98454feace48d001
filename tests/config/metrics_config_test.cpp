// The nodes' metrics endpoint in the config: `[metrics]` and each node's `metrics_port`
// (docs/config.md "[metrics]"), with the file, line and key every rule must name.

#include "tests/config/test_support.hpp"

using namespace alpaserve::config;
using namespace alpaserve::config::testing;

TEST_CASE("metrics are on by default: every node serves on its port + 1000") {
  const auto cfg = parse_cluster_config(valid_cluster, "cluster.toml");
  CHECK(cfg.metrics.enabled);
  CHECK(cfg.metrics.port_offset == 1000);
  CHECK(cfg.metrics.bind_address.empty());
  CHECK(cfg.nodes[0].metrics_port == 8000);
  CHECK(cfg.nodes[1].metrics_port == 8001);
}

TEST_CASE("metrics_port, port_offset, bind_address and enabled") {
  SECTION("a node's metrics_port wins over the offset") {
    const auto text = std::string(valid_cluster) + "[metrics]\nport_offset = 10\n";
    const auto cfg = parse_cluster_config(
        replace_line(text, 11, "port = 7001\nmetrics_port = 9100"), "cluster.toml");
    CHECK(cfg.nodes[0].metrics_port == 7010);
    CHECK(cfg.nodes[1].metrics_port == 9100);
  }
  SECTION("enabled = false: no node serves metrics") {
    const auto text = std::string(valid_cluster) + "[metrics]\nenabled = false\n";
    const auto cfg = parse_cluster_config(replace_line(text, 4, "port = 7000\nmetrics_port = 9100"),
                                          "cluster.toml");
    CHECK(!cfg.metrics.enabled);
    CHECK(cfg.nodes[0].metrics_port == 0);
    CHECK(cfg.nodes[1].metrics_port == 0);
  }
  SECTION("bind_address") {
    const auto cfg = parse_cluster_config(
        std::string(valid_cluster) + "[metrics]\nbind_address = \"0.0.0.0\"\n", "cluster.toml");
    CHECK(cfg.metrics.bind_address == "0.0.0.0");
  }
}

TEST_CASE("metrics settings are validated like every other key") {
  const std::string base(valid_cluster);
  SECTION("metrics_port out of range, at its line") {
    require_issue(issues_of(replace_line(base, 4, "port = 7000\nmetrics_port = 70000")), 5,
                  "nodes[0].metrics_port", "between 1 and 65535");
  }
  SECTION("metrics_port of the wrong type") {
    require_issue(issues_of(replace_line(base, 4, "port = 7000\nmetrics_port = \"9100\"")), 5,
                  "nodes[0].metrics_port", "expected an integer");
  }
  SECTION("unknown key in [metrics], with a suggestion") {
    require_issue(issues_of(base + "[metrics]\nport_ofset = 5\n"), 27, "metrics.port_ofset",
                  "unknown key");
  }
  SECTION("enabled must be a boolean") {
    require_issue(issues_of(base + "[metrics]\nenabled = 1\n"), 27, "metrics.enabled",
                  "expected a boolean");
  }
  SECTION("port_offset out of range") {
    require_issue(issues_of(base + "[metrics]\nport_offset = 0\n"), 27, "metrics.port_offset",
                  "between 1 and 65534");
  }
  SECTION("a derived metrics port above 65535 points at the node's port") {
    require_issue(issues_of(replace_line(base, 11, "port = 65000")), 11, "nodes[1].port",
                  "above 65535");
  }
}

TEST_CASE("metrics ports must not clash with node ports or each other on one host") {
  const std::string base(valid_cluster);
  SECTION("a metrics_port equal to another node's port") {
    const auto i =
        require_issue(issues_of(replace_line(base, 11, "port = 7001\nmetrics_port = 7000")), 12,
                      "nodes[1].metrics_port", "is the port of node \"a\"");
    CHECK(i.problem.find("line 1") != std::string::npos);
  }
  SECTION("a metrics_port equal to the node's own port") {
    require_issue(issues_of(replace_line(base, 11, "port = 7001\nmetrics_port = 7001")), 12,
                  "nodes[1].metrics_port", "is the port of node \"b\"");
  }
  SECTION("a derived metrics port equal to another node's port, loopback spellings one host") {
    const auto text =
        replace_line(replace_line(base, 10, "host = \"localhost\""), 11, "port = 8000");
    // b's port 8000 is a's derived metrics port (7000 + 1000).
    require_issue(issues_of(text), 4, "nodes[0].port",
                  "(port + metrics.port_offset) of node \"a\"");
  }
  SECTION("two nodes with the same metrics port") {
    const auto text = replace_line(replace_line(base, 4, "port = 7000\nmetrics_port = 9000"), 12,
                                   "port = 7001\nmetrics_port = 9000");
    require_issue(issues_of(text), 13, "nodes[1].metrics_port",
                  "also the metrics port of node \"a\"");
  }
  SECTION("the same metrics port on different hosts is fine") {
    // Bottom up, so the earlier line numbers stay put.
    auto text = replace_line(base, 11, "port = 7001\nmetrics_port = 9000");
    text = replace_line(text, 10, "host = \"10.0.0.2\"");
    text = replace_line(text, 4, "port = 7000\nmetrics_port = 9000");
    text = replace_line(text, 3, "host = \"10.0.0.1\"");
    const auto issues = issues_of(text);
    INFO(describe(issues));
    CHECK(issues.empty());
  }
  SECTION("no clash check when metrics are off") {
    const auto text = replace_line(base, 11, "port = 8000") + "[metrics]\nenabled = false\n";
    CHECK(issues_of(text).empty());
  }
}
