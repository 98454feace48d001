#pragma once
// The built-in model zoo: the architectures of the paper's experiments (BERT 1.3B-103.5B, GShard
// MoE 1.3B-5.3B) and two small BERTs for real CPU execution. Shapes and parameter counts:
// docs/profiles.md.

#include <string>
#include <vector>

namespace alpaserve::planner {

struct model_architecture {
  enum class kind { bert, moe };

  std::string name;
  kind type = kind::bert;
  int seq_len = 0;  // tokens per request
  int hidden = 0;
  int layers = 0;  // encoder layers
  int heads = 0;
  int vocab = 0;
  int num_experts = 0;   // moe: experts per MoE layer
  int expert_every = 0;  // moe: layer i (0-based) is an MoE layer when (i + 1) % expert_every == 0
  int top_k = 0;         // moe: experts each token is routed to
  double capacity_factor =
      1.0;             // moe: expert capacity = capacity_factor * top_k * tokens / experts
  int num_labels = 5;  // sequence-classification head outputs (the reference serves BERT this way)

  [[nodiscard]] int ffn_hidden() const noexcept { return 4 * hidden; }
  [[nodiscard]] int head_dim() const noexcept { return heads > 0 ? hidden / heads : 0; }
  [[nodiscard]] bool is_moe_layer(int layer) const noexcept {
    return type == kind::moe && expert_every > 0 && (layer + 1) % expert_every == 0;
  }
};

[[nodiscard]] const model_architecture* find_zoo_model(const std::string& name);
[[nodiscard]] std::vector<std::string> zoo_model_names();

// Parameters of the whole model (embeddings, every layer, head); weights are 2 bytes each (fp16).
[[nodiscard]] double parameter_count(const model_architecture& arch);
// Parameters of one piece; layer in [0, layers).
[[nodiscard]] double embedding_parameters(const model_architecture& arch);
[[nodiscard]] double layer_parameters(const model_architecture& arch, int layer);
[[nodiscard]] double head_parameters(const model_architecture& arch);

}  // namespace alpaserve::planner
