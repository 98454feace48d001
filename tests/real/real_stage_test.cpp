// Gloo all-reduce groups, real stage shards (load failures, wire tensors) and the profiler,
// in one process (no CAF).

#include <catch2/catch.hpp>

#include <thread>

#include "actors/batch_tensor.hpp"
#include "actors/real_profiler.hpp"
#include "actors/real_stage.hpp"
#include "kernels/cuda_device.hpp"
#include "kernels/device_backend.hpp"
#include "kernels/weights.hpp"
#include "net/gloo_group.hpp"
#include "net/tensor_wire.hpp"
#include "planner/profile/profile_io.hpp"

using namespace alpaserve;

TEST_CASE("gloo_group sums over ranks on threads through a rendezvous store") {
  const int n = 3;
  const auto store = net::make_local_store();
  std::vector<std::vector<float>> data(n);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(n);
  for (int r = 0; r < n; ++r) {
    data[r] = {1.0f * (r + 1), 10.0f * (r + 1), -2.0f};
    threads.emplace_back([&, r] {
      try {
        net::gloo_group g(r, n, "127.0.0.1", store, "test/sum");
        g.allreduce(data[r].data(), data[r].size());
        g.allreduce(data[r].data(), 1);  // a second call pairs up too
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    INFO(errors[r]);
    REQUIRE(errors[r].empty());
    CHECK(data[r] == std::vector<float>{18.0f, 60.0f, -6.0f});  // first: 6*3; then 6, 60, -6
  }
}

TEST_CASE("gloo_group reports a rank that never joins") {
  const auto store = net::make_local_store();
  CHECK_THROWS_WITH(
      net::gloo_group(0, 2, "127.0.0.1", store, "lonely", std::chrono::milliseconds(300)),
      Catch::Contains("lonely") && Catch::Contains("rank 0/2"));
}

TEST_CASE("real_stage: a shard that fails to load is reported, the others serve") {
  actors::real_stage_plan plan;
  plan.label = "group 3 stage 0";
  const auto tiny = actors::real_model_spec("bert-tiny", 1, "tiny");
  plan.shards.push_back({"tiny", tiny, 0, 2, ""});
  plan.shards.push_back({"missing-file", tiny, 0, 2, "/nonexistent/w.safetensors"});
  actors::real_stage stage;
  const auto failed = stage.load(plan, nullptr);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].model == "missing-file");
  CHECK_THAT(failed[0].error, Catch::Contains("group 3 stage 0: shard of model 'missing-file' "
                                              "layers [0, 2) op rank 0/1") &&
                                  Catch::Contains("/nonexistent/w.safetensors"));
  CHECK(stage.holds("tiny"));
  CHECK_FALSE(stage.holds("missing-file"));

  kernels::tensor ids({1, 8}, {1, 5, 9, 2, 7, 3, 3, 0});
  auto out = stage.run("tiny", net::encode_f32(ids.shape, ids.ptr()));
  REQUIRE(out.error.empty());
  const kernels::tensor hidden = actors::tensor_from_wire(out.payload);
  CHECK(hidden.shape == std::vector<int64_t>{1, 8, 256});
  // Exactly what the backend computes for that shard (the wire adds no rounding).
  auto direct = kernels::make_backend("cpu");
  direct->load(kernels::make_shard(tiny, 0, 2), {});
  CHECK(direct->run(ids, {}).data == hidden.data);
  auto bad = stage.run("tiny", net::encode_f32({1, 2}, std::vector<float>{0.5f, 1.0f}.data()));
  CHECK_THAT(bad.error, Catch::Contains("bad input"));
  CHECK_THAT(stage.run("nobody", "x").error, Catch::Contains("holds no shard of model 'nobody'"));
}

TEST_CASE("choose_allreduce: NCCL only for cuda stages with one device per rank") {
  actors::real_stage_plan plan;
  CHECK(actors::choose_allreduce(plan) == "none");  // op 1
  plan.op_size = 2;
  plan.stage_devices = {0, 1};
  CHECK(actors::choose_allreduce(plan) == "gloo");  // cpu
  plan.backend = "cuda";
  CHECK(actors::choose_allreduce(plan) == (actors::nccl_built() ? "nccl" : "gloo"));
  plan.stage_devices = {0, 0};  // NCCL cannot hold two ranks on one GPU
  CHECK(actors::choose_allreduce(plan) == "gloo");
  plan.stage_devices = {0};  // devices unknown for a rank
  CHECK(actors::choose_allreduce(plan) == "gloo");
}

TEST_CASE("real_stage: a cuda op 2 stage without a usable GPU fails every shard at its group") {
  // Only meaningful where NCCL is built in and there is no GPU (this build machine): the NCCL
  // branch of load runs and must fail cleanly. Elsewhere rank 0 alone would wait for rank 1.
  if (!actors::nccl_built() || kernels::cuda_device_count() > 0) return;
  actors::real_stage_plan plan;
  plan.backend = "cuda";
  plan.label = "group 4 stage 0";
  plan.op_size = 2;
  plan.stage_devices = {0, 1};
  plan.gloo_prefix = "test/cuda-op2";
  const auto tiny = actors::real_model_spec("bert-tiny", 1, "tiny");
  plan.shards.push_back({"tiny", tiny, 0, 2, ""});
  const auto store = net::make_local_store();
  actors::real_stage stage;
  const auto failed = stage.load(plan, &store);
  CHECK(stage.allreduce() == "nccl");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0].error, Catch::Contains("all-reduce group (nccl)") &&
                                  Catch::Contains("no CUDA device usable"));
  CHECK_FALSE(stage.holds("tiny"));
}

