// Single-thread CPU efficiency of one encoder layer (and one MoE layer) against plain OpenBLAS
// SGEMM on the same GEMM shapes, measured in the same run.
//
//   build/bin/bench_encoder_layer [--hidden 1024] [--seq 128] [--batch 1] [--reps 20]
//
// FLOPs counted: only the layer's GEMMs, 2*M*N*K each: QKV, the per-head Q K^T and P V,
// output projection, FFN fc1 and fc2 (MoE: gate + each expert's fc1/fc2 on the tokens routed
// to it). Softmax, GELU, layer norm, bias and residual adds count zero, so the ratio
//   layer GFLOP/s / SGEMM GFLOP/s = (time of the bare GEMMs) / (time of the whole layer)
// is the fraction of the layer's time spent at SGEMM speed. Target: >= 0.70.

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cpu/encoder_layer.hpp"
#include "kernels/cpu/layer_weights.hpp"
#include "kernels/cpu/moe_layer.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/weights.hpp"

using namespace alpaserve::kernels;

namespace {

struct gemm_shape {
  int m, n, k;
  bool trans_b;  // B given as [n, k] (nn.Linear weight) instead of [k, n]
  int count;     // how many times it runs per layer
};

// Medians of `layer` and `gemms`, timed alternately so that load from other processes on a
// shared machine hits both alike.
struct timing {
  double layer_s, gemm_s;
};

timing median_pair(int reps, const std::function<void()>& setup, const std::function<void()>& layer,
                   const std::function<void()>& gemms) {
  std::vector<double> a, b;
  for (int i = 0; i < reps + 3; ++i) {
    setup();
    const auto t0 = std::chrono::steady_clock::now();
    layer();
    const auto t1 = std::chrono::steady_clock::now();
    gemms();
    const auto t2 = std::chrono::steady_clock::now();
    if (i < 3) continue;  // warm-up
    a.push_back(std::chrono::duration<double>(t1 - t0).count());
    b.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return {a[a.size() / 2], b[b.size() / 2]};
}

double flops(const std::vector<gemm_shape>& shapes) {
  double f = 0;
  for (const auto& s : shapes) f += 2.0 * s.m * s.n * s.k * s.count;
  return f;
}

// Plain cblas_sgemm over the same shapes, on buffers of the same sizes.
class sgemm_runner {
 public:
  explicit sgemm_runner(std::vector<gemm_shape> shapes) : shapes_(std::move(shapes)) {
    for (const auto& s : shapes_) {
      a_.emplace_back(static_cast<size_t>(s.m) * s.k, 0.5f);
      b_.emplace_back(static_cast<size_t>(s.n) * s.k, 0.25f);
      c_.emplace_back(static_cast<size_t>(s.m) * s.n, 0.0f);
    }
  }
  void operator()() {
    for (size_t i = 0; i < shapes_.size(); ++i) {
      const auto& s = shapes_[i];
      for (int r = 0; r < s.count; ++r)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n,
                    s.k, 1.0f, a_[i].data(), s.k, b_[i].data(), s.trans_b ? s.k : s.n, 0.0f,
                    c_[i].data(), s.n);
    }
  }

 private:
  std::vector<gemm_shape> shapes_;
  std::vector<std::vector<float>> a_, b_, c_;
};

std::vector<gemm_shape> attention_shapes(int tokens, int batch, int seq, int hidden, int heads) {
  const int dh = hidden / heads;
  return {{tokens, 3 * hidden, hidden, true, 1},
          {seq, seq, dh, true, batch * heads},
          {seq, dh, seq, false, batch * heads},
          {tokens, hidden, hidden, true, 1}};
}

void report(const char* what, timing t, double f) {
  const double layer_s = t.layer_s, gemm_s = t.gemm_s;
  std::printf(
      "%-34s layer %8.3f ms %7.1f GFLOP/s | sgemm same shapes %8.3f ms %7.1f GFLOP/s | "
      "ratio %.3f\n",
      what, layer_s * 1e3, f / layer_s * 1e-9, gemm_s * 1e3, f / gemm_s * 1e-9, gemm_s / layer_s);
}

}  // namespace

