#pragma once
// Model weights: the named tensors of a model, the slice of each that a shard holds, and where
// their values come from (a seed or a safetensors file). Names and init: docs/models.md.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/model_spec.hpp"
#include "kernels/tensor.hpp"

namespace alpaserve::kernels {

struct index_range {
  int64_t begin = 0;
  int64_t end = 0;
  [[nodiscard]] int64_t size() const noexcept { return end - begin; }
};

// The part of a full (1-D or 2-D) tensor that a shard holds: the concatenation of `rows` ranges
// (empty = all rows) restricted to `cols` (only for 2-D; end < 0 = all columns).
struct tensor_slice {
  std::vector<index_range> rows;
  index_range cols{0, -1};
};

// How seeded values are drawn (all uniform, zero-mean unless stated).
enum class weight_init {
  linear,     // std 1/sqrt(fan_in): keeps activations O(1)
  bias,       // std 0.02
  norm_gain,  // 1 + (std 0.05)
  norm_bias,  // std 0.02
  embedding,  // std 1 (an embedding layer norm follows)
};

struct weight_desc {
  std::string name;                 // e.g. "layers.3.attn.qkv.weight"
  std::vector<int64_t> full_shape;  // shape in the whole model and in safetensors files
  tensor_slice slice;               // this shard's part
  weight_init init = weight_init::linear;

  [[nodiscard]] std::vector<int64_t> local_shape() const;
};

// Every tensor a shard holds, with its slice (Megatron column/row split for op_size > 1).
[[nodiscard]] std::vector<weight_desc> shard_weight_descs(const shard_spec& shard);
// Every tensor of the whole model (op_size 1), in a fixed order.
[[nodiscard]] std::vector<weight_desc> model_weight_descs(const model_spec& model);
// Number of fp32 values a shard holds.
[[nodiscard]] size_t shard_parameter_count(const shard_spec& shard);

// Where weight values come from.
class weight_source {
 public:
  virtual ~weight_source() = default;
  // The shard's slice of desc.name, shaped desc.local_shape(); throws std::runtime_error naming
  // the source, the tensor and expected vs actual shape when it is missing or mis-shaped.
  [[nodiscard]] virtual tensor fetch(const weight_desc& desc) = 0;
  [[nodiscard]] virtual std::string describe() const = 0;
};

// Deterministic weights: element j of tensor `name` is a pure function of (seed, name, j), so any
// shard draws exactly its own slice without drawing the whole model.
class seeded_weights final : public weight_source {
 public:
  explicit seeded_weights(uint64_t seed) noexcept : seed_(seed) {}
  [[nodiscard]] tensor fetch(const weight_desc& desc) override;
  [[nodiscard]] std::string describe() const override;

 private:
  uint64_t seed_;  // model seed
};

// The value seeded_weights gives element `index` (row-major in the full tensor) of a tensor.
[[nodiscard]] float seeded_value(uint64_t seed, const std::string& name, uint64_t index,
                                 weight_init init, int64_t fan_in) noexcept;

// Extracts desc.slice from the full tensor; throws std::invalid_argument on a shape mismatch.
[[nodiscard]] tensor slice_tensor(const tensor& full, const weight_desc& desc);

using weight_map = std::map<std::string, tensor>;
// Fetches every tensor of the shard.
[[nodiscard]] weight_map load_shard_weights(const shard_spec& shard, weight_source& source);
// The source named by a load: the safetensors file at `path`, or the seed when path is empty.
[[nodiscard]] std::unique_ptr<weight_source> make_weight_source(const model_spec& model,
                                                                const std::string& path);

}  // namespace alpaserve::kernels
