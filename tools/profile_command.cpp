// `alpaserve profile`: measure a real model's per-layer latency and memory on a device kind and
// write the profile database `plan`, `simulate` and the controller read
// (docs/real-execution.md, format in docs/profiles.md).

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "actors/real_profiler.hpp"
#include "actors/real_stage.hpp"
#include "kernels/cuda_device.hpp"
#include "kernels/model_folder.hpp"
#include "planner/core/input_error.hpp"
#include "planner/profile/profile_io.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

struct profile_args {
  std::string model;
  std::string folder;
  std::string name;
  std::string device = "cpu";
  std::vector<int> batch_sizes = {1, 2, 4, 8, 16};
  std::vector<int> ops = {1, 2};
  std::vector<int> pps = {1, 2, 4};
  int seq = 0;
  int repeats = 5;
  int gap_ms = 10;
  uint64_t seed = 0;
  std::string weights;
  std::string merge;
  std::string out = "profiles.json";
  bool quiet = false;
};

int run_profile(const profile_args& a) {
  kernels::model_spec spec;
  std::string weights = a.weights;
  if (a.model.empty() == a.folder.empty())
    throw planner::input_error("<command line>", "--model",
                               "give either --model (a zoo architecture) or --model-folder");
  if (!a.folder.empty()) {
    // A model folder: its definition and weights; the profile is named like the folder.
    if (!a.weights.empty())
      throw planner::input_error("<command line>", "--weights",
                                 "a model folder brings its own weights");
    const std::string name =
        !a.name.empty() ? a.name
                        : std::filesystem::path(a.folder).lexically_normal().filename().string();
    try {
      const kernels::model_folder f = kernels::read_model_folder(a.folder, name);
      kernels::check_model_weights(f);
      spec = f.spec;
      weights = f.weights_path;
    } catch (const std::exception& e) {
      throw planner::input_error(a.folder, "--model-folder", e.what());
    }
  } else {
    try {
      spec = actors::real_model_spec(a.model, a.seed, a.name.empty() ? a.model : a.name);
    } catch (const std::invalid_argument& e) {
      throw planner::input_error("<command line>", "--model", e.what());
    }
  }
  if (a.device != "cpu" && a.device != "cuda")
    throw planner::input_error("<command line>", "--device",
                               "device kind must be cpu or cuda, got '" + a.device + "'");
  if (a.device == "cuda" && kernels::cuda_device_count() == 0) {
    std::cerr << "profile: no CUDA device on this machine; nothing measured\n";
    return 77;
  }
  if (!weights.empty() && !std::filesystem::exists(weights))
    throw planner::input_error(a.weights, "--weights", "file not found");
  planner::profile_db db;
  if (!a.merge.empty()) db = planner::read_profile_db(a.merge);

  actors::real_profile_options o;
  o.device = a.device;
  o.batch_sizes = a.batch_sizes;
  o.ops = a.ops;
  o.pps = a.pps;
  o.seq = a.seq;
  o.repeats = a.repeats;
  o.gap_ms = a.gap_ms;
  o.weights = weights;
  const bool bar = !a.quiet && isatty(2);
  o.progress = [bar](size_t done, size_t total, const std::string& what) {
    if (!bar || total == 0) return;
    const int width = 30;
    const int filled = static_cast<int>(width * std::min(done, total) / total);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu %-28.28s", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), done, total, what.c_str());
    std::fflush(stderr);
  };
  actors::real_profile r;
  try {
    r = actors::profile_real_model(spec, o);
  } catch (const std::invalid_argument& e) {
    throw planner::input_error("<command line>", "--batch-sizes/--ops/--pps/--seq", e.what());
  }
  if (bar) std::fputs("\n", stderr);
  for (const auto& s : r.skipped) std::cerr << "profile: skipped " << s << "\n";
  db.add(r.profile);
  planner::write_profile_db(db, a.out);

  std::cout << fmt::format("{} on {} (seq {}, median of {}):\n", spec.name, a.device,
                           a.seq > 0 ? a.seq : spec.seq_len, a.repeats);
  for (const auto& u : r.units) {
    double sum = 0, w = 0;
    for (double t : u.latency_s) sum += t;
    for (double x : u.weight_bytes) w += x;
    std::cout << fmt::format(
        "  op {} batch {:>2}: layers {:.3f} ms total ({:.3f} .. {:.3f}), "
        "{:.1f} MiB weights per rank\n",
        u.op, u.batch, sum * 1e3, *std::min_element(u.latency_s.begin(), u.latency_s.end()) * 1e3,
        *std::max_element(u.latency_s.begin(), u.latency_s.end()) * 1e3, w / (1 << 20));
  }
  for (const auto& [pc, cp] : r.profile.configs) {
    std::string stages;
    for (double t : cp.stage_latency(cp.latency.begin()->first))
      stages += fmt::format("{}{:.3f}", stages.empty() ? "" : ", ", t * 1e3);
    std::cout << fmt::format("  {} boundaries [{}]: batch {} stage ms [{}]\n", pc.to_string(),
                             fmt::join(cp.boundaries, ", "), cp.latency.begin()->first, stages);
  }
  std::cout << "wrote " << a.out << "\n";
  return 0;
}

void add_profile(CLI::App& app, run_fn& run) {
  auto args = std::make_shared<profile_args>();
  auto* sub = app.add_subcommand(
      "profile",
      "Measure a real model's per-layer latency and memory on a device kind (cpu, cuda), split it "
      "into pipeline stages, and write the profile database the planner and controller read");
  sub->add_option("--model", args->model, "model-zoo architecture (e.g. bert-tiny, bert-small)");
  sub->add_option("--model-folder", args->folder,
                  "a model folder (model.json + model.safetensors) instead of --model");
  sub->add_option("--name", args->name,
                  "profile name (default: the architecture, or the model folder's name)");
  sub->add_option("--device", args->device, "device kind: cpu or cuda (default cpu)");
  sub->add_option("--batch-sizes", args->batch_sizes, "batch sizes (default 1,2,4,8,16)")
      ->delimiter(',');
  sub->add_option("--ops", args->ops, "intra-op (tensor) parallel degrees (default 1,2)")
      ->delimiter(',');
  sub->add_option("--pps", args->pps, "pipeline stage counts (default 1,2,4)")->delimiter(',');
  sub->add_option("--seq", args->seq, "tokens per request (default: the model's longest)");
  sub->add_option("--repeats", args->repeats, "timed runs per layer, median taken (default 5)");
  sub->add_option("--gap-ms", args->gap_ms,
                  "idle milliseconds before each timed run, as the runtime's workers idle between "
                  "requests (default 10; 0: back to back)")
      ->check(CLI::Range(0, 10000));
  sub->add_option("--seed", args->seed, "seed of the deterministic weights (default 0)");
  sub->add_option("--weights", args->weights, "safetensors file with the model's weights");
  sub->add_option("--merge", args->merge, "add to this existing profile database");
  sub->add_option("--out", args->out, "output profile database (JSON, default profiles.json)");
  sub->add_flag("--quiet", args->quiet, "no progress bar");
  sub->callback([args, &run] { run = [args] { return run_profile(*args); }; });
}

const command_registration registration{"profile", 45, &add_profile};

}  // namespace
}  // namespace alpaserve::tools