int main(int argc, char** argv) {
  int hidden = 1024, seq = 128, batch = 1, reps = 20, experts = 8, top_k = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--hidden")
      hidden = v;
    else if (a == "--seq")
      seq = v;
    else if (a == "--batch")
      batch = v;
    else if (a == "--reps")
      reps = v;
    else if (a == "--experts")
      experts = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  openblas_set_num_threads(1);
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  std::printf(
      "single thread; OpenBLAS %s, OPENBLAS_CORETYPE=%s; hidden %d, heads %d, ffn %d, "
      "seq %d, batch %d, median of %d\n",
      openblas_get_config(), core ? core : "(unset)", hidden, hidden / 64, 4 * hidden, seq, batch,
      reps);

  model_spec m;
  m.name = "bench";
  m.hidden = hidden;
  m.heads = hidden / 64;
  m.layers = 2;
  m.vocab = 1000;
  m.seq_len = seq;
  m.seed = 7;
  m.kind = model_kind::moe;  // layer 0 dense, layer 1 MoE (expert_every 2)
  m.num_experts = experts;
  m.top_k = top_k;
  shard_spec shard = make_shard(m, 0, 2);
  shard.has_embedding = shard.has_head = false;
  seeded_weights source(m.seed);
  const weight_map weights = load_shard_weights(shard, source);
  const int tokens = batch * seq;
  std::vector<float> x0(static_cast<size_t>(tokens) * hidden), x;
  for (size_t i = 0; i < x0.size(); ++i) x0[i] = std::sin(0.01f * static_cast<float>(i));
  cpu::layer_workspace ws;

  // Dense encoder layer.
  const cpu::layer_weights dense = cpu::bind_layer(shard, 0, weights);
  std::vector<gemm_shape> dense_shapes = attention_shapes(tokens, batch, seq, hidden, m.heads);
  dense_shapes.push_back({tokens, 4 * hidden, hidden, true, 1});
  dense_shapes.push_back({tokens, hidden, 4 * hidden, true, 1});
  sgemm_runner dense_gemms(dense_shapes);
  const timing dense_t = median_pair(
      reps, [&] { x = x0; },
      [&] { cpu::encoder_layer_forward(dense, x.data(), batch, seq, ws, {}); },
      [&] { dense_gemms(); });
  report("encoder layer", dense_t, flops(dense_shapes));

  // MoE layer: routing of this input decides the expert GEMM shapes.
  const cpu::layer_weights moe = cpu::bind_layer(shard, 1, weights);
  x = x0;
  cpu::attention_block(moe, x.data(), batch, seq, ws, {});
  std::vector<float> logits(static_cast<size_t>(tokens) * experts);
  cpu::linear(x.data(), tokens, hidden, moe.gate_w, experts, nullptr, logits.data());
  const cpu::moe_routing route = cpu::route_tokens(logits.data(), tokens, experts, top_k);
  std::vector<gemm_shape> moe_shapes = attention_shapes(tokens, batch, seq, hidden, m.heads);
  moe_shapes.push_back({tokens, experts, hidden, true, 1});
  std::string counts;
  for (int e = 0; e < experts; ++e) {
    const int n = static_cast<int>(std::count(route.expert.begin(), route.expert.end(), e));
    counts += (e ? "," : "") + std::to_string(n);
    if (n == 0) continue;
    moe_shapes.push_back({n, 4 * hidden, hidden, true, 1});
    moe_shapes.push_back({n, hidden, 4 * hidden, true, 1});
  }
  sgemm_runner moe_gemms(moe_shapes);
  const timing moe_t = median_pair(
      reps, [&] { x = x0; }, [&] { cpu::encoder_layer_forward(moe, x.data(), batch, seq, ws, {}); },
      [&] { moe_gemms(); });
  char label[64];
  std::snprintf(label, sizeof label, "MoE layer (%d experts, top-%d)", experts, top_k);
  report(label, moe_t, flops(moe_shapes));
  std::printf("tokens per expert: %s\n", counts.c_str());
  return 0;
}
