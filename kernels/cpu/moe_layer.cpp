#include "kernels/cpu/moe_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/cpu/ops.hpp"

namespace alpaserve::kernels::cpu {

moe_routing route_tokens(const float* logits, int tokens, int experts, int top_k) {
  if (top_k < 1 || top_k > experts) throw std::invalid_argument("top_k must be in [1, experts]");
  moe_routing r;
  r.tokens = tokens;
  r.top_k = top_k;
  r.expert.resize(static_cast<size_t>(tokens) * top_k);
  r.weight.resize(static_cast<size_t>(tokens) * top_k);
  std::vector<float> p(experts);
  std::vector<int> order(experts);
  for (int t = 0; t < tokens; ++t) {
    std::copy(logits + static_cast<int64_t>(t) * experts,
              logits + static_cast<int64_t>(t + 1) * experts, p.begin());
    scaled_softmax_rows(p.data(), 1, experts, 1.0f);
    for (int e = 0; e < experts; ++e) order[e] = e;
    // Highest probability first; equal probabilities keep the lower index first.
    std::partial_sort(order.begin(), order.begin() + top_k, order.end(),
                      [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    float sum = 0.0f;
    for (int s = 0; s < top_k; ++s) sum += p[order[s]];
    for (int s = 0; s < top_k; ++s) {
      r.expert[static_cast<size_t>(t) * top_k + s] = order[s];
      r.weight[static_cast<size_t>(t) * top_k + s] = p[order[s]] / sum;
    }
  }
  return r;
}

void moe_block(const layer_weights& w, float* x, int tokens, layer_workspace& ws,
               const allreduce_fn& allreduce) {
  const int h = w.hidden;
  const int experts = static_cast<int>(w.experts.size());
  const int k = w.top_k;
  std::vector<float> logits(static_cast<size_t>(tokens) * experts);
  linear(x, tokens, h, w.gate_w, experts, nullptr, logits.data());
  const moe_routing route = route_tokens(logits.data(), tokens, experts, k);

  // routed[(t * k + s), :] = expert e's partial fc2 output for token t's slot s.
  const size_t slots = static_cast<size_t>(tokens) * k;
  if (ws.routed.size() < slots * h) ws.routed.resize(slots * h);
  std::vector<float> gathered, expert_out;
  std::vector<size_t> members;
  for (int e = 0; e < experts; ++e) {
    members.clear();
    for (size_t i = 0; i < slots; ++i)
      if (route.expert[i] == e) members.push_back(i);
    if (members.empty()) continue;
    const int n = static_cast<int>(members.size());
    gathered.resize(static_cast<size_t>(n) * h);
    for (int i = 0; i < n; ++i)
      std::memcpy(gathered.data() + static_cast<size_t>(i) * h,
                  x + (members[i] / k) * static_cast<size_t>(h), sizeof(float) * h);
    const ffn_weights& f = w.experts[e];
    if (ws.hidden.size() < static_cast<size_t>(n) * w.ffn_local)
      ws.hidden.resize(static_cast<size_t>(n) * w.ffn_local);
    linear(gathered.data(), n, h, f.fc1_w, w.ffn_local, nullptr, ws.hidden.data());
    add_bias_activation(ws.hidden.data(), f.fc1_b, n, w.ffn_local, w.gelu_erf);
    expert_out.resize(static_cast<size_t>(n) * h);
    linear(ws.hidden.data(), n, w.ffn_local, f.fc2_w, h, nullptr, expert_out.data());
    for (int i = 0; i < n; ++i)
      std::memcpy(ws.routed.data() + members[i] * h, expert_out.data() + static_cast<size_t>(i) * h,
                  sizeof(float) * h);
  }
  // Combine slots in order (deterministic), all-reduce the partial sums, then add the
  // gate-weighted fc2 biases once.
  if (ws.proj.size() < static_cast<size_t>(tokens) * h)
    ws.proj.resize(static_cast<size_t>(tokens) * h);
  float* out = ws.proj.data();
  for (int t = 0; t < tokens; ++t) {
    float* o = out + static_cast<size_t>(t) * h;
    std::fill(o, o + h, 0.0f);
    for (int s = 0; s < k; ++s) {
      const float g = route.weight[static_cast<size_t>(t) * k + s];
      const float* y = ws.routed.data() + (static_cast<size_t>(t) * k + s) * h;
      for (int j = 0; j < h; ++j) o[j] += g * y[j];
    }
  }
  if (w.op_size > 1) {
    if (!allreduce) throw std::invalid_argument("op_size > 1 needs an all-reduce function");
    allreduce(out, static_cast<size_t>(tokens) * h);
  }
  for (int t = 0; t < tokens; ++t) {
    float* o = out + static_cast<size_t>(t) * h;
    for (int s = 0; s < k; ++s) {
      const size_t i = static_cast<size_t>(t) * k + s;
      const float g = route.weight[i];
      const float* b = w.experts[route.expert[i]].fc2_b;
      for (int j = 0; j < h; ++j) o[j] += g * b[j];
    }
  }
  residual_layer_norm(x, out, nullptr, w.norm2_g, w.norm2_b, tokens, w.hidden, w.norm_eps);
}

}  // namespace alpaserve::kernels::cpu
