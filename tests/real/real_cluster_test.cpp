// Real execution across node processes: a seeded bert-tiny (hidden 256, 4 layers) served by
// groups with pp in {1, 2, 4} x op in {1, 2}, pipelines crossing process boundaries, must return
// the single-device output within 1e-4 relative error; and bad weights / a model too large for
// its device fail at load time with a clear error while the node keeps serving its other shards.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "actors/real_stage.hpp"
#include "cluster_fixture.hpp"
#include "kernels/device_backend.hpp"
#include "kernels/safetensors.hpp"
#include "kernels/weights.hpp"
#include "net/client.hpp"
#include "net/tensor_wire.hpp"
#include "planner/profile/profile_io.hpp"

using namespace alpaserve;

namespace {

constexpr uint64_t seed = 7;

struct placed_model {
  std::string name;
  int op = 1;
  int pp = 1;
  std::string architecture = "bert-tiny";
  std::string weights;
};

// A profile per model for exactly its group's config (even split; latencies are nominal).
void write_profiles(const std::string& path, const std::vector<placed_model>& models) {
  planner::profile_db db;
  for (const auto& m : models) {
    planner::model_profile p;
    p.name = m.name;
    planner::config_profile c;
    c.weight_mem.assign(static_cast<size_t>(m.pp), 1e6);
    c.latency[1] = std::vector<double>(static_cast<size_t>(m.pp), 0.005);
    p.configs[{1, m.op, m.pp}] = c;
    db.add(p);
  }
  planner::write_profile_db(db, path);
}

struct cluster_spec {
  std::vector<int> devices_per_node;
  double memory_gib = 1;
  std::vector<placed_model> models;
};

// Config + placement (one group per model, in order) + profiles; returns the controller port.
int write_cluster(const testing::temp_dir& dir, const cluster_spec& c) {
  write_profiles(dir.file("profiles.json"), c.models);
  std::ofstream cfg(dir.file("cluster.toml"));
  cfg << "name = \"real-test\"\n";
  int controller_port = 0;
  for (size_t n = 0; n < c.devices_per_node.size(); ++n) {
    const int port = testing::free_port();
    if (n == 0) controller_port = port;
    cfg << fmt::format(
        "[[nodes]]\nname = \"node-{}\"\nhost = \"127.0.0.1\"\nport = {}\nroles = [{}]\n"
        "devices = [{{ kind = \"cpu\", count = {}, memory_gib = {} }}]\n",
        n, port, n == 0 ? "\"controller\", \"worker\"" : "\"worker\"", c.devices_per_node[n],
        c.memory_gib);
  }
  for (const auto& m : c.models) {
    cfg << fmt::format(
        "[[models]]\nname = \"{}\"\nprofile_file = \"profiles.json\"\narchitecture = \"{}\"\n"
        "seed = {}\nslo_ms = 60000\nrate = 1\n",
        m.name, m.architecture, seed);
    if (!m.weights.empty()) cfg << fmt::format("weights = \"{}\"\n", m.weights);
  }
  cfg << "[caf]\nscheduler_policy = \"sharing\"\nmax_threads = 2\nheartbeat_interval_ms = 500\n";
  cfg.close();
  std::ofstream pl(dir.file("placement.json"));
  int devices = 0;
  for (int d : c.devices_per_node) devices += d;
  pl << fmt::format(
      "{{\"cluster\": {{\"num_devices\": {}, \"mem_budget_gib\": {}}},\n\"models\": [", devices,
      c.memory_gib);
  for (size_t i = 0; i < c.models.size(); ++i)
    pl << fmt::format("{}{{\"name\": \"{}\", \"slo\": 60}}", i ? ", " : "", c.models[i].name);
  pl << "],\n\"groups\": [";
  for (size_t i = 0; i < c.models.size(); ++i)
    pl << fmt::format("{}{{\"op\": {}, \"pp\": {}, \"models\": [\"{}\"]}}", i ? ", " : "",
                      c.models[i].op, c.models[i].pp, c.models[i].name);
  pl << "]}\n";
  return controller_port;
}

std::vector<std::string> node_names(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back("node-" + std::to_string(i));
  return out;
}

kernels::tensor token_ids(int batch, int seq) {
  kernels::tensor t({batch, seq});
  for (size_t i = 0; i < t.numel(); ++i) t.data[i] = static_cast<float>((i * 37 + 11) % 1024);
  return t;
}

kernels::tensor single_device_reference(const kernels::tensor& input) {
  auto backend = kernels::make_backend("cpu");
  backend->load(kernels::whole_model(actors::real_model_spec("bert-tiny", seed, "ref")), {});
  return backend->run(input, {});
}

double relative_error(const kernels::tensor& got, const kernels::tensor& ref) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < ref.numel(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(got.data[i] - ref.data[i])));
    max_ref = std::max(max_ref, static_cast<double>(std::fabs(ref.data[i])));
  }
  return max_diff / max_ref;
}

net::client connect(int port) {
  net::client_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.connect_timeout_s = 60;
  o.request_timeout_s = 60;
  return net::client(o);
}

}  // namespace

