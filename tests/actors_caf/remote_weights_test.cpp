// Weights over CAF (actors/remote_weights.hpp, actors/weights_donor.hpp) on a threaded actor
// system: a standalone node agent is the donor, a remote_weight_source on this (non-scheduler)
// thread fetches through blocking requests, in small chunks so that every large tensor needs
// several; values must equal a local read of the file bit for bit, tensor-parallel slices too.

#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/node_agent.hpp"
#include "actors/remote_weights.hpp"
#include "actors/weights_donor.hpp"
#include "kernels/device_backend.hpp"
#include "kernels/safetensors.hpp"
#include "kernels/weights.hpp"
#include "net/messages.hpp"
#include "net/tensor_wire.hpp"

using namespace alpaserve;
namespace fs = std::filesystem;

namespace {

struct threaded_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  threaded_system() {
    net::register_message_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

std::string temp_dir() {
  const fs::path d =
      fs::temp_directory_path() / ("alpaserve_remote_weights_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}

kernels::model_spec tiny_model() {
  kernels::model_spec m{"tiny", kernels::model_kind::bert, 64, 2, 4, 0, 100, 16};
  m.seed = 7;
  return m;
}

bool bit_equal(const kernels::tensor& a, const kernels::tensor& b) {
  return a.shape == b.shape && a.data.size() == b.data.size() &&
         std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

net::node_agent_actor spawn_donor(caf::actor_system& sys, const std::string& node,
                                  std::vector<std::string> files) {
  actors::node_agent_setup setup;
  setup.node = node;
  setup.num_devices = 1;
  setup.device_kind = "cpu";
  setup.weights_files = std::move(files);  // standalone: no controller
  return actors::spawn_node_agent(sys, std::move(setup));
}

}  // namespace

TEST_CASE("weights over CAF: chunked fetches equal a local read bit for bit, sliced per op rank") {
  threaded_system ts;
  const auto m = tiny_model();
  const std::string dir = temp_dir();
  const std::string path = dir + "/model.safetensors";
  kernels::write_seeded_model(path, m, kernels::safetensors_dtype::f16);  // read back as f32
  auto donor = spawn_donor(*ts.sys, "node-0", {path});

  const uint64_t chunk = 4096;
  for (int op : {1, 2}) {
    for (int rank = 0; rank < op; ++rank) {
      actors::remote_weight_source remote(
          path, {"node-0"}, actors::actor_weights_fetcher(ts.sys.get(), {donor}), chunk);
      kernels::safetensors_weights local(path);
      const auto shard = kernels::make_shard(m, 0, m.layers, rank, op);
      const auto descs = kernels::shard_weight_descs(shard);
      for (const auto& d : descs) {
        INFO(d.name << " op rank " << rank << "/" << op);
        const kernels::tensor got = remote.fetch(d);
        CHECK(got.shape == d.local_shape());
        CHECK(bit_equal(got, local.fetch(d)));
      }
      CHECK(remote.donor() == "node-0");
      CHECK(remote.tensors() == descs.size());
      // The token table alone ([100, 64] f32 = 25.6 KB) needs 7 chunks of 4 KiB.
      CHECK(remote.chunks() >= descs.size() + 6);
      CHECK(remote.bytes() > 100 * 64 * 4);
    }
  }

  // Through the cpu backend: a shard loaded from the remote source computes exactly what the
  // file-loaded one does.
  {
    auto shard = kernels::make_shard(m, 0, m.layers, 0, 1);
    kernels::load_options local_opts;
    local_opts.weights_path = path;
    kernels::load_options remote_opts;
    remote_opts.weights_path = dir + "/not-here.safetensors";  // ignored: `weights` is set
    remote_opts.weights = std::make_shared<actors::remote_weight_source>(
        path, std::vector<std::string>{"node-0"},
        actors::actor_weights_fetcher(ts.sys.get(), {donor}), chunk);
    auto a = kernels::make_backend("cpu");
    auto b = kernels::make_backend("cpu");
    a->load(shard, local_opts);
    b->load(shard, remote_opts);
    kernels::tensor ids({1, 8}, {1, 5, 9, 2, 7, 3, 3, 0});
    CHECK(bit_equal(a->run(ids, {}), b->run(ids, {})));
  }
  caf::anon_send_exit(donor, caf::exit_reason::user_shutdown);
}

TEST_CASE("weights over CAF: errors name the tensor, file and donor, and other files are refused") {
  threaded_system ts;
  const auto m = tiny_model();
  const std::string dir = temp_dir();
  const std::string path = dir + "/served.safetensors";
  const std::string other = dir + "/other.safetensors";
  kernels::write_seeded_model(path, m);
  kernels::write_seeded_model(other, m);
  auto donor = spawn_donor(*ts.sys, "node-0", {path});
  auto fetcher = actors::actor_weights_fetcher(ts.sys.get(), {donor});
  const auto descs = kernels::shard_weight_descs(kernels::make_shard(m, 0, m.layers));

  SECTION("a tensor the file lacks") {
    actors::remote_weight_source remote(path, {"node-0"}, fetcher, 4096);
    kernels::weight_desc d = descs.front();
    d.name = "layers.9.attn.qkv.weight";
    try {
      (void)remote.fetch(d);
      FAIL("no error");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("'layers.9.attn.qkv.weight'") != std::string::npos);
      CHECK(what.find("from node-0") != std::string::npos);
      CHECK(what.find(path) != std::string::npos);
      CHECK(what.find("missing tensor") != std::string::npos);
    }
  }
  SECTION("a shape other than the model's") {
    actors::remote_weight_source remote(path, {"node-0"}, fetcher, 4096);
    kernels::weight_desc d = descs.front();
    d.full_shape = {d.full_shape[0] + 1, d.full_shape[1]};
    CHECK_THROWS_WITH(remote.fetch(d), Catch::Contains("from node-0: tensor has shape") &&
                                           Catch::Contains("'" + d.name + "'"));
  }
  SECTION("a file that is not one of the cluster's weights files") {
    actors::remote_weight_source remote(other, {"node-0"}, fetcher, 4096);
    CHECK_THROWS_WITH(remote.fetch(descs.front()),
                      Catch::Contains("node-0 refuses '" + other + "'") &&
                          Catch::Contains("not a weights file of a model this cluster serves"));
  }
  SECTION("a file that is not a safetensors file, even through '..'") {
    actors::remote_weight_source remote("/etc/passwd", {"node-0"}, fetcher, 4096);
    CHECK_THROWS_WITH(remote.fetch(descs.front()), Catch::Contains("not a .safetensors file"));
    actors::remote_weight_source sneaky(
        dir + "/../" + fs::path(dir).filename().string() + "/other.safetensors", {"node-0"},
        fetcher, 4096);
    CHECK_THROWS_WITH(sneaky.fetch(descs.front()), Catch::Contains("refuses"));
    // The allowed file under another spelling of its path is served.
    actors::remote_weight_source same(
        dir + "/../" + fs::path(dir).filename().string() + "/served.safetensors", {"node-0"},
        fetcher, 4096);
    CHECK(bit_equal(same.fetch(descs.front()),
                    kernels::safetensors_weights(path).fetch(descs.front())));
  }
  SECTION("a donor that is gone: the next one answers") {
    auto gone = spawn_donor(*ts.sys, "node-1", {path});
    {
      caf::scoped_actor self{*ts.sys};
      self->monitor(gone);
      caf::anon_send_exit(gone, caf::exit_reason::kill);
      self->receive([](const caf::down_msg&) {});
    }
    actors::remote_weight_source remote(
        path, {"node-1", "node-0"}, actors::actor_weights_fetcher(ts.sys.get(), {gone, donor}, 5),
        4096);
    CHECK(bit_equal(remote.fetch(descs.front()),
                    kernels::safetensors_weights(path).fetch(descs.front())));
    CHECK(remote.donor() == "node-0");
    // Without any donor that answers, the error names each one.
    actors::remote_weight_source none(path, {"node-1"},
                                      actors::actor_weights_fetcher(ts.sys.get(), {gone}, 5), 4096);
    CHECK_THROWS_WITH(none.fetch(descs.front()), Catch::Contains("from node-1: no answer"));
  }
  caf::anon_send_exit(donor, caf::exit_reason::user_shutdown);
}

TEST_CASE("weights_donor_core: chunk limits, offsets, and the chunk size rule") {
  const auto m = tiny_model();
  const std::string dir = temp_dir();
  const std::string path = dir + "/core.safetensors";
  kernels::write_seeded_model(path, m);
  actors::weights_donor_core core("n0");
  core.allow(path);
  const std::string name = "embed.tokens.weight";
  auto first = core.serve(path, name, 0, 1 << 20, 1000);  // the donor's chunk size wins
  REQUIRE(first.error.empty());
  CHECK(first.bytes.size() == 1000);
  std::string all = first.bytes;
  while (all.size() < first.total_bytes) {
    auto p = core.serve(path, name, all.size(), 0, 1000);
    REQUIRE(p.error.empty());
    CHECK(p.total_bytes == first.total_bytes);
    all += p.bytes;
  }
  auto wire = net::decode_tensor(all);
  REQUIRE(wire);
  CHECK(wire->shape == std::vector<int64_t>{100, 64});
  CHECK(core.serve(path, name, first.total_bytes + 1, 0, 1000).error.find("beyond") !=
        std::string::npos);
  CHECK(actors::weights_chunk_bytes(80u << 20) == 4u << 20);
  CHECK(actors::weights_chunk_bytes(1u << 20) == 256u << 10);
  CHECK(actors::weights_chunk_bytes(0) == 4096);
  CHECK(actors::weights_file_readable(path));
  CHECK_FALSE(actors::weights_file_readable(dir + "/missing.safetensors"));
  CHECK_FALSE(actors::weights_file_readable(dir));
}
