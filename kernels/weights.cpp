#include "kernels/weights.hpp"

#include <cmath>
#include <stdexcept>

#include "kernels/safetensors.hpp"

namespace alpaserve::kernels {
namespace {

constexpr uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t fnv1a64(const std::string& s) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Half-width of a uniform distribution with the given standard deviation.
float uniform_half_width(weight_init init, int64_t fan_in) noexcept {
  const float sqrt3 = 1.7320508f;
  switch (init) {
    case weight_init::linear:
      return sqrt3 / std::sqrt(static_cast<float>(fan_in > 0 ? fan_in : 1));
    case weight_init::bias:
    case weight_init::norm_bias:
      return sqrt3 * 0.02f;
    case weight_init::norm_gain:
      return sqrt3 * 0.05f;
    case weight_init::embedding:
      return sqrt3;
  }
  return 0.0f;
}

index_range all(int64_t n) {
  return {0, n};
}

// Column-parallel slice of a [n_total, ...] tensor split in `parts` equal row blocks.
index_range block(int64_t n_total, int rank, int parts) {
  const int64_t b = n_total / parts;
  return {rank * b, (rank + 1) * b};
}

void add_layer_descs(std::vector<weight_desc>& out, const model_spec& m, int layer, int rank,
                     int parts) {
  const int64_t h = m.hidden, f = m.ffn_dim();
  const std::string p = "layers." + std::to_string(layer) + ".";
  const index_range att = block(h, rank, parts);  // whole heads: heads % parts == 0
  const index_range ff = block(f, rank, parts);

  // Fused QKV [3h, h]: rows q | k | v; a rank holds the same heads of each.
  const tensor_slice qkv_rows{
      {{att.begin, att.end}, {h + att.begin, h + att.end}, {2 * h + att.begin, 2 * h + att.end}},
      {0, -1}};
  out.push_back({p + "attn.qkv.weight", {3 * h, h}, qkv_rows, weight_init::linear});
  out.push_back({p + "attn.qkv.bias", {3 * h}, qkv_rows, weight_init::bias});
  out.push_back({p + "attn.out.weight", {h, h}, {{}, att}, weight_init::linear});
  out.push_back({p + "attn.out.bias", {h}, {}, weight_init::bias});
  out.push_back({p + "norm1.weight", {h}, {}, weight_init::norm_gain});
  out.push_back({p + "norm1.bias", {h}, {}, weight_init::norm_bias});

  auto add_ffn = [&](const std::string& q) {
    out.push_back({q + "fc1.weight", {f, h}, {{ff}, {0, -1}}, weight_init::linear});
    out.push_back({q + "fc1.bias", {f}, {{ff}, {0, -1}}, weight_init::bias});
    out.push_back({q + "fc2.weight", {h, f}, {{}, ff}, weight_init::linear});
    out.push_back({q + "fc2.bias", {h}, {}, weight_init::bias});
  };
  if (m.is_moe_layer(layer)) {
    out.push_back({p + "moe.gate.weight", {m.num_experts, h}, {}, weight_init::linear});
    for (int e = 0; e < m.num_experts; ++e) add_ffn(p + "moe.experts." + std::to_string(e) + ".");
  } else {
    add_ffn(p + "ffn.");
  }
  out.push_back({p + "norm2.weight", {h}, {}, weight_init::norm_gain});
  out.push_back({p + "norm2.bias", {h}, {}, weight_init::norm_bias});
}

}  // namespace

std::vector<int64_t> weight_desc::local_shape() const {
  std::vector<int64_t> s = full_shape;
  if (!slice.rows.empty()) {
    int64_t rows = 0;
    for (const auto& r : slice.rows) rows += r.size();
    s[0] = rows;
  }
  if (s.size() == 2 && slice.cols.end >= 0) s[1] = slice.cols.size();
  return s;
}

std::vector<weight_desc> shard_weight_descs(const shard_spec& shard) {
  shard.validate();
  const model_spec& m = shard.model;
  const int64_t h = m.hidden;
  std::vector<weight_desc> out;
  if (shard.has_embedding) {
    out.push_back({"embed.tokens.weight", {m.vocab, h}, {}, weight_init::embedding});
    out.push_back({"embed.positions.weight", {m.seq_len, h}, {}, weight_init::embedding});
    out.push_back({"embed.norm.weight", {h}, {}, weight_init::norm_gain});
    out.push_back({"embed.norm.bias", {h}, {}, weight_init::norm_bias});
  }
  for (int l = shard.layer_begin; l < shard.layer_end; ++l)
    add_layer_descs(out, m, l, shard.op_rank, shard.op_size);
  if (shard.has_head) {
    out.push_back({"head.weight", {m.vocab, h}, {}, weight_init::linear});
    out.push_back({"head.bias", {m.vocab}, {}, weight_init::bias});
  }
  return out;
}

std::vector<weight_desc> model_weight_descs(const model_spec& model) {
  return shard_weight_descs(whole_model(model));
}

size_t shard_parameter_count(const shard_spec& shard) {
  size_t n = 0;
  for (const auto& d : shard_weight_descs(shard)) n += shape_numel(d.local_shape());
  return n;
}

float seeded_value(uint64_t seed, const std::string& name, uint64_t index, weight_init init,
                   int64_t fan_in) noexcept {
  const uint64_t key = splitmix64(seed ^ fnv1a64(name));
  const uint64_t bits = splitmix64(key + index * 0xd1b54a32d192ed03ull);
  // 24 random bits -> u in [-1, 1)
  const float u = static_cast<float>(bits >> 40) * (2.0f / 16777216.0f) - 1.0f;
  const float v = u * uniform_half_width(init, fan_in);
  return init == weight_init::norm_gain ? 1.0f + v : v;
}

tensor seeded_weights::fetch(const weight_desc& desc) {
  const auto& fs = desc.full_shape;
  const int64_t full_rows = fs.empty() ? 1 : fs[0];
  const int64_t full_cols = fs.size() == 2 ? fs[1] : 1;
  const int64_t fan_in = fs.size() == 2 ? fs[1] : 1;
  std::vector<index_range> rows = desc.slice.rows;
  if (rows.empty()) rows.push_back(all(full_rows));
  index_range cols = desc.slice.cols.end >= 0 && fs.size() == 2 ? desc.slice.cols : all(full_cols);
  tensor out(desc.local_shape());
  float* dst = out.ptr();
  for (const auto& r : rows)
    for (int64_t i = r.begin; i < r.end; ++i)
      for (int64_t j = cols.begin; j < cols.end; ++j)
        *dst++ = seeded_value(seed_, desc.name, static_cast<uint64_t>(i * full_cols + j), desc.init,
                              fan_in);
  return out;
}

std::string seeded_weights::describe() const {
  return "seeded weights (seed " + std::to_string(seed_) + ")";
}

tensor slice_tensor(const tensor& full, const weight_desc& desc) {
  if (full.shape != desc.full_shape)
    throw std::invalid_argument("tensor '" + desc.name + "' has shape " + shape_string(full.shape) +
                                ", expected " + shape_string(desc.full_shape));
  const auto& fs = desc.full_shape;
  const int64_t full_rows = fs.empty() ? 1 : fs[0];
  const int64_t full_cols = fs.size() == 2 ? fs[1] : 1;
  std::vector<index_range> rows = desc.slice.rows;
  if (rows.empty()) rows.push_back(all(full_rows));
  index_range cols = desc.slice.cols.end >= 0 && fs.size() == 2 ? desc.slice.cols : all(full_cols);
  tensor out(desc.local_shape());
  float* dst = out.ptr();
  for (const auto& r : rows)
    for (int64_t i = r.begin; i < r.end; ++i) {
      const float* src = full.ptr() + i * full_cols;
      for (int64_t j = cols.begin; j < cols.end; ++j) *dst++ = src[j];
    }
  return out;
}

weight_map load_shard_weights(const shard_spec& shard, weight_source& source) {
  weight_map out;
  for (const auto& d : shard_weight_descs(shard)) out.emplace(d.name, source.fetch(d));
  return out;
}

std::unique_ptr<weight_source> make_weight_source(const model_spec& model,
                                                  const std::string& path) {
  if (path.empty()) return std::make_unique<seeded_weights>(model.seed);
  return std::make_unique<safetensors_weights>(path);
}

}  // namespace alpaserve::kernels
