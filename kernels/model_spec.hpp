#pragma once
// What a model is (architecture + weight seed) and which part of it one worker holds.
// kernels/ does not know planner/: the actors translate a zoo architecture into a model_spec.
// Definitions and conventions: docs/models.md.

#include <cstdint>
#include <string>

namespace alpaserve::kernels {

enum class model_kind { bert, moe };

// The feed-forward nonlinearity: the tanh approximation of GELU (the zoo's default) or the exact
// erf form (Hugging Face BERT's "gelu").
enum class activation_kind { gelu_tanh, gelu_erf };

struct model_spec {
  std::string name;
  model_kind kind = model_kind::bert;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int ffn = 0;  // 0 means 4 * hidden
  int vocab = 0;
  int seq_len = 0;  // longest sequence (size of the position table)
  // MoE only: layer i uses experts when i % expert_every == expert_every - 1 (GShard: every
  // other layer for expert_every = 2); top_k experts per token out of num_experts.
  int num_experts = 0;
  int expert_every = 2;
  int top_k = 2;
  activation_kind activation = activation_kind::gelu_tanh;
  double norm_eps = 1e-5;  // layer norm epsilon (Hugging Face BERT: 1e-12); kernels use fp32
  uint64_t seed = 0;       // deterministic weights (docs/models.md)

  [[nodiscard]] int ffn_dim() const noexcept { return ffn > 0 ? ffn : 4 * hidden; }
  [[nodiscard]] int head_dim() const noexcept { return heads > 0 ? hidden / heads : 0; }
  [[nodiscard]] bool is_moe_layer(int layer) const noexcept {
    return kind == model_kind::moe && num_experts > 0 && expert_every > 0 &&
           layer % expert_every == expert_every - 1;
  }
  // Throws std::invalid_argument naming the field when the spec is inconsistent.
  void validate() const;
};

// One worker's part: layers [layer_begin, layer_end) of `model`, tensor-parallel rank op_rank of
// op_size (Megatron split, docs/models.md). The first stage holds the embedding, the last the head.
struct shard_spec {
  model_spec model;
  int layer_begin = 0;
  int layer_end = 0;
  bool has_embedding = false;
  bool has_head = false;
  int op_rank = 0;
  int op_size = 1;

  // Throws std::invalid_argument when layers are out of range or the op split does not divide
  // heads, ffn and hidden.
  void validate() const;
};

// The shard for layers [begin, end) with has_embedding = (begin == 0), has_head = (end == layers).
[[nodiscard]] shard_spec make_shard(const model_spec& model, int begin, int end, int op_rank = 0,
                                    int op_size = 1);
// The whole model on one device.
[[nodiscard]] shard_spec whole_model(const model_spec& model);

[[nodiscard]] const char* to_string(model_kind kind) noexcept;
// "bert" | "moe"; throws std::invalid_argument otherwise.
[[nodiscard]] model_kind parse_model_kind(const std::string& text);
[[nodiscard]] const char* to_string(activation_kind activation) noexcept;
// "gelu_tanh" | "gelu_erf"; throws std::invalid_argument otherwise.
[[nodiscard]] activation_kind parse_activation(const std::string& text);

}  // namespace alpaserve::kernels
