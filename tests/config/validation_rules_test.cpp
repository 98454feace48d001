// Every validation rule of the cluster config, each broken by a snippet, with the file, line and
// key the message must name (docs/config.md, "Errors").

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/config/test_support.hpp"

using namespace alpaserve::config;
using namespace alpaserve::config::testing;

TEST_CASE("the valid base snippet parses and gets the documented defaults") {
  const auto cfg = parse_cluster_config(valid_cluster, "cluster.toml");
  REQUIRE(cfg.nodes.size() == 2);
  CHECK(cfg.nodes[1].roles == std::vector<std::string>{"worker"});  // default role
  CHECK(cfg.controller_node().name == "a");
  CHECK(cfg.total_devices() == 4);
  CHECK(cfg.nodes[0].devices[0].memory_bytes == Approx(13.0 * (1 << 30)));
  REQUIRE(cfg.models.size() == 2);
  CHECK(cfg.models[0].slo_seconds == Approx(0.5));
  CHECK(cfg.models[0].slo_scale == 0);
  CHECK(cfg.models[0].cv == 1);  // default: Poisson
  CHECK(cfg.models[1].slo_scale == 5);
  CHECK(cfg.models[1].slo_seconds == 0);
  CHECK(cfg.models[1].cv == 3);
  CHECK(cfg.planner.policy == "ours");
  CHECK(cfg.planner.max_batch_size == 16);   // batching on by default
  CHECK(cfg.models[0].max_batch_size == 0);  // = the model's largest profiled size
  CHECK(cfg.caf.scheduler_policy == "sharing");
  CHECK(!cfg.caf.profiling_enabled());
  CHECK(!cfg.tls.enabled);
  CHECK(cfg.source_file == "cluster.toml");
  CHECK(cfg.warnings.empty());
}

TEST_CASE("TOML syntax errors from toml++ carry file, line and column") {
  const auto issues = issues_of(with_line(11, "port = = 7001"));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].file == "cluster.toml");
  CHECK(issues[0].line == 11);
  CHECK(issues[0].column > 1);
  CHECK(issues[0].to_string().rfind("cluster.toml:11:", 0) == 0);
}

TEST_CASE("a key defined twice is a TOML error at the second definition") {
  const auto issues = issues_of(with_line(11, "port = 7001\nport = 7002"));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].line == 12);
}

TEST_CASE("unknown keys are errors with a did-you-mean suggestion") {
  SECTION("in a node") {
    const auto i =
        require_issue(issues_of(with_line(11, "prot = 7001")), 11, "nodes[1].prot", "unknown key");
    CHECK(i.problem.find("did you mean \"port\"") != std::string::npos);
    CHECK(i.column == 1);
  }
  SECTION("a top-level table") {
    const auto text = std::string(valid_cluster) + "[planer]\npolicy = \"ours\"\n";
    const auto i = require_issue(issues_of(text), 26, "planer", "unknown key");
    CHECK(i.problem.find("did you mean \"planner\"") != std::string::npos);
  }
  SECTION("in a device group inline table") {
    require_issue(issues_of(with_line(
                      12, "devices = [{ kind = \"cpu\", count = 2, memory_gib = 13, cuont = 1 }]")),
                  12, "nodes[1].devices[0].cuont", "did you mean \"count\"");
  }
  SECTION("far from every known key: no suggestion") {
    const auto i = require_issue(issues_of(with_line(18, "rate = 1\ncolour = \"red\"")), 19,
                                 "models[0].colour", "unknown key");
    CHECK(i.problem.find("did you mean") == std::string::npos);
  }
}

