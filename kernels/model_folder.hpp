#pragma once
// A model folder: a user's own model for the real backends (docs/models.md "Model folders").
//
//   my-model/model.json         {"kind": "bert", "hidden": 256, "heads": 4, "ffn": 1024,
//                                "layers": 4, "vocab": 1024, "seq_len": 64,
//                                "activation": "gelu_erf"}      (optional "norm_eps"; MoE:
//                                                     "experts", "expert_every", "top_k")
//   my-model/model.safetensors  every tensor of the model under our names (docs/models.md), full
//                                shapes, F32 / F16 / BF16
//
// Plus the Hugging Face BERT importer (config.json + model.safetensors with HF names, fused into
// our layout). No CAF; the actors and tools call these.

#include <string>

#include "kernels/model_spec.hpp"
#include "kernels/weights.hpp"

namespace alpaserve::kernels {

inline constexpr const char* model_definition_file = "model.json";
inline constexpr const char* model_weights_file = "model.safetensors";

// The definition's JSON text (the keys above; ffn always written, MoE keys only for moe).
[[nodiscard]] std::string model_definition_json(const model_spec& spec);

// Parses a definition strictly: an object with exactly the known keys, required kind, hidden,
// heads, layers, vocab, seq_len; integers where numbers are expected. Throws
// std::invalid_argument "<source>: key '<key>': <problem>" (or "<source>: <problem>").
[[nodiscard]] model_spec parse_model_definition(const std::string& json_text,
                                                const std::string& source, const std::string& name);

struct model_folder {
  model_spec spec;
  std::string definition_path;  // <folder>/model.json
  std::string weights_path;     // <folder>/model.safetensors
};

// Reads <folder>/model.json (the spec, named `name`) and checks <folder>/model.safetensors
// exists. Throws std::invalid_argument naming the file on any problem.
[[nodiscard]] model_folder read_model_folder(const std::string& folder, const std::string& name);

// Checks the weights file's header against the spec: every tensor present, with the full shape
// and a dtype the loader reads (F32, F16, BF16). Reads only the header. Throws
// std::runtime_error "safetensors file '<path>': ..." naming the first bad tensor.
void check_model_weights(const model_folder& folder);

// Writes <folder>/model.json and <folder>/model.safetensors (F32), creating the folder.
void write_model_folder(const std::string& folder, const model_spec& spec,
                        const weight_map& weights);
// The seeded weights of `spec` (what a zoo model with that seed serves) as a model folder.
void export_seeded_model_folder(const std::string& folder, const model_spec& spec);

// Converts a Hugging Face BERT checkpoint (<from>/config.json + <from>/model.safetensors with HF
// names, with or without the "bert." prefix) into a model folder at `out`: q / k / v fused into
// attn.qkv, token type 0's embedding folded into the position table, the head tied to the token
// embeddings with zero bias (the pooler and the MLM transform are not imported), activation from
// hidden_act ("gelu" -> gelu_erf; "gelu_new" / "gelu_pytorch_tanh" -> gelu_tanh), norm_eps from
// layer_norm_eps (default 1e-12). Throws
// std::invalid_argument naming the file and key / tensor on any problem. Returns the spec.
model_spec import_hf_bert(const std::string& from, const std::string& out);

}  // namespace alpaserve::kernels