TEST_CASE("real cluster: pp 1/2/4 x op 1/2 across processes equals the single-device model") {
  testing::temp_dir dir;
  // Devices in node order: A (pp2) spans node-0|node-1, B (pp4) node-1|node-2, D (pp4 op2)
  // node-2|node-3; C, F, E on node-3.
  cluster_spec c;
  c.devices_per_node = {1, 3, 6, 11};
  auto tiny = [](std::string name, int op, int pp) {
    return placed_model{std::move(name), op, pp, "bert-tiny", ""};
  };
  c.models = {tiny("tiny-pp2-op1", 1, 2), tiny("tiny-pp4-op1", 1, 4), tiny("tiny-pp4-op2", 2, 4),
              tiny("tiny-pp2-op2", 2, 2), tiny("tiny-pp1-op2", 2, 1), tiny("tiny-pp1-op1", 1, 1)};
  const int port = write_cluster(dir, c);
  testing::node_processes nodes(dir.file("cluster.toml"), node_names(c.devices_per_node.size()),
                                dir.file("placement.json"), dir);
  auto client = connect(port);
  INFO(nodes.logs());
  REQUIRE_NOTHROW(client.wait_ready(90));

  const kernels::tensor input = token_ids(2, 24);
  const kernels::tensor ref = single_device_reference(input);
  REQUIRE(ref.shape == std::vector<int64_t>{2, 1024});
  const std::string payload = net::encode_f32(input.shape, input.ptr());
  for (const auto& m : c.models) {
    auto r = client.submit(m.name, payload);
    INFO(m.name << ": " << net::to_string(r.reply.status) << " " << r.reply.message << "\n"
                << nodes.logs());
    REQUIRE(r.reply.status == net::reply_status::ok);
    REQUIRE(r.reply.stage_run_s.size() == static_cast<size_t>(m.pp));
    const kernels::tensor got = actors::tensor_from_wire(r.reply.result);
    REQUIRE(got.shape == ref.shape);
    const double err = relative_error(got, ref);
    INFO("relative error " << err);
    CHECK(err < 1e-4);
    if (m.op == 1) CHECK(err == 0.0);  // pipeline cuts alone are bit-identical
  }
  // A malformed input is rejected explicitly by the first stage, not dropped.
  kernels::tensor bad({1, 8}, 0.5f);  // non-integer token ids
  auto r = client.submit("tiny-pp2-op2", net::encode_f32(bad.shape, bad.ptr()));
  CHECK(r.reply.status == net::reply_status::rejected_bad_input);
  CHECK_THAT(r.reply.message, Catch::Contains("tiny-pp2-op2"));
}

TEST_CASE("real cluster: bad weights and an oversized model fail at load, other shards serve") {
  testing::temp_dir dir;
  // A safetensors file of bert-tiny missing one tensor of layer 1.
  const auto spec = actors::real_model_spec("bert-tiny", seed, "bad");
  kernels::seeded_weights source(seed);
  kernels::weight_map tensors;
  for (const auto& d : kernels::model_weight_descs(spec))
    if (d.name != "layers.1.attn.qkv.weight") tensors[d.name] = source.fetch(d);
  kernels::write_safetensors(dir.file("bad.safetensors"), tensors);

  // Devices: good d0-d1 (node-0), broken d2 | d3 (its bad stage 0 on node-0), huge d4 and
  // neighbour d5 on node-1: each node loses a shard and keeps serving its others.
  cluster_spec c;
  c.devices_per_node = {3, 3};
  c.memory_gib = 0.05;  // 51 MiB per device: bert-tiny fits, bert-small (110 MB fp32) does not
  c.models = {{"good", 1, 2, "bert-tiny", ""},
              {"broken", 1, 2, "bert-tiny", dir.file("bad.safetensors")},
              {"huge", 1, 1, "bert-small", ""},
              {"neighbour", 1, 1, "bert-tiny", ""}};
  const int port = write_cluster(dir, c);
  testing::node_processes nodes(dir.file("cluster.toml"), node_names(2), dir.file("placement.json"),
                                dir);
  auto client = connect(port);
  INFO(nodes.logs());
  REQUIRE_NOTHROW(client.wait_ready(90));
  const kernels::tensor input = token_ids(1, 16);
  const std::string payload = net::encode_f32(input.shape, input.ptr());

  auto broken = client.submit("broken", payload);
  CHECK(broken.reply.status == net::reply_status::failed_model_unavailable);
  CHECK_THAT(broken.reply.message, Catch::Contains("missing tensor 'layers.1.attn.qkv.weight'"));
  CHECK_THAT(broken.reply.message, Catch::Contains("bad.safetensors"));
  CHECK_THAT(broken.reply.message, Catch::Contains("layers [0, 2)"));  // the shard that failed

  auto huge = client.submit("huge", payload);
  CHECK(huge.reply.status == net::reply_status::failed_model_unavailable);
  CHECK_THAT(huge.reply.message, Catch::Contains("budget"));

  const kernels::tensor ref = single_device_reference(input);
  for (const char* name : {"good", "neighbour"}) {
    auto r = client.submit(name, payload);
    INFO(name << ": " << r.reply.message);
    REQUIRE(r.reply.status == net::reply_status::ok);
    CHECK(relative_error(actors::tensor_from_wire(r.reply.result), ref) < 1e-4);
  }
}