TEST_CASE("wrong types name the expected and the actual type") {
  const auto i = require_issue(issues_of(with_line(17, "slo_ms = \"500\"")), 17, "models[0].slo_ms",
                               "expected a number, got string");
  CHECK(i.column == 10);  // points at the value
  CHECK(i.to_string() == "cluster.toml:17:10: models[0].slo_ms: expected a number, got string");
  require_issue(issues_of(with_line(4, "port = \"7000\"")), 4, "nodes[0].port",
                "expected an integer, got string");
  require_issue(issues_of(with_line(4, "port = 7000.0")), 4, "nodes[0].port",
                "expected an integer, got float");
  require_issue(issues_of(with_line(5, "roles = \"worker\"")), 5, "nodes[0].roles",
                "expected an array of strings, got string");
  require_issue(issues_of(with_line(5, "roles = [\"controller\", 1]")), 5, "nodes[0].roles[1]",
                "expected a string, got integer");
  require_issue(issues_of(std::string(valid_cluster) + "[tls]\nenabled = \"yes\"\n"), 27,
                "tls.enabled", "expected a boolean, got string");
  require_issue(issues_of("planner = 3\n" + std::string(valid_cluster)), 1, "planner",
                "expected a table, got integer");
  // After a [[models]] header the same line belongs to the model, where it is unknown.
  require_issue(issues_of(std::string(valid_cluster) + "planner = 3\n"), 26, "models[1].planner",
                "unknown key");
}

TEST_CASE("an integer is accepted where a number is expected") {
  const auto cfg = parse_cluster_config(with_line(24, "rate = 2"), "cluster.toml");
  CHECK(cfg.models[1].rate == 2.0);
}

TEST_CASE("nodes and models must be arrays of tables") {
  const std::string text =
      "[nodes]\nname = \"a\"\n\n[[models]]\nname = \"m\"\ntype = \"t\"\nslo_ms = 1\nrate = 1\n";
  require_issue(issues_of(text), 1, "nodes", "expected an array of tables ([[nodes]]), got table");
  require_issue(issues_of(std::string(valid_cluster) + "[[nodes]]\n"), 26, "nodes[2].name",
                "missing required key");
}

TEST_CASE("missing required fields point at their table") {
  SECTION("node host") {
    require_issue(issues_of(with_line(10, "")), 8, "nodes[1].host", "missing required key");
  }
  SECTION("node port") {
    require_issue(issues_of(with_line(4, "")), 1, "nodes[0].port", "missing required key");
  }
  SECTION("model rate") {
    require_issue(issues_of(with_line(24, "")), 20, "models[1].rate", "missing required key");
  }
  SECTION("device count") {
    require_issue(issues_of(with_line(12, "devices = [{ kind = \"cpu\", memory_gib = 13 }]")), 12,
                  "nodes[1].devices[0].count", "missing required key");
  }
  SECTION("device memory") {
    require_issue(issues_of(with_line(12, "devices = [{ kind = \"cpu\", count = 1 }]")), 12,
                  "nodes[1].devices[0].memory_gib", "missing required key");
  }
  SECTION("no nodes and no models at all") {
    const auto issues = issues_of("name = \"empty\"\n");
    // The root table starts at 1:1; a missing top-level key points there.
    require_issue(issues, 1, "nodes", "missing required key");
    require_issue(issues, 1, "models", "missing required key");
    CHECK(issues[0].to_string() == "cluster.toml:1:1: nodes: missing required key");
  }
}

