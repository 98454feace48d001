// device presets, the model zoo and the analytic layer cost model.

#include <catch2/catch.hpp>

#include "planner/core/input_error.hpp"
#include "planner/profile/layer_costs.hpp"
#include "planner/profile/zoo_profiles.hpp"

using namespace alpaserve::planner;

TEST_CASE("device_preset knows v100, a100 and h100 and lists them for unknown names") {
  REQUIRE(device_preset_names() == std::vector<std::string>{"v100", "a100", "h100"});
  REQUIRE(device_preset("a100").peak_flops > device_preset("v100").peak_flops);
  REQUIRE(device_preset("h100").memory_bandwidth > device_preset("a100").memory_bandwidth);
  try {
    (void)device_preset("tpu");
    FAIL("no exception");
  } catch (const input_error& e) {
    REQUIRE(std::string(e.what()).find("tpu") != std::string::npos);
    REQUIRE(std::string(e.what()).find("v100, a100, h100") != std::string::npos);
  }
}

TEST_CASE("the zoo holds the paper's models and two CPU-sized ones with their shapes") {
  REQUIRE(zoo_model_names().size() == 9);
  REQUIRE(find_zoo_model("nope") == nullptr);
  const auto* b = find_zoo_model("bert-103.5b");
  REQUIRE(b != nullptr);
  REQUIRE((b->seq_len == 1024 && b->hidden == 8192 && b->layers == 128 && b->heads == 64));
  REQUIRE(parameter_count(*b) == Approx(103.5e9).epsilon(0.01));
  const auto* m = find_zoo_model("moe-2.4b");
  REQUIRE(m->type == model_architecture::kind::moe);
  REQUIRE(m->is_moe_layer(1));
  REQUIRE_FALSE(m->is_moe_layer(0));
  // An MoE layer holds num_experts FFNs.
  REQUIRE(layer_parameters(*m, 1) > 10 * layer_parameters(*m, 0));
  const auto* tiny = find_zoo_model("bert-tiny");
  REQUIRE((tiny->hidden == 256 && tiny->layers == 4 && tiny->heads == 4 && tiny->seq_len == 64 &&
           tiny->vocab == 1024));
}

TEST_CASE("GEMM efficiency grows with size and drops for dimensions below a tile") {
  const auto& d = device_preset("v100");
  REQUIRE(gemm_efficiency(d, 4096, 4096, 4096) > gemm_efficiency(d, 512, 512, 512));
  REQUIRE(gemm_efficiency(d, 4096, 4096, 4096) < d.kernel_efficiency);
  REQUIRE(gemm_efficiency(d, 4096, 64, 4096) ==
          Approx(gemm_efficiency(d, 4096, 128, 4096) * 0.5).epsilon(0.2));
  // A huge GEMM approaches kernel_efficiency * peak.
  const double t = gemm_time(d, 16384, 16384, 16384);
  REQUIRE(2.0 * 16384 * 16384 * 16384 / t ==
          Approx(d.peak_flops * d.kernel_efficiency).epsilon(0.02));
  // A matrix-vector product is memory bound.
  REQUIRE(gemm_time(d, 1, 8192, 8192) ==
          Approx(2.0 * 8192 * 8192 / d.memory_bandwidth + d.kernel_launch).epsilon(0.01));
}

TEST_CASE("ring all-reduce cost follows 2(op-1)/op * bytes / bandwidth + latency") {
  const auto& d = device_preset("v100");
  REQUIRE(all_reduce_time(d, 1e9, 1) == 0);
  REQUIRE(all_reduce_time(d, 1e9, 4) ==
          Approx(1.5e9 / d.interconnect_bandwidth + 6 * d.collective_latency));
}

