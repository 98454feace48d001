// Model folders: the definition's strict parser, export / read round trip, weight checks that
// name the file and tensor, the erf GELU, and the Hugging Face BERT importer's fusion.

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "kernels/cpu/ops.hpp"
#include "kernels/local_pipeline.hpp"
#include "kernels/model_folder.hpp"
#include "kernels/safetensors.hpp"
#include "test_models.hpp"

using namespace alpaserve::kernels;
using namespace alpaserve::kernels::testing;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("alpaserve_model_folder_" + name);
  fs::remove_all(p);
  return p.string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("model definition: round trip and strict errors", "[kernels][model_folder]") {
  model_spec m = small_moe();
  m.activation = activation_kind::gelu_erf;
  m.norm_eps = 1e-12;
  const model_spec back = parse_model_definition(model_definition_json(m), "m.json", "x");
  CHECK(back.name == "x");
  CHECK(back.kind == model_kind::moe);
  CHECK(back.hidden == m.hidden);
  CHECK(back.heads == m.heads);
  CHECK(back.ffn_dim() == m.ffn_dim());
  CHECK(back.layers == m.layers);
  CHECK(back.vocab == m.vocab);
  CHECK(back.seq_len == m.seq_len);
  CHECK(back.num_experts == m.num_experts);
  CHECK(back.expert_every == m.expert_every);
  CHECK(back.top_k == m.top_k);
  CHECK(back.activation == activation_kind::gelu_erf);
  CHECK(back.norm_eps == 1e-12);
  CHECK(parse_model_definition(model_definition_json(small_bert()), "m.json", "x").norm_eps ==
        1e-5);

  const std::string ok =
      R"("kind": "bert", "hidden": 64, "heads": 4, "layers": 2, "vocab": 10, "seq_len": 8)";
  CHECK(parse_model_definition("{" + ok + "}", "m.json", "x").activation ==
        activation_kind::gelu_tanh);
  CHECK_THAT(
      error_of([&] { (void)parse_model_definition("{" + ok + R"(, "hiden": 3})", "m.json", "x"); }),
      Catch::StartsWith("m.json: key 'hiden': unknown key"));
  CHECK_THAT(error_of([&] {
               (void)parse_model_definition(R"({"kind": "bert", "hidden": 64})", "m.json", "x");
             }),
             Catch::Contains("key 'heads': missing required key"));
  CHECK_THAT(
      error_of([&] { (void)parse_model_definition("{" + ok + R"(, "ffn": 1.5})", "m.json", "x"); }),
      Catch::Contains("key 'ffn': must be an integer"));
  CHECK_THAT(error_of([&] {
               (void)parse_model_definition("{" + ok + R"(, "experts": 4})", "m.json", "x");
             }),
             Catch::Contains("key 'experts': only for kind \"moe\""));
  CHECK_THAT(error_of([&] {
               (void)parse_model_definition("{" + ok + R"(, "activation": "relu"})", "m.json", "x");
             }),
             Catch::Contains("key 'activation': unknown activation 'relu'"));
  CHECK_THAT(
      error_of([&] {
        (void)parse_model_definition(
            R"({"kind": "bert", "hidden": 64, "heads": 5, "layers": 2, "vocab": 10, "seq_len": 8})",
            "m.json", "x");
      }),
      Catch::Contains("key 'heads': must divide hidden"));
  CHECK_THAT(error_of([&] {
               (void)parse_model_definition("{" + ok + R"(, "norm_eps": 0})", "m.json", "x");
             }),
             Catch::Contains("key 'norm_eps': must be a number in (0, 1)"));
  CHECK_THAT(error_of([&] { (void)parse_model_definition("{", "m.json", "x"); }),
             Catch::StartsWith("m.json: not valid JSON"));
}

TEST_CASE("model folder: export, read, serve the same logits as the seeded model",
          "[kernels][model_folder]") {
  const model_spec m = small_bert();
  const std::string dir = temp_dir("export");
  export_seeded_model_folder(dir, m);
  const model_folder f = read_model_folder(dir, "mine");
  CHECK(f.spec.name == "mine");
  CHECK(f.weights_path == (fs::path(dir) / "model.safetensors").string());
  CHECK_NOTHROW(check_model_weights(f));
  const tensor ids({1, 6}, {1, 5, 9, 2, 7, 3});
  local_pipeline seeded(m, even_boundaries(m.layers, 1), 1, "cpu");
  load_options opts;
  opts.weights_path = f.weights_path;
  local_pipeline from_file(f.spec, even_boundaries(m.layers, 2), 1, "cpu", opts);
  const tensor a = seeded.run(ids);
  const tensor b = from_file.run(ids);
  REQUIRE(a.shape == b.shape);
  for (size_t i = 0; i < a.numel(); ++i) CHECK(a.data[i] == Approx(b.data[i]).margin(1e-5));

  CHECK_THAT(error_of([&] { (void)read_model_folder(dir + "/nope", "x"); }),
             Catch::Contains("not a directory"));
}