TEST_CASE("values out of range are rejected") {
  require_issue(issues_of(with_line(4, "port = 0")), 4, "nodes[0].port",
                "must be between 1 and 65535, got 0");
  require_issue(issues_of(with_line(4, "port = 65536")), 4, "nodes[0].port", "between 1 and 65535");
  require_issue(
      issues_of(with_line(12, "devices = [{ kind = \"cpu\", count = 0, memory_gib = 1 }]")), 12,
      "nodes[1].devices[0].count", "got 0");
  require_issue(
      issues_of(with_line(12, "devices = [{ kind = \"cpu\", count = 1, memory_gib = 0 }]")), 12,
      "nodes[1].devices[0].memory_gib", "must be > 0");
  require_issue(
      issues_of(with_line(12, "devices = [{ kind = \"cpu\", count = 1, memory_bytes = -5 }]")), 12,
      "nodes[1].devices[0].memory_bytes", "must be at least 1");
  require_issue(issues_of(with_line(17, "slo_ms = 0")), 17, "models[0].slo_ms", "must be > 0");
  require_issue(issues_of(with_line(23, "slo_scale = -2")), 23, "models[1].slo_scale",
                "must be > 0");
  require_issue(issues_of(with_line(18, "rate = -1")), 18, "models[0].rate", "must be >= 0");
  require_issue(issues_of(with_line(25, "cv = 0")), 25, "models[1].cv", "must be > 0");
  require_issue(issues_of(with_line(25, "max_batch_size = 0")), 25, "models[1].max_batch_size",
                "between 1 and 1024");
  require_issue(issues_of(with_line(25, "cv = nan")), 25, "models[1].cv", "finite");
  require_issue(issues_of(std::string(valid_cluster) + "[caf]\nmax_threads = -1\n"), 27,
                "caf.max_threads", "between 0 and 1024");
  require_issue(issues_of(std::string(valid_cluster) + "[planner]\nmax_batch_size = 0\n"), 27,
                "planner.max_batch_size", "between 1 and 1024");
  require_issue(issues_of(std::string(valid_cluster) + "[planner]\nreplan_interval_s = -1\n"), 27,
                "planner.replan_interval_s", "must be >= 0");
  require_issue(issues_of(std::string(valid_cluster) + "[dispatcher]\noverhead_s = -0.1\n"), 27,
                "dispatcher.overhead_s", "must be >= 0");
}

TEST_CASE("[runtime] timeouts: defaults, values, and a drain shorter than the request timeout") {
  const auto defaults = parse_cluster_config(valid_cluster, "c.toml").runtime;
  CHECK(defaults.request_timeout_s == 30);
  CHECK(defaults.drain_timeout_s == 35);
  const auto cfg = parse_cluster_config(
      std::string(valid_cluster) +
          "[runtime]\nrequest_timeout_s = 4\nstage_start_timeout_s = 9\ncontrol_timeout_s = 2\n",
      "c.toml");
  CHECK(cfg.runtime.request_timeout_s == 4);
  CHECK(cfg.runtime.drain_timeout_s == 9);  // follows the request timeout
  CHECK(cfg.runtime.stage_start_timeout_s == 9);
  CHECK(cfg.runtime.control_timeout_s == 2);
  require_issue(issues_of(std::string(valid_cluster) +
                          "[runtime]\nrequest_timeout_s = 10\ndrain_timeout_s = 5\n"),
                28, "runtime.drain_timeout_s", "must be >= request_timeout_s");
  require_issue(issues_of(std::string(valid_cluster) + "[runtime]\nrequest_timeout_s = 0\n"), 27,
                "runtime.request_timeout_s", "must be > 0");
  require_issue(issues_of(std::string(valid_cluster) + "[runtime]\nrequest_timeot_s = 1\n"), 27,
                "runtime.request_timeot_s", "unknown key");
}

TEST_CASE("rate 0 is allowed: a model may be served without expected traffic") {
  CHECK(parse_cluster_config(with_line(18, "rate = 0"), "c.toml").models[0].rate == 0);
}

TEST_CASE("enumerated strings must be one of their values") {
  require_issue(
      issues_of(with_line(12, "devices = [{ kind = \"tpu\", count = 1, memory_gib = 8 }]")), 12,
      "nodes[1].devices[0].kind", "unknown device kind \"tpu\"");
  require_issue(issues_of(with_line(5, "roles = [\"controller\", \"wrker\"]")), 5,
                "nodes[0].roles[1]", "unknown role \"wrker\"");
  require_issue(issues_of(with_line(5, "roles = [\"controller\", \"controller\", \"worker\"]")), 5,
                "nodes[0].roles[1]", "listed twice");
  require_issue(issues_of(with_line(5, "roles = []")), 5, "nodes[0].roles", "at least one role");
  require_issue(issues_of(std::string(valid_cluster) + "[caf]\nscheduler_policy = \"fifo\"\n"), 27,
                "caf.scheduler_policy", "unknown scheduler policy");
  require_issue(issues_of(std::string(valid_cluster) + "[planner]\ndevice_preset = \"p100\"\n"), 27,
                "planner.device_preset", "unknown preset");
  require_issue(issues_of(with_line(2, "name = \"a b\"")), 2, "nodes[0].name", "may hold only");
  require_issue(issues_of(with_line(15, "name = \"\"")), 15, "models[0].name", "must not be empty");
}