TEST_CASE("choose_activation_link: NCCL between distinct GPUs of cuda stages, else host bytes") {
  using actors::choose_activation_link;
  using actors::device_id;
  const device_id a{"node-0", 0};
  const std::vector<device_id> next{{"node-0", 1}, {"node-0", 2}};
  CHECK(choose_activation_link("cuda", true, a, next) == "nccl");
  CHECK(choose_activation_link("cuda", false, a, next) == "host");  // a build without NCCL
  CHECK(choose_activation_link("cpu", true, a, next) == "host");
  CHECK(choose_activation_link("emulated", true, a, next) == "host");
  // Device 0 of another node is another GPU.
  CHECK(choose_activation_link("cuda", true, a, {{"node-1", 0}}) == "nccl");
  // One GPU twice in a communicator is what NCCL cannot do.
  CHECK(choose_activation_link("cuda", true, a, {{"node-0", 0}}) == "host");
  CHECK(choose_activation_link("cuda", true, a, {{"node-0", 1}, {"node-0", 1}}) == "host");
  CHECK(choose_activation_link("cuda", true, a, {}) == "host");
}

TEST_CASE("real_stage: a device link on a cpu stage, or without a GPU, fails every shard") {
  const auto tiny = actors::real_model_spec("bert-tiny", 1, "tiny");
  const auto store = net::make_local_store();
  {
    actors::real_stage_plan plan;  // cpu
    plan.label = "group 5 stage 1";
    plan.recv_link_prefix = "test/link-cpu";
    plan.shards.push_back({"tiny", tiny, 2, 4, ""});
    actors::real_stage stage;
    const auto failed = stage.load(plan, &store);
    REQUIRE(failed.size() == 1);
    CHECK_THAT(failed[0].error, Catch::Contains("group 5 stage 1: shard of model 'tiny'") &&
                                    Catch::Contains("device link from the previous stage") &&
                                    Catch::Contains("for cuda stages"));
    CHECK_FALSE(stage.holds("tiny"));
  }
  if (kernels::cuda_device_count() == 0) {  // here the link's init must fail, not hang
    actors::real_stage_plan plan;
    plan.backend = "cuda";
    plan.label = "group 5 stage 0";
    plan.send_link_prefix = "test/link-cuda";
    plan.next_op_size = 1;
    plan.shards.push_back({"tiny", tiny, 0, 2, ""});
    actors::real_stage stage;
    const auto failed = stage.load(plan, &store);
    REQUIRE(failed.size() == 1);
    CHECK_THAT(failed[0].error,
               Catch::Contains("device link to the next stage") &&
                   (actors::nccl_built() ? Catch::Contains("no CUDA device usable")
                                         : Catch::Contains("this build has no NCCL")));
  }
}

