// The backend interface: factory, memory-budget rejection, emulated timings, weight slicing,
// input checks, tensor bytes.

#include <catch2/catch.hpp>

#include "kernels/cuda_device.hpp"
#include "kernels/device_backend.hpp"
#include "kernels/weights.hpp"
#include "test_models.hpp"

using namespace alpaserve::kernels;
using namespace alpaserve::kernels::testing;

TEST_CASE("make_backend knows cpu, emulated and (in CUDA builds) cuda", "[kernels][backend]") {
  CHECK(make_backend("cpu")->kind() == "cpu");
  CHECK_FALSE(make_backend("cpu")->is_emulated());
  CHECK(make_backend("emulated")->kind() == "emulated");
  CHECK(make_backend("emulated")->is_emulated());
  CHECK_THROWS_WITH(make_backend("tpu"), Catch::Contains("unknown backend 'tpu'"));
#ifdef ALPASERVE_HAVE_CUDA
  CHECK(make_backend("cuda")->kind() == "cuda");
#else
  CHECK_THROWS_WITH(make_backend("cuda"), Catch::Contains("no CUDA"));
  CHECK(cuda_device_count() == 0);
#endif
  CHECK(cuda_device_count() >= 0);
}

TEST_CASE("a shard that does not fit its memory budget is rejected at load", "[kernels][backend]") {
  const model_spec m = small_bert();
  const shard_spec shard = make_shard(m, 0, 2);
  const size_t weights = shard_parameter_count(shard) * 4;
  load_options opts;
  opts.memory_budget_bytes = weights / 2;
  auto cpu = make_backend("cpu");
  CHECK_THROWS_WITH(
      cpu->load(shard, opts),
      Catch::Contains("model 'tiny-bert' stage layers [0, 2)") && Catch::Contains("budget is"));
  CHECK_FALSE(cpu->loaded());
  opts.memory_budget_bytes = weights + activation_bytes(shard, 1, 4);
  REQUIRE_NOTHROW(cpu->load(shard, opts));
  CHECK(cpu->weight_bytes() == weights);
  // a larger max_batch needs more activation memory than the same budget allows
  opts.max_batch = 64;
  CHECK_THROWS(cpu->load(shard, opts));
  // the emulated backend applies the same rule at 2 bytes/parameter
  load_options em;
  em.stage_latency_s = {0.01};
  em.memory_budget_bytes = weights / 4;
  CHECK_THROWS_WITH(make_backend("emulated")->load(shard, em), Catch::Contains("emulated device"));
}

TEST_CASE("the emulated backend reports profiled latencies and holds nothing",
          "[kernels][backend]") {
  const model_spec m = small_bert();
  auto b = make_backend("emulated");
  load_options opts;
  CHECK_THROWS_WITH(b->load(make_shard(m, 0, 4), opts), Catch::Contains("stage latencies"));
  opts.stage_latency_s = {0.010, 0.016, 0.025};
  b->load(make_shard(m, 0, 4), opts);
  CHECK(b->emulated_stage_seconds(1) == 0.010);
  CHECK(b->emulated_stage_seconds(3) == 0.025);
  CHECK(b->emulated_stage_seconds(5) == Approx(0.025 + 2 * 0.009));  // extrapolated
  CHECK_THROWS(b->emulated_stage_seconds(0));
  CHECK(b->weight_bytes() == shard_parameter_count(make_shard(m, 0, 4)) * 2);
  const tensor out = b->run(token_ids(3, 8, m.vocab), {});
  CHECK(out.shape == std::vector<int64_t>{3, 1});
  opts.emulated_weight_bytes = 12345;
  b->load(make_shard(m, 0, 4), opts);
  CHECK(b->weight_bytes() == 12345);
  // real backends refuse the emulated query
  CHECK_THROWS_AS(make_backend("cpu")->emulated_stage_seconds(1), std::logic_error);
}

TEST_CASE("seeded weights: a shard's slice equals the slice of the full tensor",
          "[kernels][weights]") {
  const model_spec m = small_moe();
  seeded_weights source(m.seed);
  const auto full = model_weight_descs(m);
  const auto sharded = shard_weight_descs(make_shard(m, 1, 2, 1, 2));
  int checked = 0;
  for (const auto& d : sharded) {
    for (const auto& f : full)
      if (f.name == d.name) {
        const tensor whole = source.fetch(f);
        const tensor part = source.fetch(d);
        REQUIRE(part.data == slice_tensor(whole, d).data);
        ++checked;
      }
  }
  CHECK(checked == static_cast<int>(sharded.size()));
  // qkv of op rank 1/2 holds rows [32,64) of q, k and v: 96 rows of the 192
  const auto qkv = std::find_if(sharded.begin(), sharded.end(), [](const weight_desc& d) {
    return d.name == "layers.1.attn.qkv.weight";
  });
  REQUIRE(qkv != sharded.end());
  CHECK(qkv->local_shape() == std::vector<int64_t>{96, 64});
  // different seeds and names give different values; scale keeps activations O(1)
  const tensor a = seeded_weights(1).fetch(full[4]);
  const tensor b = seeded_weights(2).fetch(full[4]);
  CHECK(a.data != b.data);
  double sq = 0;
  for (float v : a.data) sq += v * v;
  CHECK(sq / a.numel() == Approx(1.0 / 64).epsilon(0.1));  // linear: var 1/fan_in
}

TEST_CASE("bad inputs are rejected with the expected shape", "[kernels][backend]") {
  const model_spec m = small_bert();
  auto b = make_backend("cpu");
  CHECK_THROWS_AS(b->run(token_ids(1, 4, m.vocab), {}), std::logic_error);  // not loaded
  b->load(make_shard(m, 0, 1), {});
  CHECK_THROWS_WITH(b->run(tensor({1, 17}), {}), Catch::Contains("seq <= 16"));
  tensor ids = token_ids(1, 4, m.vocab);
  ids.data[2] = 97.0f;
  CHECK_THROWS_WITH(b->run(ids, {}), Catch::Contains("not an integer in [0, 97)"));
  ids.data[2] = 1.5f;
  CHECK_THROWS(b->run(ids, {}));
  shard_spec bad = make_shard(m, 0, 1, 0, 3);  // 3 does not divide 4 heads
  CHECK_THROWS_WITH(b->load(bad, {}), Catch::Contains("must divide heads"));
}

TEST_CASE("tensor bytes round trip and reject inconsistent sizes", "[kernels][tensor]") {
  const tensor t({2, 3}, {1, 2, 3, 4, 5, -6.5f});
  const auto raw = tensor_data_bytes(t);
  CHECK(raw.size() == 24);
  CHECK(tensor_from_data_bytes({3, 2}, raw.data(), raw.size()).data == t.data);
  CHECK_THROWS(tensor_from_data_bytes({4, 2}, raw.data(), raw.size()));
  const auto framed = serialize_tensor(t);
  const tensor back = deserialize_tensor(framed.data(), framed.size());
  CHECK(back.shape == t.shape);
  CHECK(back.data == t.data);
  CHECK_THROWS(deserialize_tensor(framed.data(), framed.size() - 1));
  CHECK_THROWS(deserialize_tensor(framed.data(), 3));
  CHECK_THROWS(tensor({2, 2}, std::vector<float>{1, 2, 3}));
}
