// The helpers of cluster_config that the node and up commands rely on.

#include <catch2/catch.hpp>

#include "config/cluster_config.hpp"

using namespace alpaserve::config;

namespace {
cluster_config three_hosts() {
  cluster_config cfg;
  cfg.nodes = {
      {"ctrl", "127.0.0.1", 7000, {}, {"controller"}},
      {"w1", "gpu-box-1", 7001, {{"cpu", 2, 1e9}, {"cpu", 1, 2e9}}, {"worker"}},
      {"w2", "10.1.2.3", 7002, {{"cpu", 4, 1e9}}, {"worker"}},
  };
  return cfg;
}
}  // namespace

TEST_CASE("find_node, controller_node and device totals") {
  const auto cfg = three_hosts();
  REQUIRE(cfg.find_node("w2") != nullptr);
  CHECK(cfg.find_node("w2")->port == 7002);
  CHECK(cfg.find_node("nope") == nullptr);
  CHECK(cfg.controller_node().name == "ctrl");
  CHECK(cfg.total_devices() == 7);
  CHECK(cfg.total_device_memory() == Approx(2e9 + 2e9 + 4e9));
  cluster_config none;
  CHECK_THROWS_AS(none.controller_node(), std::logic_error);
}

TEST_CASE("nodes_on_this_host: loopback hosts always, others by hostname or address") {
  const auto cfg = three_hosts();
  CHECK(cfg.nodes_on_this_host({}).size() == 1);
  const auto by_name = cfg.nodes_on_this_host({"GPU-BOX-1"});  // case-insensitive
  REQUIRE(by_name.size() == 2);
  CHECK(by_name[1]->name == "w1");
  const auto by_address = cfg.nodes_on_this_host({"10.1.2.3", "fe80::1"});
  REQUIRE(by_address.size() == 2);
  CHECK(by_address[1]->name == "w2");
}

TEST_CASE("loopback host spellings") {
  for (const char* h : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
    CHECK(is_loopback_host(h));
  for (const char* h : {"10.0.0.1", "128.0.0.1", "localhost.example.com", "", "1270.0.0.1"})
    CHECK_FALSE(is_loopback_host(h));
}

TEST_CASE("local_host_identities lists this machine's addresses") {
  const auto ids = local_host_identities();
  // Every Linux machine has a loopback interface with 127.0.0.1.
  CHECK(std::find(ids.begin(), ids.end(), "127.0.0.1") != ids.end());
}

TEST_CASE("profiling_file_for puts the node name in place of {node}") {
  caf_config caf;
  CHECK(!caf.profiling_enabled());
  caf.profiling_output_file = "/tmp/{node}/prof-{node}.txt";
  CHECK(caf.profiling_enabled());
  CHECK(caf.profiling_file_for("w-1") == "/tmp/w-1/prof-w-1.txt");
  caf.profiling_output_file = "/tmp/prof.txt";
  CHECK(caf.profiling_file_for("w-1") == "/tmp/prof.txt");
}