TEST_CASE("real_stage: an input announced over a device link on a stage without one is an error") {
  actors::real_stage_plan plan;
  plan.label = "group 6 stage 1";
  const auto tiny = actors::real_model_spec("bert-tiny", 1, "tiny");
  plan.shards.push_back({"tiny", tiny, 2, 4, ""});
  actors::real_stage stage;
  REQUIRE(stage.load(plan, nullptr).empty());
  const auto out = stage.run("tiny", "", {1, 8, 256});
  CHECK_THAT(out.error, Catch::Contains("group 6 stage 1 model 'tiny'") &&
                            Catch::Contains("over a device link, but this stage has none"));
  CHECK(out.payload.empty());
  CHECK(out.device_shape.empty());
}

TEST_CASE("tensor_from_wire accepts integer token ids and rejects other dtypes") {
  net::wire_tensor w;
  w.dtype = "i32";
  w.shape = {1, 3};
  const int32_t ids[3] = {4, 0, 1023};
  w.data.assign(reinterpret_cast<const char*>(ids), sizeof ids);
  const auto t = actors::tensor_from_wire(net::encode_tensor(w));
  CHECK(t.data == std::vector<float>{4.0f, 0.0f, 1023.0f});
  w.dtype = "u8";
  w.data = "abc";
  CHECK_THROWS_WITH(actors::tensor_from_wire(net::encode_tensor(w)), Catch::Contains("u8"));
}

TEST_CASE("profiler: bert-tiny profile has every config, measured boundaries, and round-trips") {
  actors::real_profile_options o;
  o.batch_sizes = {1, 2};
  o.ops = {1, 2, 3};     // 3 does not divide 4 heads: skipped
  o.pps = {1, 2, 4, 8};  // 8 > 4 layers: skipped
  o.seq = 16;
  o.repeats = 1;
  o.warmup = 0;
  size_t last_total = 0;
  o.progress = [&](size_t, size_t total, const std::string&) { last_total = total; };
  const auto spec = actors::real_model_spec("bert-tiny", 0, "bert-tiny");
  const auto r = actors::profile_real_model(spec, o);
  CHECK(last_total == 2 * 2 * 4);  // ops x batches x layers
  CHECK(r.skipped.size() == 2);
  REQUIRE(r.profile.configs.size() == 6);
  for (const auto& [pc, cp] : r.profile.configs) {
    REQUIRE(cp.boundaries.size() == static_cast<size_t>(pc.pp + 1));
    CHECK(cp.boundaries.front() == 0);
    CHECK(cp.boundaries.back() == 4);
    for (int b : {1, 2}) {
      REQUIRE(cp.latency.at(b).size() == static_cast<size_t>(pc.pp));
      for (double t : cp.latency.at(b)) CHECK(t > 0);
    }
    double w = 0;
    for (double x : cp.weight_mem) w += x;
    // fp32 weights: the whole model once per rank set; op 2 halves the layer GEMM weights.
    if (pc.op == 1)
      CHECK(w == Approx(kernels::shard_parameter_count(kernels::whole_model(spec)) * 4.0));
    if (pc.op == 2) CHECK(w < kernels::shard_parameter_count(kernels::whole_model(spec)) * 4.0);
  }
  // One-layer stages are the measured layers themselves; longer stages are measured whole.
  const auto& four = r.profile.configs.at({1, 1, 4});
  const auto& layers = r.units.front();  // op 1, batch 1
  REQUIRE(layers.op == 1);
  REQUIRE(layers.batch == 1);
  CHECK(four.latency.at(1) == layers.latency_s);
  REQUIRE(layers.inputs.size() == 4);
  CHECK(layers.inputs[0].shape == std::vector<int64_t>{1, 16});       // token ids
  CHECK(layers.inputs[1].shape == std::vector<int64_t>{1, 16, 256});  // hidden states

  planner::profile_db db;
  db.add(r.profile);
  const auto back = planner::parse_profile_db(planner::profile_db_to_json(db), "mem.json");
  CHECK(back.find("bert-tiny")->configs.at({1, 2, 2}).boundaries ==
        r.profile.configs.at({1, 2, 2}).boundaries);
  CHECK_THROWS_WITH(planner::parse_profile_db(
                        R"({"models": [{"name": "x", "configs": [{"dp": 1, "op": 1, "pp": 2,
              "weight_mem": [1, 1], "latency": {"1": [1, 1]}, "boundaries": [0, 3, 3]}]}]})",
                        "b.json"),
                    Catch::Contains("boundaries[2]") && Catch::Contains("increase"));
}

