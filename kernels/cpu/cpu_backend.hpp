#pragma once
// The CPU backend: fp32, OpenBLAS GEMMs + own vectorized ops (docs/backends.md).

#include <vector>

#include "kernels/cpu/encoder_layer.hpp"
#include "kernels/device_backend.hpp"
#include "kernels/weights.hpp"

namespace alpaserve::kernels::cpu {

// x[b, s, :] = LN(tokens[id(b, s)] + positions[s]); ids: [batch, seq] floats holding integers.
// Throws std::invalid_argument on an id that is not an integer in [0, vocab).
void embed(const float* ids, int batch, int seq, const float* token_table,
           const float* position_table, const float* gamma, const float* beta, int vocab,
           int hidden, float* x, float eps = 1e-5f);

// logits[b, :] = head_w * x[b, 0, :] + head_b ([CLS] position), logits: [batch, vocab].
void head(const float* x, int batch, int seq, int hidden, const float* head_w, const float* head_b,
          int vocab, float* logits);

class cpu_backend final : public stage_backend {
 public:
  void load(const shard_spec& shard, const load_options& options) override;
  [[nodiscard]] tensor run(const tensor& input, const allreduce_fn& allreduce) override;
  void unload() override;
  [[nodiscard]] std::string kind() const override { return "cpu"; }
  [[nodiscard]] size_t weight_bytes() const override { return weight_bytes_; }
  [[nodiscard]] bool loaded() const override { return loaded_; }

 private:
  shard_spec shard_;                   // what is loaded
  weight_map weights_;                 // owns every local tensor
  std::vector<layer_weights> layers_;  // views into weights_, one per local layer
  layer_workspace workspace_;          // scratch reused across runs
  size_t weight_bytes_ = 0;            // fp32 bytes in weights_
  bool loaded_ = false;
};

}  // namespace alpaserve::kernels::cpu
