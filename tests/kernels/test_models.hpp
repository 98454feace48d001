#pragma once
// Small models and helpers shared by the kernel tests.

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/model_spec.hpp"
#include "kernels/tensor.hpp"

namespace alpaserve::kernels::testing {

inline model_spec small_bert() {
  model_spec m;
  m.name = "tiny-bert";
  m.kind = model_kind::bert;
  m.hidden = 64;
  m.layers = 4;
  m.heads = 4;
  m.ffn = 128;
  m.vocab = 97;
  m.seq_len = 16;
  m.seed = 1234;
  return m;
}

inline model_spec small_moe() {
  model_spec m = small_bert();
  m.name = "tiny-moe";
  m.kind = model_kind::moe;
  m.num_experts = 4;
  m.expert_every = 2;
  m.top_k = 2;
  m.seed = 99;
  return m;
}

// [batch, seq] token ids, deterministic.
inline tensor token_ids(int batch, int seq, int vocab) {
  tensor t({batch, seq});
  for (int i = 0; i < batch * seq; ++i) t.data[i] = static_cast<float>((i * 37 + 11) % vocab);
  return t;
}

// max |a - b| / max |b|: the relative error used by the equivalence requirement.
inline double relative_error(const tensor& a, const tensor& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a.data[i] - b.data[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b.data[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace alpaserve::kernels::testing
