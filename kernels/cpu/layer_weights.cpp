#include "kernels/cpu/layer_weights.hpp"

#include <stdexcept>

namespace alpaserve::kernels::cpu {
namespace {

const float* find(const weight_map& w, const std::string& name) {
  const auto it = w.find(name);
  if (it == w.end()) throw std::logic_error("weight '" + name + "' not loaded");
  return it->second.ptr();
}

ffn_weights bind_ffn(const weight_map& w, const std::string& p) {
  return {find(w, p + "fc1.weight"), find(w, p + "fc1.bias"), find(w, p + "fc2.weight"),
          find(w, p + "fc2.bias")};
}

}  // namespace

layer_weights bind_layer(const shard_spec& shard, int layer, const weight_map& w) {
  const model_spec& m = shard.model;
  const std::string p = "layers." + std::to_string(layer) + ".";
  layer_weights l;
  l.hidden = m.hidden;
  l.heads_local = m.heads / shard.op_size;
  l.head_dim = m.head_dim();
  l.ffn_local = m.ffn_dim() / shard.op_size;
  l.op_size = shard.op_size;
  l.gelu_erf = m.activation == activation_kind::gelu_erf;
  l.norm_eps = static_cast<float>(m.norm_eps);
  l.qkv_w = find(w, p + "attn.qkv.weight");
  l.qkv_b = find(w, p + "attn.qkv.bias");
  l.out_w = find(w, p + "attn.out.weight");
  l.out_b = find(w, p + "attn.out.bias");
  l.norm1_g = find(w, p + "norm1.weight");
  l.norm1_b = find(w, p + "norm1.bias");
  l.moe = m.is_moe_layer(layer);
  if (l.moe) {
    l.gate_w = find(w, p + "moe.gate.weight");
    for (int e = 0; e < m.num_experts; ++e)
      l.experts.push_back(bind_ffn(w, p + "moe.experts." + std::to_string(e) + "."));
    l.top_k = m.top_k;
  } else {
    l.ffn = bind_ffn(w, p + "ffn.");
  }
  l.norm2_g = find(w, p + "norm2.weight");
  l.norm2_b = find(w, p + "norm2.bias");
  return l;
}

}  // namespace alpaserve::kernels::cpu