TEST_CASE("duplicate node names, endpoints and model names") {
  SECTION("node name") {
    const auto i = require_issue(issues_of(with_line(9, "name = \"a\"")), 9, "nodes[1].name",
                                 "duplicate node name");
    CHECK(i.problem.find("first at line 2") != std::string::npos);
  }
  SECTION("host and port, loopback spellings are one host") {
    const auto text = replace_line(with_line(10, "host = \"localhost\""), 11, "port = 7000");
    const auto i =
        require_issue(issues_of(text), 11, "nodes[1].port", "same host and port as node \"a\"");
    CHECK(i.problem.find("line 1") != std::string::npos);
  }
  SECTION("the same port on different hosts is fine") {
    const auto text =
        replace_line(replace_line(with_line(3, "host = \"10.0.0.1\""), 10, "host = \"10.0.0.2\""),
                     11, "port = 7000");
    CHECK(issues_of(text).empty());
  }
  SECTION("different loopback addresses are different hosts (each node binds its own)") {
    const auto text =
        replace_line(replace_line(with_line(3, "host = \"127.0.0.2\""), 10, "host = \"127.0.0.3\""),
                     11, "port = 7000");
    CHECK(issues_of(text).empty());
  }
  SECTION("model name") {
    require_issue(issues_of(with_line(21, "name = \"m0\"")), 21, "models[1].name",
                  "duplicate model name \"m0\" (first at line 15)");
  }
}

TEST_CASE("at least one node is a controller candidate") {
  SECTION("none") {
    require_issue(issues_of(with_line(5, "roles = [\"worker\"]")), 1, "nodes",
                  "no node has the role \"controller\"");
  }
  SECTION("two candidates: the first is the controller node") {
    const auto cfg = parse_cluster_config(
        with_line(11, "port = 7001\nroles = [\"controller\", \"worker\"]"), "cluster.toml");
    CHECK(cfg.controller_node().name == "a");
    CHECK(cfg.nodes[1].is_controller());
    CHECK(cfg.dispatcher_node().name == "a");
  }
}

TEST_CASE("at most one node is the dispatcher, else the controller's node hosts it") {
  CHECK(parse_cluster_config(valid_cluster, "cluster.toml").dispatcher_node().name == "a");
  const auto moved =
      parse_cluster_config(with_line(11, "port = 7001\nroles = [\"worker\", \"dispatcher\"]"),
                           "cluster.toml");
  CHECK(moved.dispatcher_node().name == "b");
  CHECK(moved.controller_node().name == "a");
  CHECK(moved.nodes[1].is_dispatcher());
  require_issue(issues_of(replace_line(with_line(5, "roles = [\"controller\", \"worker\", \"dispatcher\"]"),
                                       11, "port = 7001\nroles = [\"worker\", \"dispatcher\"]")),
                8, "nodes[1].roles", "a second dispatcher node \"b\"");
  require_issue(issues_of(with_line(5, "roles = [\"controller\", \"worker\", \"router\"]")), 5,
                "nodes[0].roles[2]", "roles are \"controller\", \"worker\" and \"dispatcher\"");
}

TEST_CASE(
    "devices: workers need them, controllers-only must not list them, the cluster needs some") {
  require_issue(issues_of(with_line(12, "")), 8, "nodes[1].devices", "a worker node needs devices");
  require_issue(issues_of(with_line(12, "devices = []")), 12, "nodes[1].devices",
                "at least one device group");
  require_issue(issues_of(with_line(5, "roles = [\"controller\"]")), 6, "nodes[0].devices",
                "no \"worker\" role");
  // A controller-only node without devices is fine when others have devices.
  const auto cfg =
      parse_cluster_config(replace_line(with_line(6, ""), 5, "roles = [\"controller\"]"), "c.toml");
  CHECK(cfg.controller_node().num_devices() == 0);
  CHECK(!cfg.controller_node().is_worker());
  CHECK(cfg.total_devices() == 2);
  const std::string controller_only =
      "[[nodes]]\nname = \"c\"\nhost = \"h\"\nport = 1\nroles = [\"controller\"]\n\n"
      "[[models]]\nname = \"m\"\ntype = \"t\"\nslo_ms = 1\nrate = 1\n";
  require_issue(issues_of(controller_only), 1, "nodes", "the cluster has no devices");
}

