// MoE gating: softmax over experts, top-k per token, renormalized weights, stable ties.

#include <catch2/catch.hpp>
#include <cmath>

#include "kernels/cpu/moe_layer.hpp"

using namespace alpaserve::kernels::cpu;

TEST_CASE("route_tokens picks the top-k experts with renormalized softmax weights",
          "[kernels][moe]") {
  // 3 tokens x 4 experts
  const std::vector<float> logits = {0.1f,  2.0f,  -1.0f, 1.5f,  //
                                     3.0f,  3.0f,  0.0f,  0.0f,  // tie: lower index first
                                     -5.0f, -4.0f, -3.0f, 9.0f};
  const moe_routing r = route_tokens(logits.data(), 3, 4, 2);
  REQUIRE(r.expert == std::vector<int>{1, 3, 0, 1, 3, 2});
  // weights = softmax restricted to the chosen experts
  for (int t = 0; t < 3; ++t) {
    const float a = logits[t * 4 + r.expert[t * 2]], b = logits[t * 4 + r.expert[t * 2 + 1]];
    const double wa = 1.0 / (1.0 + std::exp(static_cast<double>(b) - a));
    CHECK(r.weight[t * 2] == Approx(wa).epsilon(1e-5));
    CHECK(r.weight[t * 2] + r.weight[t * 2 + 1] == Approx(1.0).epsilon(1e-6));
    CHECK(r.weight[t * 2] >= r.weight[t * 2 + 1]);
  }
  CHECK(r.weight[2] == Approx(0.5));
}

TEST_CASE("top-1 routing gives weight 1 to the argmax", "[kernels][moe]") {
  const std::vector<float> logits = {0.0f, -1.0f, 4.0f, 0.5f, 7.0f, 2.0f};
  const moe_routing r = route_tokens(logits.data(), 2, 3, 1);
  CHECK(r.expert == std::vector<int>{2, 1});
  CHECK(r.weight == std::vector<float>{1.0f, 1.0f});
  CHECK_THROWS_AS(route_tokens(logits.data(), 2, 3, 4), std::invalid_argument);
}

#include <algorithm>

#include "kernels/weights.hpp"
#include "test_models.hpp"

using namespace alpaserve::kernels;

TEST_CASE("moe_block equals a naive per-token mixture of expert FFNs", "[kernels][moe]") {
  const model_spec m = testing::small_moe();
  const int layer = 1;  // expert_every 2 -> layer 1 is an MoE layer
  REQUIRE(m.is_moe_layer(layer));
  const shard_spec shard = make_shard(m, layer, layer + 1);
  seeded_weights source(m.seed);
  const weight_map wm = load_shard_weights(shard, source);
  const layer_weights w = bind_layer(shard, layer, wm);
  const int tokens = 6, h = m.hidden, f = m.ffn_dim(), e_count = m.num_experts;
  std::vector<float> x(tokens * h);
  for (int i = 0; i < tokens * h; ++i) x[i] = std::sin(0.37f * i);
  std::vector<float> got = x;
  layer_workspace ws;
  moe_block(w, got.data(), tokens, ws, {});

  auto at = [&](const std::string& n) { return wm.at("layers.1." + n).data; };
  const auto gate = at("moe.gate.weight");
  std::vector<int> used(e_count, 0);
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x.data() + t * h;
    std::vector<double> p(e_count);
    for (int e = 0; e < e_count; ++e) {
      double s = 0;
      for (int j = 0; j < h; ++j) s += static_cast<double>(gate[e * h + j]) * xt[j];
      p[e] = s;
    }
    const double mx = *std::max_element(p.begin(), p.end());
    for (auto& v : p) v = std::exp(v - mx);
    std::vector<int> order(e_count);
    for (int e = 0; e < e_count; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    const double norm = p[order[0]] + p[order[1]];
    std::vector<double> v(xt, xt + h);
    for (int s = 0; s < 2; ++s) {
      const int e = order[s];
      ++used[e];
      const std::string q = "moe.experts." + std::to_string(e) + ".";
      const auto w1 = at(q + "fc1.weight"), b1 = at(q + "fc1.bias"), w2 = at(q + "fc2.weight"),
                 b2 = at(q + "fc2.bias");
      std::vector<double> hid(f);
      for (int i = 0; i < f; ++i) {
        double a = b1[i];
        for (int j = 0; j < h; ++j) a += static_cast<double>(w1[i * h + j]) * xt[j];
        hid[i] = 0.5 * a * (1.0 + std::tanh(0.7978845608028654 * (a + 0.044715 * a * a * a)));
      }
      for (int j = 0; j < h; ++j) {
        double y = b2[j];
        for (int i = 0; i < f; ++i) y += w2[j * f + i] * hid[i];
        v[j] += p[e] / norm * y;
      }
    }
    double mean = 0, var = 0;
    for (double a : v) mean += a / h;
    for (double a : v) var += (a - mean) * (a - mean) / h;
    const auto g = at("norm2.weight"), b = at("norm2.bias");
    for (int j = 0; j < h; ++j) {
      const double ref = (v[j] - mean) / std::sqrt(var + 1e-5) * g[j] + b[j];
      REQUIRE(std::fabs(got[t * h + j] - ref) < 1e-4);
    }
  }
  // The routing is not degenerate: more than two experts see tokens.
  CHECK(std::count_if(used.begin(), used.end(), [](int c) { return c > 0; }) > 2);
}