TEST_CASE("op-way tensor parallelism divides weights and compute and adds two all-reduces") {
  const auto& d = device_preset("v100");
  const auto& a = *find_zoo_model("bert-6.7b");
  const auto one = layer_costs(a, d, 1, 1);
  const auto four = layer_costs(a, d, 1, 4);
  REQUIRE(one.layers.size() == 32);
  REQUIRE(four.layers[0].weight_bytes == Approx(one.layers[0].weight_bytes / 4).epsilon(0.001));
  REQUIRE(four.layers[0].flops == Approx(one.layers[0].flops / 4));
  // Faster, but not 4x: smaller GEMMs and the collectives.
  REQUIRE(four.layers[0].latency < one.layers[0].latency / 2);
  REQUIRE(four.layers[0].latency > one.layers[0].latency / 4);
  const double collectives = 2 * all_reduce_time(d, 2048.0 * 4096 * 2, 4);
  REQUIRE(four.layers[0].latency > one.layers[0].latency / 4 + collectives * 0.99);
  // Larger batches cost more but less than proportionally at batch 1 -> 2 for small models.
  const auto& t = *find_zoo_model("bert-tiny");
  const auto b1 = layer_costs(t, d, 1, 1), b8 = layer_costs(t, d, 8, 1);
  REQUIRE(b8.layers[0].latency > b1.layers[0].latency);
  REQUIRE(b8.layers[0].latency < 8 * b1.layers[0].latency);
  REQUIRE(b8.layers[0].activation_bytes > b1.layers[0].activation_bytes);
}

TEST_CASE("layer_costs rejects batch sizes and op degrees it cannot model") {
  const auto& d = device_preset("v100");
  const auto& t = *find_zoo_model("bert-tiny");  // 4 heads
  REQUIRE_THROWS_AS(layer_costs(t, d, 0, 1), std::invalid_argument);
  REQUIRE_THROWS_AS(layer_costs(t, d, 1, 8), std::invalid_argument);
  REQUIRE_THROWS_AS(layer_costs(t, d, 1, 3), std::invalid_argument);
  REQUIRE_FALSE(op_degree_supported(*find_zoo_model("moe-2.4b"), 32));  // 16 experts
}

TEST_CASE("zoo_profile lists every allowed config and batch size, consistent with its parts") {
  const auto& d = device_preset("a100");
  const auto& t = *find_zoo_model("bert-tiny");
  const model_profile p = zoo_profile(t, d);
  REQUIRE(p.name == "bert-tiny");
  // op in {1,2,4} (4 heads), pp in {1,2,4} (4 layers).
  REQUIRE(p.configs.size() == 9);
  REQUIRE(p.find({1, 8, 1}) == nullptr);
  REQUIRE(p.find({1, 1, 8}) == nullptr);
  for (const auto& [pc, cp] : p.configs) {
    REQUIRE(cp.num_stages() == pc.pp);
    REQUIRE(cp.latency.size() == 5);
    for (const auto& [bs, lat] : cp.latency) {
      REQUIRE(lat.size() == static_cast<size_t>(pc.pp));
      REQUIRE(cp.act_mem.at(bs).size() == static_cast<size_t>(pc.pp));
    }
  }
  // Stage weights add up to the op-sharded model: each device of (1,1,2) holds part of it.
  const double total = 2 * parameter_count(t);
  const auto& two = p.find({1, 1, 2})->weight_mem;
  REQUIRE(two[0] + two[1] == Approx(total));
  REQUIRE(p.weight_per_device({1, 1, 1}) == Approx(total));
  REQUIRE(p.weight_per_device({1, 4, 1}) < total / 2);
  // No calibration on a100: the profile is the raw cost model.
  REQUIRE(calibrated_compute_scale(t, d) == 1.0);
  // Batch 16 is slower than batch 1 on every config.
  for (const auto& [pc, cp] : p.configs) REQUIRE(cp.stage_latency(16)[0] > cp.stage_latency(1)[0]);
}

TEST_CASE("faster devices give faster profiles, and zoo_profile_db rejects unknown names") {
  const auto& arch = *find_zoo_model("bert-2.6b");
  const double v100 =
      zoo_profile(arch, device_preset("v100"), {1}, {1}, {1}).single_device_latency();
  const double a100 =
      zoo_profile(arch, device_preset("a100"), {1}, {1}, {1}).single_device_latency();
  const double h100 =
      zoo_profile(arch, device_preset("h100"), {1}, {1}, {1}).single_device_latency();
  REQUIRE(a100 < v100);
  REQUIRE(h100 < a100);
  REQUIRE_THROWS_AS(zoo_profile_db(device_preset("v100"), {"bert-1.3b", "gpt-9"}), input_error);
}
