#include "kernels/model_folder.hpp"

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "kernels/safetensors.hpp"

namespace alpaserve::kernels {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

[[noreturn]] void bad(const std::string& source, const std::string& key,
                      const std::string& problem) {
  throw std::invalid_argument(source + ": key '" + key + "': " + problem);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument(source + ": not valid JSON (" + e.what() + ")");
  }
}

int get_int(const json& j, const std::string& source, const std::string& key, int min) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) bad(source, key, "must be an integer, got " + v.dump());
  const int64_t x = v.get<int64_t>();
  if (x < min || x > std::numeric_limits<int>::max())
    bad(source, key, "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
  return static_cast<int>(x);
}

std::string get_string(const json& j, const std::string& source, const std::string& key) {
  const json& v = j.at(key);
  if (!v.is_string()) bad(source, key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

}  // namespace

std::string model_definition_json(const model_spec& spec) {
  json j = json::object();
  j["kind"] = to_string(spec.kind);
  j["hidden"] = spec.hidden;
  j["heads"] = spec.heads;
  j["ffn"] = spec.ffn_dim();
  j["layers"] = spec.layers;
  j["vocab"] = spec.vocab;
  j["seq_len"] = spec.seq_len;
  if (spec.kind == model_kind::moe) {
    j["experts"] = spec.num_experts;
    j["expert_every"] = spec.expert_every;
    j["top_k"] = spec.top_k;
  }
  j["activation"] = to_string(spec.activation);
  if (spec.norm_eps != model_spec{}.norm_eps) j["norm_eps"] = spec.norm_eps;
  return j.dump(2) + "\n";
}

model_spec parse_model_definition(const std::string& json_text, const std::string& source,
                                  const std::string& name) {
  const json j = parse_json(json_text, source);
  if (!j.is_object()) throw std::invalid_argument(source + ": not a JSON object");
  static const std::set<std::string> known = {"kind",   "hidden",       "heads",      "ffn",
                                              "layers", "vocab",        "seq_len",    "experts",
                                              "top_k",  "expert_every", "activation", "norm_eps"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()))
      bad(source, it.key(),
          "unknown key (known: kind, hidden, heads, ffn, layers, vocab, seq_len, experts, "
          "expert_every, top_k, activation, norm_eps)");
  for (const char* k : {"kind", "hidden", "heads", "layers", "vocab", "seq_len"})
    if (!j.contains(k)) bad(source, k, "missing required key");
  model_spec m;
  m.name = name;
  try {
    m.kind = parse_model_kind(get_string(j, source, "kind"));
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).rfind(source, 0) == 0) throw;
    bad(source, "kind", e.what());
  }
  m.hidden = get_int(j, source, "hidden", 1);
  m.heads = get_int(j, source, "heads", 1);
  m.layers = get_int(j, source, "layers", 1);
  m.vocab = get_int(j, source, "vocab", 1);
  m.seq_len = get_int(j, source, "seq_len", 1);
  if (j.contains("ffn")) m.ffn = get_int(j, source, "ffn", 1);
  if (j.contains("activation")) {
    try {
      m.activation = parse_activation(get_string(j, source, "activation"));
    } catch (const std::invalid_argument& e) {
      if (std::string(e.what()).rfind(source, 0) == 0) throw;
      bad(source, "activation", e.what());
    }
  }
  if (j.contains("norm_eps")) {
    const json& v = j.at("norm_eps");
    if (!v.is_number() || !(v.get<double>() > 0.0 && v.get<double>() < 1.0))
      bad(source, "norm_eps", "must be a number in (0, 1), got " + v.dump());
    m.norm_eps = v.get<double>();
  }
  const bool moe = m.kind == model_kind::moe;
  for (const char* k : {"experts", "expert_every", "top_k"})
    if (!moe && j.contains(k)) bad(source, k, "only for kind \"moe\"");
  if (moe) {
    if (!j.contains("experts")) bad(source, "experts", "missing (required for kind \"moe\")");
    m.num_experts = get_int(j, source, "experts", 1);
    if (j.contains("expert_every")) m.expert_every = get_int(j, source, "expert_every", 1);
    if (j.contains("top_k")) m.top_k = get_int(j, source, "top_k", 1);
  }
  if (m.hidden % m.heads != 0)
    bad(source, "heads", "must divide hidden (" + std::to_string(m.hidden) + ")");
  if (moe && m.top_k > m.num_experts)
    bad(source, "top_k", "must be <= experts (" + std::to_string(m.num_experts) + ")");
  try {
    m.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  return m;
}