TEST_CASE("device memory is given in GiB or in bytes, exactly once") {
  const auto cfg = parse_cluster_config(
      with_line(12, "devices = [{ kind = \"cpu\", count = 1, memory_bytes = 1073741824 }]"),
      "c.toml");
  CHECK(cfg.nodes[1].devices[0].memory_bytes == 1073741824.0);
  require_issue(
      issues_of(with_line(
          12, "devices = [{ kind = \"cpu\", count = 1, memory_gib = 1, memory_bytes = 1 }]")),
      12, "nodes[1].devices[0].memory_bytes", "not both");
}

TEST_CASE("a model has exactly one of type and profile_file, and one SLO form") {
  require_issue(issues_of(with_line(16, "")), 14, "models[0].type",
                "give a model-zoo type or a profile_file");
  require_issue(issues_of(with_line(16, "type = \"bert-1.3b\"\nprofile_file = \"p.json\"")), 17,
                "models[0].profile_file", "not both");
  require_issue(issues_of(with_line(17, "")), 14, "models[0].slo_ms", "give slo_ms or slo_scale");
  require_issue(issues_of(with_line(17, "slo_ms = 500\nslo_scale = 2")), 18, "models[0].slo_scale",
                "not both");
}

TEST_CASE("profile_file paths are resolved against the config file's folder") {
  const auto cfg = parse_cluster_config(with_line(16, "profile_file = \"profiles/p.json\""),
                                        "/etc/alpaserve/cluster.toml");
  CHECK(cfg.models[0].profile_file == "/etc/alpaserve/profiles/p.json");
  CHECK(cfg.models[0].type.empty());
  const auto abs = parse_cluster_config(with_line(16, "profile_file = \"/data/p.json\""),
                                        "/etc/alpaserve/cluster.toml");
  CHECK(abs.models[0].profile_file == "/data/p.json");
}

TEST_CASE("the model_type_known hook rejects types the zoo does not have") {
  validation_hooks hooks;
  hooks.model_type_known = [](const std::string& t) { return t == "bert-1.3b"; };
  const auto issues = issues_of(valid_cluster, hooks);
  REQUIRE(issues.size() == 1);
  require_issue(issues, 22, "models[1].type", "unknown model type \"bert-2.6b\"");
}

TEST_CASE("the policy_known hook rejects unknown placement policies") {
  validation_hooks hooks;
  hooks.policy_known = [](const std::string& p) { return p == "ours" || p == "sr"; };
  const auto text = std::string(valid_cluster) + "[planner]\npolicy = \"greedy-ish\"\n";
  require_issue(issues_of(text, hooks), 27, "planner.policy", "unknown placement policy");
  CHECK(issues_of(std::string(valid_cluster) + "[planner]\npolicy = \"sr\"\n", hooks).empty());
  // Without a hook any non-empty name is accepted; an empty one never is.
  CHECK(issues_of(text).empty());
  require_issue(issues_of(std::string(valid_cluster) + "[planner]\npolicy = \"\"\n"), 27,
                "planner.policy", "must not be empty");
}