TEST_CASE(
    "real_stage: a batch runs as one tensor, and each request's rows equal its batch-1 result") {
  const auto tiny = actors::real_model_spec("bert-tiny", 3, "tiny");
  // A two-stage pipeline of the whole model (embedding ... head), as the runtime runs it.
  actors::real_stage_plan p0, p1;
  p0.label = "group 0 stage 0";
  p1.label = "group 0 stage 1";
  p0.max_batch = p1.max_batch = 8;
  p0.shards.push_back({"tiny", tiny, 0, 2, ""});
  p1.shards.push_back({"tiny", tiny, 2, tiny.layers, ""});
  actors::real_stage s0, s1;
  REQUIRE(s0.load(p0, nullptr).empty());
  REQUIRE(s1.load(p1, nullptr).empty());
  auto pipeline = [&](const std::string& in) {
    auto h = s0.run("tiny", in);
    REQUIRE(h.error.empty());
    auto out = s1.run("tiny", h.payload);
    REQUIRE(out.error.empty());
    return out.payload;
  };
  const int b = 4;
  const int64_t seq = 16;
  std::vector<std::string> inputs, singles;
  for (int r = 0; r < b; ++r) {
    std::vector<float> ids(static_cast<size_t>(seq));
    for (int64_t i = 0; i < seq; ++i)
      ids[static_cast<size_t>(i)] = static_cast<float>((i * 7 + r * 13 + 1) % 500);
    inputs.push_back(net::encode_f32({1, seq}, ids.data()));
    singles.push_back(pipeline(inputs.back()));
  }
  std::string error;
  const std::string batch =
      actors::concat_batch({inputs[0], inputs[1], inputs[2], inputs[3]}, &error);
  REQUIRE(error.empty());
  CHECK(actors::tensor_from_wire(batch).shape == std::vector<int64_t>{b, seq});
  const auto pieces = actors::split_batch(pipeline(batch), {1, 1, 1, 1}, &error);
  REQUIRE(error.empty());
  REQUIRE(pieces.size() == static_cast<size_t>(b));
  // float32 tolerance: batching changes GEMM blocking, so sums may round differently.
  for (int r = 0; r < b; ++r) {
    const kernels::tensor got = actors::tensor_from_wire(pieces[static_cast<size_t>(r)]);
    const kernels::tensor want = actors::tensor_from_wire(singles[static_cast<size_t>(r)]);
    REQUIRE(got.shape == want.shape);
    float worst = 0, scale = 0;
    for (size_t i = 0; i < want.data.size(); ++i) {
      worst = std::max(worst, std::abs(got.data[i] - want.data[i]));
      scale = std::max(scale, std::abs(want.data[i]));
    }
    INFO("request " << r << " max abs diff " << worst << " of max " << scale);
    CHECK(worst <= 1e-4f * std::max(1.0f, scale));
  }
}