TEST_CASE("model folder: missing tensor, wrong shape, wrong dtype are named",
          "[kernels][model_folder]") {
  const model_spec m = small_bert();
  seeded_weights src(m.seed);
  weight_map all;
  for (const auto& d : model_weight_descs(m)) all.emplace(d.name, src.fetch(d));

  const std::string dir = temp_dir("bad");
  weight_map missing = all;
  missing.erase("layers.1.ffn.fc2.weight");
  write_model_folder(dir, m, missing);
  CHECK_THAT(error_of([&] { check_model_weights(read_model_folder(dir, "x")); }),
             Catch::Contains("model.safetensors': missing tensor 'layers.1.ffn.fc2.weight'"));

  weight_map wrong = all;
  wrong["layers.0.attn.out.weight"] = tensor({64, 32});
  write_model_folder(dir, m, wrong);
  CHECK_THAT(
      error_of([&] { check_model_weights(read_model_folder(dir, "x")); }),
      Catch::Contains("tensor 'layers.0.attn.out.weight' has shape [64, 32], expected [64, 64]"));
}

TEST_CASE("gelu_erf is the exact GELU", "[kernels][model_folder]") {
  std::vector<float> x = {-3.0f, -1.0f, -0.1f, 0.0f, 0.5f, 2.0f};
  const std::vector<float> in = x;
  const float zero[6] = {};
  cpu::add_bias_gelu_erf(x.data(), zero, 1, 6);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = in[i];
    CHECK(x[i] == Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))).margin(1e-6));
  }
}

TEST_CASE("import_hf_bert fuses q/k/v and folds the token type", "[kernels][model_folder]") {
  const int h = 8, f = 16, vocab = 11, pos = 6;
  const std::string from = temp_dir("hf");
  fs::create_directories(from);
  {
    std::ofstream c(fs::path(from) / "config.json");
    c << R"({"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2,
             "intermediate_size": 16, "num_hidden_layers": 1, "vocab_size": 11,
             "max_position_embeddings": 6, "hidden_act": "gelu", "type_vocab_size": 2})";
  }
  weight_map hf;
  float v = 0;
  auto t = [&](std::vector<int64_t> shape) {
    tensor x(std::move(shape));
    for (auto& e : x.data) e = (v += 0.001f);
    return x;
  };
  const std::string p = "bert.";
  hf[p + "embeddings.word_embeddings.weight"] = t({vocab, h});
  hf[p + "embeddings.position_embeddings.weight"] = t({pos, h});
  hf[p + "embeddings.token_type_embeddings.weight"] = t({2, h});
  hf[p + "embeddings.LayerNorm.weight"] = t({h});
  hf[p + "embeddings.LayerNorm.bias"] = t({h});
  const std::string l = p + "encoder.layer.0.";
  for (const char* q : {"query", "key", "value"}) {
    hf[l + "attention.self." + q + ".weight"] = t({h, h});
    hf[l + "attention.self." + q + ".bias"] = t({h});
  }
  hf[l + "attention.output.dense.weight"] = t({h, h});
  hf[l + "attention.output.dense.bias"] = t({h});
  hf[l + "attention.output.LayerNorm.weight"] = t({h});
  hf[l + "attention.output.LayerNorm.bias"] = t({h});
  hf[l + "intermediate.dense.weight"] = t({f, h});
  hf[l + "intermediate.dense.bias"] = t({f});
  hf[l + "output.dense.weight"] = t({h, f});
  hf[l + "output.dense.bias"] = t({h});
  hf[l + "output.LayerNorm.weight"] = t({h});
  hf[l + "output.LayerNorm.bias"] = t({h});
  write_safetensors((fs::path(from) / "model.safetensors").string(), hf);

  const std::string out = temp_dir("hf_out");
  const model_spec m = import_hf_bert(from, out);
  CHECK(m.activation == activation_kind::gelu_erf);
  CHECK(m.norm_eps == 1e-12);  // BertConfig's default when config.json has none
  CHECK(m.hidden == h);
  CHECK(m.ffn_dim() == f);
  CHECK(m.seq_len == pos);
  const model_folder folder = read_model_folder(out, "imported");
  CHECK_NOTHROW(check_model_weights(folder));
  safetensors_file file(folder.weights_path);
  const tensor qkv = file.read("layers.0.attn.qkv.weight");
  const tensor& k = hf.at(l + "attention.self.key.weight");
  for (int i = 0; i < h * h; ++i) CHECK(qkv.data[static_cast<size_t>(h * h + i)] == k.data[i]);
  const tensor positions = file.read("embed.positions.weight");
  const tensor& hp = hf.at(p + "embeddings.position_embeddings.weight");
  const tensor& tt = hf.at(p + "embeddings.token_type_embeddings.weight");
  CHECK(positions.data[static_cast<size_t>(h + 3)] == hp.data[h + 3] + tt.data[3]);
  CHECK(file.read("head.weight").data == hf.at(p + "embeddings.word_embeddings.weight").data);

  hf.erase(l + "output.dense.bias");
  write_safetensors((fs::path(from) / "model.safetensors").string(), hf);
  CHECK_THAT(error_of([&] { (void)import_hf_bert(from, temp_dir("hf_out2")); }),
             Catch::Contains("missing tensor 'bert.encoder.layer.0.output.dense.bias'"));
}