TEST_CASE("impossible placements: a model heavier than all device memory together") {
  validation_hooks hooks;
  // 4 devices x 13 GiB = 52 GiB in the base snippet.
  hooks.model_weight_bytes = [](const model_config& m) -> std::optional<double> {
    if (m.type == "bert-2.6b") return 60.0 * (1 << 30);
    if (m.type == "bert-1.3b") return 2.6 * (1 << 30);
    return std::nullopt;
  };
  const auto issues = issues_of(valid_cluster, hooks);
  REQUIRE(issues.size() == 1);
  require_issue(issues, 22, "models[1].type", "impossible placement: model \"m1\" needs 60 GiB");
  CHECK(issues[0].problem.find("52 GiB") != std::string::npos);

  SECTION("a hook that throws becomes the model's error") {
    hooks.model_weight_bytes = [](const model_config& m) -> std::optional<double> {
      throw std::runtime_error("cannot read profile for " + m.name);
    };
    require_issue(issues_of(valid_cluster, hooks), 16, "models[0].type",
                  "cannot read profile for m0");
  }
  SECTION("models that fit one by one but not together give a warning") {
    hooks.model_weight_bytes = [](const model_config&) -> std::optional<double> {
      return 30.0 * (1 << 30);
    };
    const auto cfg = parse_cluster_config(valid_cluster, "cluster.toml", hooks);
    REQUIRE(cfg.warnings.size() == 1);
    CHECK(cfg.warnings[0].find("cluster.toml:14:1: models:") == 0);
  }
}

TEST_CASE("TLS files are checked only when TLS is enabled") {
  const std::string tls =
      "[tls]\nenabled = ENABLED\ncertificate = \"certs/node.pem\"\nkey = \"certs/node.key\"\n"
      "ca_file = \"certs/ca.pem\"\n";
  auto with_enabled = [&](const char* enabled) {
    std::string t = tls;
    t.replace(t.find("ENABLED"), 7, enabled);
    return std::string(valid_cluster) + t;
  };
  const auto dir = std::filesystem::temp_directory_path() / "alpaserve-config-tls-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "certs");
  const std::string config_path = (dir / "cluster.toml").string();
  {
    std::ofstream(dir / "certs/node.pem") << "x";
    std::ofstream(dir / "certs/node.key") << "x";
  }
  CHECK(issues_of(with_enabled("false"), {}, config_path).empty());
  const auto issues = issues_of(with_enabled("true"), {}, config_path);
  REQUIRE(issues.size() == 1);
  require_issue(issues, 30, "tls.ca_file", "file not found: " + (dir / "certs/ca.pem").string());
  { std::ofstream(dir / "certs/ca.pem") << "x"; }
  const auto cfg = parse_cluster_config(with_enabled("true"), config_path);
  CHECK(cfg.tls.enabled);
  CHECK(cfg.tls.certificate == (dir / "certs/node.pem").string());
  require_issue(issues_of(std::string(valid_cluster) + "[tls]\nenabled = true\n"), 27,
                "tls.enabled",
                "no CA certificate tls/ca.pem; create the cluster's material with `alpaserve tls "
                "init --config cluster.toml`");
  std::filesystem::remove_all(dir);
}

