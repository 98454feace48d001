// safetensors: round trips, F16/BF16 conversion, and clear errors for bad files at load time.

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kernels/device_backend.hpp"
#include "kernels/local_pipeline.hpp"
#include "kernels/safetensors.hpp"
#include "test_models.hpp"

using namespace alpaserve::kernels;
using namespace alpaserve::kernels::testing;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("alpaserve_kernels_" + name)).string();
}

}  // namespace

TEST_CASE("safetensors round trip of F32, F16 and BF16 tensors", "[kernels][safetensors]") {
  weight_map w;
  w["a"] = tensor({2, 3}, {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, -65504.0f});
  w["b.c"] = tensor({4}, {0.1f, 0.2f, 0.3f, 7.0f});
  const std::string path = temp_path("roundtrip.safetensors");
  write_safetensors(path, w, safetensors_dtype::f32, {{"k", "v"}});
  safetensors_file f32(path);
  CHECK(f32.metadata().at("k") == "v");
  CHECK(f32.entries().at("a").dtype == "F32");
  CHECK(f32.read("a").data == w["a"].data);
  CHECK(f32.read("b.c").shape == std::vector<int64_t>{4});
  for (auto dt : {safetensors_dtype::f16, safetensors_dtype::bf16}) {
    write_safetensors(path, w, dt);
    safetensors_file f(path);
    const tensor a = f.read("a");
    const double tol = dt == safetensors_dtype::f16 ? 1e-3 : 8e-3;  // 11 vs 8 mantissa bits
    for (size_t i = 0; i < a.numel(); ++i)
      CHECK(a.data[i] == Approx(w["a"].data[i]).epsilon(tol).margin(1e-6));
  }
  std::remove(path.c_str());
}

TEST_CASE("half and bfloat16 conversions are exact where representable", "[kernels][safetensors]") {
  for (float v : {0.0f, 1.0f, -2.0f, 0.5f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f})
    CHECK(half_to_float(float_to_half(v)) == v);
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(1e6f) == 0x7c00);                // overflow -> inf
  CHECK(float_to_half(1.0f + 1.0f / 2048) == 0x3c00);  // exact tie: to even
  CHECK(float_to_half(1.0f + 3.0f / 2048) == 0x3c02);  // exact tie: to even (up)
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(bf16_to_float(float_to_bf16(-3.5f)) == -3.5f);
}

TEST_CASE("a model loaded from a safetensors file equals the seeded model",
          "[kernels][safetensors]") {
  const model_spec m = small_moe();
  const std::string path = temp_path("moe.safetensors");
  write_seeded_model(path, m);
  load_options from_file;
  from_file.weights_path = path;
  const tensor input = token_ids(2, 8, m.vocab);
  const tensor seeded = local_pipeline(m, {0, m.layers}, 1, "cpu").run(input);
  const tensor loaded = local_pipeline(m, {0, 2, 4}, 2, "cpu", from_file).run(input);
  CHECK(relative_error(loaded, seeded) < 1e-4);
  std::remove(path.c_str());
}

TEST_CASE("bad safetensors files give clear errors at load time", "[kernels][safetensors]") {
  const model_spec m = small_bert();
  const std::string path = temp_path("bad.safetensors");
  seeded_weights source(m.seed);
  weight_map all;
  for (const auto& d : model_weight_descs(m)) all.emplace(d.name, source.fetch(d));
  load_options opts;
  opts.weights_path = path;
  auto backend = make_backend("cpu");

  SECTION("missing tensor") {
    weight_map w = all;
    w.erase("layers.2.attn.qkv.weight");
    write_safetensors(path, w);
    CHECK_THROWS_WITH(backend->load(make_shard(m, 2, 4), opts),
                      Catch::Contains(path) && Catch::Contains("missing tensor") &&
                          Catch::Contains("layers.2.attn.qkv.weight") &&
                          Catch::Contains("[192, 64]"));
    CHECK_FALSE(backend->loaded());
    // a shard that does not need the tensor still loads
    CHECK_NOTHROW(backend->load(make_shard(m, 0, 2), opts));
  }
  SECTION("mis-shaped tensor") {
    weight_map w = all;
    w["layers.0.ffn.fc1.weight"] = tensor({64, 128});
    write_safetensors(path, w);
    CHECK_THROWS_WITH(backend->load(make_shard(m, 0, 1), opts),
                      Catch::Contains(path) && Catch::Contains("layers.0.ffn.fc1.weight") &&
                          Catch::Contains("has shape [64, 128], expected [128, 64]"));
  }
  SECTION("truncated file") {
    write_safetensors(path, all);
    const auto size = fs::file_size(path);
    fs::resize_file(path, size - 100);
    CHECK_THROWS_WITH(backend->load(make_shard(m, 0, 1), opts),
                      Catch::Contains(path) && Catch::Contains("truncated"));
    fs::resize_file(path, 20);  // shorter than the header
    CHECK_THROWS_WITH(safetensors_file(path), Catch::Contains("truncated"));
  }
  SECTION("not a safetensors file") {
    std::ofstream(path) << "hello, this is not a safetensors file at all";
    CHECK_THROWS_WITH(safetensors_file(path), Catch::Contains(path));
  }
  SECTION("no such file") {
    opts.weights_path = temp_path("does_not_exist.safetensors");
    CHECK_THROWS_WITH(backend->load(make_shard(m, 0, 1), opts), Catch::Contains("cannot open"));
  }
  std::remove(path.c_str());
}
