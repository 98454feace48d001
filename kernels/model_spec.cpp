#include "kernels/model_spec.hpp"

#include <stdexcept>

namespace alpaserve::kernels {
namespace {

void require(bool ok, const std::string& what, const std::string& name) {
  if (!ok) throw std::invalid_argument("model '" + name + "': " + what);
}

}  // namespace

void model_spec::validate() const {
  require(hidden > 0, "hidden must be > 0", name);
  require(layers >= 0, "layers must be >= 0", name);
  require(heads > 0 && hidden % heads == 0, "heads must divide hidden", name);
  require(ffn_dim() > 0, "ffn must be > 0", name);
  require(vocab > 0, "vocab must be > 0", name);
  require(seq_len > 0, "seq_len must be > 0", name);
  require(norm_eps > 0.0 && norm_eps < 1.0, "norm_eps must be in (0, 1)", name);
  if (kind == model_kind::moe) {
    require(num_experts > 0, "an MoE model needs num_experts > 0", name);
    require(expert_every > 0, "expert_every must be > 0", name);
    require(top_k > 0 && top_k <= num_experts, "top_k must be in [1, num_experts]", name);
  }
}

void shard_spec::validate() const {
  model.validate();
  const std::string& n = model.name;
  require(0 <= layer_begin && layer_begin <= layer_end && layer_end <= model.layers,
          "shard layers [" + std::to_string(layer_begin) + ", " + std::to_string(layer_end) +
              ") out of range for " + std::to_string(model.layers) + " layers",
          n);
  require(op_size >= 1 && 0 <= op_rank && op_rank < op_size, "op_rank must be in [0, op_size)", n);
  require(
      model.heads % op_size == 0,
      "op_size " + std::to_string(op_size) + " must divide heads " + std::to_string(model.heads),
      n);
  require(
      model.ffn_dim() % op_size == 0,
      "op_size " + std::to_string(op_size) + " must divide ffn " + std::to_string(model.ffn_dim()),
      n);
}

shard_spec make_shard(const model_spec& model, int begin, int end, int op_rank, int op_size) {
  shard_spec s;
  s.model = model;
  s.layer_begin = begin;
  s.layer_end = end;
  s.has_embedding = begin == 0;
  s.has_head = end == model.layers;
  s.op_rank = op_rank;
  s.op_size = op_size;
  return s;
}

shard_spec whole_model(const model_spec& model) {
  return make_shard(model, 0, model.layers);
}

const char* to_string(model_kind kind) noexcept {
  return kind == model_kind::moe ? "moe" : "bert";
}

model_kind parse_model_kind(const std::string& text) {
  if (text == "bert") return model_kind::bert;
  if (text == "moe") return model_kind::moe;
  throw std::invalid_argument("unknown model kind '" + text + "' (expected bert or moe)");
}

const char* to_string(activation_kind activation) noexcept {
  return activation == activation_kind::gelu_erf ? "gelu_erf" : "gelu_tanh";
}

activation_kind parse_activation(const std::string& text) {
  if (text == "gelu_tanh") return activation_kind::gelu_tanh;
  if (text == "gelu_erf") return activation_kind::gelu_erf;
  throw std::invalid_argument("unknown activation '" + text + "' (expected gelu_tanh or gelu_erf)");
}

}  // namespace alpaserve::kernels