TEST_CASE("TLS material defaults to per-node files in tls/ next to the config") {
  const auto dir = std::filesystem::temp_directory_path() / "alpaserve-config-tls-dir-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "tls");
  const std::string config_path = (dir / "cluster.toml").string();
  auto cfg = parse_cluster_config(valid_cluster, config_path);
  CHECK(!cfg.tls.enabled);
  CHECK(cfg.tls.dir == (dir / "tls").string());
  CHECK(cfg.tls.ca_path() == (dir / "tls/ca.pem").string());
  CHECK(cfg.tls.ca_key_path() == (dir / "tls/ca.key").string());
  CHECK(cfg.tls.node_files("a").certificate == (dir / "tls/node-a.pem").string());
  CHECK(cfg.tls.node_files("a").key == (dir / "tls/node-a.key").string());
  CHECK(cfg.tls.client_files().certificate == (dir / "tls/client.pem").string());
  CHECK(cfg.tls.client_files().ca_file == (dir / "tls/ca.pem").string());

  // Only the CA is required by the parser: each machine holds its own node's key.
  const std::string on = std::string(valid_cluster) + "[tls]\nenabled = true\n";
  require_issue(issues_of(on, {}, config_path), 27, "tls.enabled",
                "no CA certificate " + (dir / "tls/ca.pem").string());
  { std::ofstream(dir / "tls/ca.pem") << "x"; }
  CHECK(issues_of(on, {}, config_path).empty());

  // An explicit folder.
  std::filesystem::create_directories(dir / "pki");
  cfg = parse_cluster_config(std::string(valid_cluster) + "[tls]\ndir = \"pki\"\n", config_path);
  CHECK(cfg.tls.node_files("b").key == (dir / "pki/node-b.key").string());
  require_issue(issues_of(std::string(valid_cluster) + "[tls]\nenabled = true\ndir = \"pki\"\n", {},
                          config_path),
                28, "tls.dir", "no CA certificate " + (dir / "pki/ca.pem").string());
  require_issue(issues_of(std::string(valid_cluster) + "[tls]\ndir = \"\"\n", {}, config_path), 27,
                "tls.dir", "must name a folder");

  // certificate and key override together, for every node and the client.
  require_issue(issues_of(std::string(valid_cluster) + "[tls]\ncertificate = \"tls/ca.pem\"\n", {},
                          config_path),
                27, "tls.certificate", "certificate and key override the per-node files together");
  cfg = parse_cluster_config(
      std::string(valid_cluster) + "[tls]\ncertificate = \"c.pem\"\nkey = \"c.key\"\n",
      config_path);
  CHECK(cfg.tls.node_files("a").certificate == (dir / "c.pem").string());
  CHECK(cfg.tls.client_files().key == (dir / "c.key").string());
  require_issue(issues_of(std::string(valid_cluster) + "[tls]\nca_file = \"\"\n", {}, config_path),
                27, "tls.ca_file", "must name a file");
  std::filesystem::remove_all(dir);
}

TEST_CASE("every problem is reported, one per line, not only the first") {
  std::string text = with_line(4, "port = 0");
  text = std::string(text).replace(text.find("slo_ms = 500"), 12, "slo_ms = \"500\"");
  text += "[caf]\nthreads = 2\n";
  try {
    (void)parse_cluster_config(text, "cluster.toml");
    FAIL("expected a config_error");
  } catch (const config_error& e) {
    const auto& issues = e.issues();
    REQUIRE(issues.size() == 3);
    require_issue(issues, 4, "nodes[0].port", "between 1 and 65535");
    require_issue(issues, 17, "models[0].slo_ms", "expected a number");
    require_issue(issues, 27, "caf.threads", "did you mean \"max_threads\"");
    const std::string what = e.what();
    CHECK(std::count(what.begin(), what.end(), '\n') == 2);
    CHECK(what.find("cluster.toml:4:8: nodes[0].port: ") == 0);
    // The input_error view names the first problem, so generic handlers stay useful.
    CHECK(e.file() == "cluster.toml");
    CHECK(e.where().find("nodes[0].port") != std::string::npos);
  }
}

TEST_CASE("config_error is a planner::input_error, so the CLI exits with code 2") {
  try {
    (void)parse_cluster_config(with_line(4, "port = 0"), "cluster.toml");
    FAIL("expected an error");
  } catch (const alpaserve::planner::input_error& e) {
    CHECK(std::string(e.what()).find("cluster.toml:4:8") == 0);
  }
}

TEST_CASE("load_cluster_config names a file it cannot open") {
  try {
    (void)load_cluster_config("/nonexistent/alpaserve/cluster.toml");
    FAIL("expected an error");
  } catch (const config_error& e) {
    REQUIRE(e.issues().size() == 1);
    CHECK(e.issues()[0].file == "/nonexistent/alpaserve/cluster.toml");
    CHECK(e.issues()[0].problem.find("cannot open") == 0);
  }
}

