#include "kernels/cpu/cpu_backend.hpp"

#include <cmath>
#include <stdexcept>

#include "kernels/cpu/ops.hpp"

namespace alpaserve::kernels::cpu {

void embed(const float* ids, int batch, int seq, const float* token_table,
           const float* position_table, const float* gamma, const float* beta, int vocab,
           int hidden, float* x, float eps) {
  for (int b = 0; b < batch; ++b)
    for (int s = 0; s < seq; ++s) {
      const float id = ids[static_cast<size_t>(b) * seq + s];
      if (!(id >= 0.0f && id < static_cast<float>(vocab)) || id != std::floor(id))
        throw std::invalid_argument("token id " + std::to_string(id) + " at [" + std::to_string(b) +
                                    ", " + std::to_string(s) + "] is not an integer in [0, " +
                                    std::to_string(vocab) + ")");
      const float* t = token_table + static_cast<size_t>(id) * hidden;
      const float* p = position_table + static_cast<size_t>(s) * hidden;
      float* o = x + (static_cast<size_t>(b) * seq + s) * hidden;
      for (int j = 0; j < hidden; ++j) o[j] = t[j] + p[j];
    }
  layer_norm(x, x, gamma, beta, static_cast<int64_t>(batch) * seq, hidden, eps);
}

void head(const float* x, int batch, int seq, int hidden, const float* head_w, const float* head_b,
          int vocab, float* logits) {
  std::vector<float> cls(static_cast<size_t>(batch) * hidden);
  for (int b = 0; b < batch; ++b)
    std::copy(x + static_cast<size_t>(b) * seq * hidden,
              x + (static_cast<size_t>(b) * seq + 1) * hidden, cls.begin() + b * hidden);
  linear(cls.data(), batch, hidden, head_w, vocab, head_b, logits);
}

void cpu_backend::load(const shard_spec& shard, const load_options& options) {
  unload();
  shard.validate();
  const size_t wb = shard_parameter_count(shard) * sizeof(float);
  check_memory_budget(shard, wb, activation_bytes(shard, options.max_batch, sizeof(float)),
                      options.memory_budget_bytes, "cpu");
  const std::shared_ptr<weight_source> source =
      options.weights ? options.weights : make_weight_source(shard.model, options.weights_path);
  weights_ = load_shard_weights(shard, *source);
  shard_ = shard;
  for (int l = shard.layer_begin; l < shard.layer_end; ++l)
    layers_.push_back(bind_layer(shard, l, weights_));
  weight_bytes_ = wb;
  loaded_ = true;
}

tensor cpu_backend::run(const tensor& input, const allreduce_fn& allreduce) {
  if (!loaded_) throw std::logic_error("cpu backend: run before load");
  const model_spec& m = shard_.model;
  const int rank = shard_.has_embedding ? 2 : 3;
  if (input.rank() != rank || input.dim(0) < 1 || input.dim(1) < 1 || input.dim(1) > m.seq_len ||
      (rank == 3 && input.dim(2) != m.hidden))
    throw std::invalid_argument(
        "model '" + m.name + "' stage [" + std::to_string(shard_.layer_begin) + ", " +
        std::to_string(shard_.layer_end) + "): input shape " + shape_string(input.shape) +
        (shard_.has_embedding ? " is not [batch, seq] token ids"
                              : " is not [batch, seq, " + std::to_string(m.hidden) + "]") +
        " with 1 <= seq <= " + std::to_string(m.seq_len));
  const int batch = static_cast<int>(input.dim(0));
  const int seq = static_cast<int>(input.dim(1));
  tensor x({batch, seq, m.hidden});
  if (shard_.has_embedding)
    embed(input.ptr(), batch, seq, weights_.at("embed.tokens.weight").ptr(),
          weights_.at("embed.positions.weight").ptr(), weights_.at("embed.norm.weight").ptr(),
          weights_.at("embed.norm.bias").ptr(), m.vocab, m.hidden, x.ptr(),
          static_cast<float>(m.norm_eps));
  else
    x.data = input.data;
  for (const auto& layer : layers_)
    encoder_layer_forward(layer, x.ptr(), batch, seq, workspace_, allreduce);
  if (!shard_.has_head) return x;
  tensor logits({batch, m.vocab});
  head(x.ptr(), batch, seq, m.hidden, weights_.at("head.weight").ptr(),
       weights_.at("head.bias").ptr(), m.vocab, logits.ptr());
  return logits;
}

void cpu_backend::unload() {
  layers_.clear();
  weights_.clear();
  workspace_ = {};
  weight_bytes_ = 0;
  loaded_ = false;
}

}  // namespace alpaserve::kernels::cpu
