#include "kernels/cpu/encoder_layer.hpp"

#include <cblas.h>

#include <cmath>
#include <stdexcept>

#include "kernels/cpu/moe_layer.hpp"
#include "kernels/cpu/ops.hpp"

namespace alpaserve::kernels::cpu {
namespace {

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void reduce_partial(const layer_weights& w, float* data, size_t count,
                    const allreduce_fn& allreduce) {
  if (w.op_size <= 1) return;
  if (!allreduce) throw std::invalid_argument("op_size > 1 needs an all-reduce function");
  allreduce(data, count);
}

}  // namespace

void attention_block(const layer_weights& w, float* x, int batch, int seq, layer_workspace& ws,
                     const allreduce_fn& allreduce) {
  const int64_t tokens = static_cast<int64_t>(batch) * seq;
  const int dh = w.head_dim;
  const int width = w.heads_local * dh;  // local q (= k = v) width
  const int ld = 3 * width;
  grow(ws.qkv, tokens * ld);
  grow(ws.scores, static_cast<size_t>(seq) * seq);
  grow(ws.ctx, tokens * width);
  grow(ws.proj, tokens * w.hidden);

  linear(x, tokens, w.hidden, w.qkv_w, ld, w.qkv_b, ws.qkv.data());
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int b = 0; b < batch; ++b) {
    const float* base = ws.qkv.data() + static_cast<int64_t>(b) * seq * ld;
    for (int h = 0; h < w.heads_local; ++h) {
      const float* q = base + h * dh;
      const float* k = base + width + h * dh;
      const float* v = base + 2 * width + h * dh;
      float* s = ws.scores.data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, seq, seq, dh, 1.0f, q, ld, k, ld, 0.0f,
                  s, seq);
      scaled_softmax_rows(s, seq, seq, scale);
      float* c = ws.ctx.data() + static_cast<int64_t>(b) * seq * width + h * dh;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, seq, dh, seq, 1.0f, s, seq, v, ld,
                  0.0f, c, width);
    }
  }
  linear(ws.ctx.data(), tokens, width, w.out_w, w.hidden, nullptr, ws.proj.data());
  reduce_partial(w, ws.proj.data(), tokens * w.hidden, allreduce);
  residual_layer_norm(x, ws.proj.data(), w.out_b, w.norm1_g, w.norm1_b, tokens, w.hidden,
                      w.norm_eps);
}

void ffn_block(const layer_weights& w, float* x, int tokens, layer_workspace& ws,
               const allreduce_fn& allreduce) {
  grow(ws.hidden, static_cast<size_t>(tokens) * w.ffn_local);
  grow(ws.proj, static_cast<size_t>(tokens) * w.hidden);
  linear(x, tokens, w.hidden, w.ffn.fc1_w, w.ffn_local, nullptr, ws.hidden.data());
  add_bias_activation(ws.hidden.data(), w.ffn.fc1_b, tokens, w.ffn_local, w.gelu_erf);
  linear(ws.hidden.data(), tokens, w.ffn_local, w.ffn.fc2_w, w.hidden, nullptr, ws.proj.data());
  reduce_partial(w, ws.proj.data(), static_cast<size_t>(tokens) * w.hidden, allreduce);
  residual_layer_norm(x, ws.proj.data(), w.ffn.fc2_b, w.norm2_g, w.norm2_b, tokens, w.hidden,
                      w.norm_eps);
}

void encoder_layer_forward(const layer_weights& w, float* x, int batch, int seq,
                           layer_workspace& ws, const allreduce_fn& allreduce) {
  attention_block(w, x, batch, seq, ws, allreduce);
  if (w.moe)
    moe_block(w, x, batch * seq, ws, allreduce);
  else
    ffn_block(w, x, batch * seq, ws, allreduce);
}

}  // namespace alpaserve::kernels::cpu