model_folder read_model_folder(const std::string& folder, const std::string& name) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw std::invalid_argument("model folder '" + folder + "': not a directory");
  model_folder f;
  f.definition_path = (fs::path(folder) / model_definition_file).string();
  f.weights_path = (fs::path(folder) / model_weights_file).string();
  if (!fs::is_regular_file(f.definition_path, ec))
    throw std::invalid_argument(f.definition_path + ": file not found");
  f.spec = parse_model_definition(read_text(f.definition_path), f.definition_path, name);
  if (!fs::is_regular_file(f.weights_path, ec))
    throw std::invalid_argument(f.weights_path + ": file not found");
  return f;
}

void check_model_weights(const model_folder& folder) {
  const safetensors_file file(folder.weights_path);
  const std::string where = "safetensors file '" + folder.weights_path + "': ";
  for (const weight_desc& d : model_weight_descs(folder.spec)) {
    const auto it = file.entries().find(d.name);
    if (it == file.entries().end())
      throw std::runtime_error(where + "missing tensor '" + d.name + "' (expected shape " +
                               shape_string(d.full_shape) + ")");
    if (it->second.shape != d.full_shape)
      throw std::runtime_error(where + "tensor '" + d.name + "' has shape " +
                               shape_string(it->second.shape) + ", expected " +
                               shape_string(d.full_shape));
    const std::string& dt = it->second.dtype;
    if (dt != "F32" && dt != "F16" && dt != "BF16")
      throw std::runtime_error(where + "tensor '" + d.name + "' has dtype " + dt +
                               "; only F32, F16 and BF16 are supported");
  }
}

void write_model_folder(const std::string& folder, const model_spec& spec,
                        const weight_map& weights) {
  spec.validate();
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw std::runtime_error("model folder '" + folder + "': " + ec.message());
  const std::string def = (fs::path(folder) / model_definition_file).string();
  std::ofstream out(def, std::ios::trunc);
  out << model_definition_json(spec);
  if (!out) throw std::runtime_error(def + ": write failed");
  out.close();
  write_safetensors((fs::path(folder) / model_weights_file).string(), weights,
                    safetensors_dtype::f32,
                    {{"format", "alpaserve"}, {"kind", to_string(spec.kind)}});
}

void export_seeded_model_folder(const std::string& folder, const model_spec& spec) {
  seeded_weights source(spec.seed);
  weight_map all;
  for (const auto& d : model_weight_descs(spec)) all.emplace(d.name, source.fetch(d));
  write_model_folder(folder, spec, all);
}

