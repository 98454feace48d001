// `alpaserve model export | import-hf`: write model folders (model.json + model.safetensors) that
// a config serves with `[[models]] folder = "..."` (docs/models.md "Model folders").

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "actors/real_stage.hpp"
#include "kernels/model_folder.hpp"
#include "planner/core/input_error.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

namespace fs = std::filesystem;

struct export_args {
  std::string architecture;
  std::string definition;
  uint64_t seed = 0;
  std::string activation;  // empty: the architecture's (gelu_tanh) or the definition's
  std::string out;
  bool force = false;
};

struct import_args {
  std::string from;
  std::string out;
  bool force = false;
};

// Refuses to overwrite an existing model folder unless --force.
void check_out(const std::string& out, bool force) {
  std::error_code ec;
  if (!force && fs::exists(fs::path(out) / kernels::model_definition_file, ec))
    throw planner::input_error(out, "--out",
                               "already holds a model folder; pass --force to replace it");
}

void print_summary(const std::string& out, const kernels::model_spec& m) {
  std::cout << fmt::format(
      "wrote {}/{} and {}/{}: {} hidden {} heads {} ffn {} layers {} vocab {} seq_len {}{} "
      "activation {}\n",
      out, kernels::model_definition_file, out, kernels::model_weights_file,
      kernels::to_string(m.kind), m.hidden, m.heads, m.ffn_dim(), m.layers, m.vocab, m.seq_len,
      m.kind == kernels::model_kind::moe
          ? fmt::format(" experts {} every {} top_k {}", m.num_experts, m.expert_every, m.top_k)
          : std::string(),
      kernels::to_string(m.activation));
}

int run_export(const export_args& a) {
  kernels::model_spec m;
  if (a.architecture.empty() == a.definition.empty())
    throw planner::input_error("<command line>", "--architecture",
                               "give either --architecture or --definition");
  if (!a.definition.empty()) {
    std::ifstream in(a.definition);
    if (!in) throw planner::input_error(a.definition, "--definition", "cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    try {
      m = kernels::parse_model_definition(text.str(), a.definition, "model");
    } catch (const std::invalid_argument& e) {
      throw planner::input_error(a.definition, "--definition", e.what());
    }
    m.seed = a.seed;
  } else {
    try {
      m = actors::real_model_spec(a.architecture, a.seed, a.architecture);
    } catch (const std::invalid_argument& e) {
      throw planner::input_error("<command line>", "--architecture", e.what());
    }
  }
  if (!a.activation.empty()) {
    try {
      m.activation = kernels::parse_activation(a.activation);
    } catch (const std::invalid_argument& e) {
      throw planner::input_error("<command line>", "--activation", e.what());
    }
  }
  check_out(a.out, a.force);
  kernels::export_seeded_model_folder(a.out, m);
  print_summary(a.out, m);
  return 0;
}

int run_import(const import_args& a) {
  check_out(a.out, a.force);
  kernels::model_spec m;
  try {
    m = kernels::import_hf_bert(a.from, a.out);
  } catch (const std::invalid_argument& e) {
    throw planner::input_error(a.from, "--from", e.what());
  }
  print_summary(a.out, m);
  return 0;
}

void add_model(CLI::App& app, run_fn& run) {
  auto* sub =
      app.add_subcommand("model",
                         "Model folders for the cpu / cuda backends: model.json (the definition) + "
                         "model.safetensors (docs/models.md)");
  sub->require_subcommand(1);

  auto ex = std::make_shared<export_args>();
  auto* e = sub->add_subcommand(
      "export",
      "Write a model-zoo architecture (or a model.json definition) with seeded weights as a "
      "model folder");
  e->add_option("--architecture", ex->architecture, "model-zoo architecture (e.g. bert-tiny)");
  e->add_option("--definition", ex->definition,
                "a model.json (e.g. a small MoE) instead of --architecture");
  e->add_option("--seed", ex->seed, "seed of the deterministic weights")->capture_default_str();
  e->add_option("--activation", ex->activation,
                "gelu_tanh or gelu_erf (default: gelu_tanh, or the definition's)");
  e->add_option("--out", ex->out, "folder to write")->required();
  e->add_flag("--force", ex->force, "replace an existing model folder");
  e->callback([&run, ex] { run = [ex] { return run_export(*ex); }; });

  auto im = std::make_shared<import_args>();
  auto* i = sub->add_subcommand(
      "import-hf",
      "Convert a Hugging Face BERT checkpoint (config.json + model.safetensors) into a model "
      "folder: q/k/v fused, token type 0 folded into the positions, head tied to the token "
      "embeddings");
  i->add_option("--from", im->from, "folder with config.json and model.safetensors")->required();
  i->add_option("--out", im->out, "folder to write")->required();
  i->add_flag("--force", im->force, "replace an existing model folder");
  i->callback([&run, im] { run = [im] { return run_import(*im); }; });
}

const command_registration registration{"model", 44, &add_model};

}  // namespace
}  // namespace alpaserve::tools
