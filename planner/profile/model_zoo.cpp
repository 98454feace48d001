#include "planner/profile/model_zoo.hpp"

namespace alpaserve::planner {

namespace {

model_architecture bert(std::string name, int seq, int hidden, int layers, int heads, int vocab) {
  model_architecture a;
  a.name = std::move(name);
  a.type = model_architecture::kind::bert;
  a.seq_len = seq;
  a.hidden = hidden;
  a.layers = layers;
  a.heads = heads;
  a.vocab = vocab;
  return a;
}

// GShard style: every other layer's FFN is a top-2 mixture of experts.
model_architecture moe(std::string name, int hidden, int layers, int experts) {
  model_architecture a = bert(std::move(name), 1024, hidden, layers, hidden / 64, 32000);
  a.type = model_architecture::kind::moe;
  a.num_experts = experts;
  a.expert_every = 2;
  a.top_k = 2;
  a.capacity_factor = 1.0;
  return a;
}

const std::vector<model_architecture>& zoo() {
  static const std::vector<model_architecture> all = {
      // The reference's bert_specs (seq, hidden, layers, heads, vocab).
      bert("bert-1.3b", 2048, 2048, 24, 32, 51200),
      bert("bert-2.6b", 2048, 2560, 32, 32, 51200),
      bert("bert-6.7b", 2048, 4096, 32, 32, 51200),
      bert("bert-103.5b", 1024, 8192, 128, 64, 51200),
      // Chosen so fp16 weights are 2.62e9, 4.81e9 and 10.79e9 bytes (reference: 2.6e9, 4.8e9,
      // 10.6e9); shapes follow Alpa's MoE benchmark family (seq 1024, vocab 32000).
      moe("moe-1.3b", 768, 16, 32),
      moe("moe-2.4b", 1280, 20, 16),
      moe("moe-5.3b", 1280, 24, 32),
      // Small enough to run for real on a CPU.
      bert("bert-tiny", 64, 256, 4, 4, 1024),
      bert("bert-small", 128, 512, 8, 8, 4096),
  };
  return all;
}

}  // namespace

const model_architecture* find_zoo_model(const std::string& name) {
  for (const auto& a : zoo())
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<std::string> zoo_model_names() {
  std::vector<std::string> names;
  for (const auto& a : zoo()) names.push_back(a.name);
  return names;
}

double embedding_parameters(const model_architecture& a) {
  const double h = a.hidden;
  // word + position + 2 token types + layer norm
  return static_cast<double>(a.vocab) * h + static_cast<double>(a.seq_len) * h + 2 * h + 2 * h;
}

double layer_parameters(const model_architecture& a, int layer) {
  const double h = a.hidden;
  const double attention = 4 * h * h + 4 * h;  // QKV + output projection, with biases
  const double norms = 4 * h;                  // two layer norms
  const double ffn = 8 * h * h + 5 * h;        // h -> 4h -> h, with biases
  if (!a.is_moe_layer(layer)) return attention + norms + ffn;
  const double gate = h * a.num_experts;
  return attention + norms + gate + a.num_experts * ffn;
}

double head_parameters(const model_architecture& a) {
  const double h = a.hidden;
  return h * h + h + h * a.num_labels + a.num_labels;  // pooler + classifier
}

double parameter_count(const model_architecture& a) {
  double p = embedding_parameters(a) + head_parameters(a);
  for (int i = 0; i < a.layers; ++i) p += layer_parameters(a, i);
  return p;
}

}  // namespace alpaserve::planner