model_spec import_hf_bert(const std::string& from, const std::string& out) {
  const std::string cfg_path = (fs::path(from) / "config.json").string();
  const std::string st_path = (fs::path(from) / "model.safetensors").string();
  std::error_code ec;
  if (!fs::is_regular_file(cfg_path, ec))
    throw std::invalid_argument(cfg_path + ": file not found");
  if (!fs::is_regular_file(st_path, ec)) throw std::invalid_argument(st_path + ": file not found");
  const json c = parse_json(read_text(cfg_path), cfg_path);
  if (!c.is_object()) throw std::invalid_argument(cfg_path + ": not a JSON object");
  for (const char* k : {"hidden_size", "num_attention_heads", "intermediate_size",
                        "num_hidden_layers", "vocab_size", "max_position_embeddings"})
    if (!c.contains(k)) bad(cfg_path, k, "missing required key");
  if (c.contains("model_type") && get_string(c, cfg_path, "model_type") != "bert")
    bad(cfg_path, "model_type", "must be \"bert\", got " + c.at("model_type").dump());
  model_spec m;
  m.name = fs::path(out).filename().string();
  m.kind = model_kind::bert;
  m.hidden = get_int(c, cfg_path, "hidden_size", 1);
  m.heads = get_int(c, cfg_path, "num_attention_heads", 1);
  m.ffn = get_int(c, cfg_path, "intermediate_size", 1);
  m.layers = get_int(c, cfg_path, "num_hidden_layers", 1);
  m.vocab = get_int(c, cfg_path, "vocab_size", 1);
  m.seq_len = get_int(c, cfg_path, "max_position_embeddings", 1);
  const std::string act = c.contains("hidden_act") ? get_string(c, cfg_path, "hidden_act") : "gelu";
  if (act == "gelu")
    m.activation = activation_kind::gelu_erf;
  else if (act == "gelu_new" || act == "gelu_pytorch_tanh")
    m.activation = activation_kind::gelu_tanh;
  else
    bad(cfg_path, "hidden_act",
        "'" + act + "' is not supported (gelu, gelu_new, gelu_pytorch_tanh)");
  if (m.hidden % m.heads != 0) bad(cfg_path, "num_attention_heads", "must divide hidden_size");
  if (c.contains("layer_norm_eps")) {
    const json& v = c.at("layer_norm_eps");
    if (!v.is_number() || !(v.get<double>() > 0.0 && v.get<double>() < 1.0))
      bad(cfg_path, "layer_norm_eps", "must be a number in (0, 1), got " + v.dump());
    m.norm_eps = v.get<double>();
  } else {
    m.norm_eps = 1e-12;  // BertConfig's default
  }
  m.validate();

  const safetensors_file file(st_path);
  // Tensor names with or without the "bert." prefix of BertFor* checkpoints.
  const bool prefixed = file.contains("bert.embeddings.word_embeddings.weight");
  const std::string pre = prefixed ? "bert." : "";
  auto fetch = [&](const std::string& name, const std::vector<int64_t>& shape) {
    const std::string full = pre + name;
    const auto it = file.entries().find(full);
    if (it == file.entries().end())
      throw std::invalid_argument("safetensors file '" + st_path + "': missing tensor '" + full +
                                  "' (expected shape " + shape_string(shape) + ")");
    if (it->second.shape != shape)
      throw std::invalid_argument("safetensors file '" + st_path + "': tensor '" + full +
                                  "' has shape " + shape_string(it->second.shape) + ", expected " +
                                  shape_string(shape));
    try {
      return file.read(full);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());
    }
  };
  // LayerNorm parameters: "weight" / "bias", or the older "gamma" / "beta".
  auto norm = [&](const std::string& base, bool gain) {
    const std::string modern = base + (gain ? ".weight" : ".bias");
    const std::string old = base + (gain ? ".gamma" : ".beta");
    return fetch(file.contains(pre + modern) || !file.contains(pre + old) ? modern : old,
                 {m.hidden});
  };
  const int64_t h = m.hidden, f = m.ffn;
  weight_map w;
  w["embed.tokens.weight"] = fetch("embeddings.word_embeddings.weight", {m.vocab, h});
  tensor pos = fetch("embeddings.position_embeddings.weight", {m.seq_len, h});
  if (file.contains(pre + "embeddings.token_type_embeddings.weight")) {
    const auto& e = file.entries().at(pre + "embeddings.token_type_embeddings.weight");
    if (e.shape.size() != 2 || e.shape[0] < 1 || e.shape[1] != h)
      throw std::invalid_argument("safetensors file '" + st_path +
                                  "': tensor 'embeddings.token_type_embeddings.weight' has shape " +
                                  shape_string(e.shape) + ", expected [types, " +
                                  std::to_string(h) + "]");
    const tensor tt = fetch("embeddings.token_type_embeddings.weight", e.shape);
    // Every position has token type 0: fold its row into the position table.
    for (int64_t s = 0; s < m.seq_len; ++s)
      for (int64_t j = 0; j < h; ++j) pos.data[static_cast<size_t>(s * h + j)] += tt.data[j];
  }
  w["embed.positions.weight"] = std::move(pos);
  w["embed.norm.weight"] = norm("embeddings.LayerNorm", true);
  w["embed.norm.bias"] = norm("embeddings.LayerNorm", false);
  for (int l = 0; l < m.layers; ++l) {
    const std::string hf = "encoder.layer." + std::to_string(l) + ".";
    const std::string ours = "layers." + std::to_string(l) + ".";
    tensor qkv_w({3 * h, h}), qkv_b({3 * h});
    int part = 0;
    for (const char* p : {"query", "key", "value"}) {
      const tensor pw = fetch(hf + "attention.self." + p + ".weight", {h, h});
      const tensor pb = fetch(hf + "attention.self." + p + ".bias", {h});
      std::copy(pw.data.begin(), pw.data.end(), qkv_w.data.begin() + part * h * h);
      std::copy(pb.data.begin(), pb.data.end(), qkv_b.data.begin() + part * h);
      ++part;
    }
    w[ours + "attn.qkv.weight"] = std::move(qkv_w);
    w[ours + "attn.qkv.bias"] = std::move(qkv_b);
    w[ours + "attn.out.weight"] = fetch(hf + "attention.output.dense.weight", {h, h});
    w[ours + "attn.out.bias"] = fetch(hf + "attention.output.dense.bias", {h});
    w[ours + "norm1.weight"] = norm(hf + "attention.output.LayerNorm", true);
    w[ours + "norm1.bias"] = norm(hf + "attention.output.LayerNorm", false);
    w[ours + "ffn.fc1.weight"] = fetch(hf + "intermediate.dense.weight", {f, h});
    w[ours + "ffn.fc1.bias"] = fetch(hf + "intermediate.dense.bias", {f});
    w[ours + "ffn.fc2.weight"] = fetch(hf + "output.dense.weight", {h, f});
    w[ours + "ffn.fc2.bias"] = fetch(hf + "output.dense.bias", {h});
    w[ours + "norm2.weight"] = norm(hf + "output.LayerNorm", true);
    w[ours + "norm2.bias"] = norm(hf + "output.LayerNorm", false);
  }
  w["head.weight"] = w.at("embed.tokens.weight");  // tied to the token table
  w["head.bias"] = tensor({m.vocab});
  write_model_folder(out, m, w);
  return m;
}

}  // namespace alpaserve::kernels