TEST_CASE("edit distance") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("port", "port") == 0);
  CHECK(edit_distance("prot", "port") == 2);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("planner.placement_file is resolved against the config's folder and must exist") {
  const auto dir = std::filesystem::temp_directory_path() / "alpaserve-config-placement-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "plans");
  const std::string config_path = (dir / "cluster.toml").string();
  const std::string text =
      std::string(valid_cluster) + "[planner]\nplacement_file = \"plans/p.json\"\n";
  require_issue(issues_of(text, {}, config_path), 27, "planner.placement_file",
                "file not found: " + (dir / "plans/p.json").string());
  { std::ofstream(dir / "plans/p.json") << "{}"; }
  const auto cfg = parse_cluster_config(text, config_path);
  CHECK(cfg.planner.placement_file == (dir / "plans/p.json").string());
  CHECK(parse_cluster_config(valid_cluster, config_path).planner.placement_file.empty());
  require_issue(issues_of(std::string(valid_cluster) + "[planner]\nplacement_file = 3\n"), 27,
                "planner.placement_file", "expected a string");
  std::filesystem::remove_all(dir);
}

TEST_CASE("models.folder: resolved against the config's folder, exclusive, checked by the hook") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "alpaserve_config_folder_test";
  fs::remove_all(dir);
  fs::create_directories(dir / "models" / "mine");
  const std::string file = (dir / "cluster.toml").string();
  const std::string with_folder =
      replace_line(std::string(valid_cluster), 18, "rate = 1\nfolder = \"models/mine\"");
  const auto cfg = parse_cluster_config(with_folder, file);
  CHECK(cfg.models[0].folder == (dir / "models" / "mine").string());

  // Not both a folder and an architecture / weights / seed.
  require_issue(
      issues_of(replace_line(with_folder, 19, "folder = \"models/mine\"\nseed = 3"), {}, file), 19,
      "models[0].folder", "give either folder or seed");
  // A folder that does not exist.
  require_issue(
      issues_of(replace_line(std::string(valid_cluster), 18, "rate = 1\nfolder = \"nope\""), {},
                file),
      19, "models[0].folder", "model folder not found");
  // The hook's problem (the runtime checks model.json and the weights) at the key's line.
  validation_hooks hooks;
  hooks.model_folder_problem = [](const std::string& f) -> std::optional<std::string> {
    return "problem in " + f;
  };
  require_issue(issues_of(with_folder, hooks, file), 19, "models[0].folder",
                "problem in " + (dir / "models" / "mine").string());
  fs::remove_all(dir);
}

TEST_CASE("[caf] max_message_bytes follows the dispatcher's largest input and is checked") {
  SECTION("default: max_payload_bytes + 16 MiB, pending budget twice that") {
    const auto cfg = parse_cluster_config(
        std::string(valid_cluster) + "[dispatcher]\nmax_payload_bytes = 8388608\n", "cluster.toml");
    CHECK(cfg.caf.max_message_bytes == (8u << 20) + (16u << 20));
    CHECK(cfg.caf.max_pending_message_bytes == 2 * cfg.caf.max_message_bytes);
    CHECK(cfg.caf.bind_address.empty());
  }
  SECTION("set: at least max_payload_bytes + 1 MiB") {
    require_issue(
        issues_of(std::string(valid_cluster) + "[caf]\nmax_message_bytes = 33554432\n[dispatcher]\n"
                                               "max_payload_bytes = 33554432\n"),
        27, "caf.max_message_bytes", "must be at least dispatcher.max_payload_bytes");
    const auto cfg = parse_cluster_config(std::string(valid_cluster) +
                                              "[caf]\nmax_message_bytes = 34603008\n"
                                              "bind_address = \"10.0.0.5\"\n[dispatcher]\n"
                                              "max_payload_bytes = 33554432\n",
                                          "cluster.toml");
    CHECK(cfg.caf.max_message_bytes == 34603008);
    CHECK(cfg.caf.bind_address == "10.0.0.5");
  }
  SECTION("the pending budget holds at least one message") {
    require_issue(issues_of(std::string(valid_cluster) + "[caf]\nmax_message_bytes = 100000000\n"
                                                         "max_pending_message_bytes = 99999999\n"),
                  28, "caf.max_pending_message_bytes", "must be at least caf.max_message_bytes");
  }
  SECTION("a node's bind address") {
    const auto cfg =
        parse_cluster_config(with_line(7, "bind_address = \"127.0.0.1\""), "cluster.toml");
    CHECK(cfg.nodes[0].bind_address == "127.0.0.1");
  }
}
