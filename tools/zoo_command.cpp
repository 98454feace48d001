// `alpaserve zoo`: the built-in model zoo on a device preset: list it, show the calibration
// against the reference's V100 measurements, and write its profile database (docs/profiles.md).

#include <cstdio>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "planner/core/input_error.hpp"
#include "planner/profile/device_model.hpp"
#include "planner/profile/model_zoo.hpp"
#include "planner/profile/profile_io.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

struct zoo_options {
  std::string device = "v100";
  std::string models;  // comma separated; empty = all
  std::string out;
  bool list = false;
  bool calibration = false;
};

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

int run_zoo(const zoo_options& o) {
  using namespace planner;
  const device_spec& device = device_preset(o.device);
  std::vector<std::string> names = split_names(o.models);
  if (names.empty()) names = zoo_model_names();
  for (const auto& n : names)
    if (find_zoo_model(n) == nullptr) (void)zoo_profile_db(device, {n});  // throws, listing names

  if (o.list || (o.out.empty() && !o.calibration)) {
    std::printf("%-12s %-5s %7s %6s %6s %5s %6s %12s %14s\n", "model", "kind", "seq", "hidden",
                "layers", "heads", "params", "fp16 GiB", "latency(s)");
    for (const auto& n : names) {
      const model_architecture& a = *find_zoo_model(n);
      const model_profile p = zoo_profile(a, device, {1}, {1}, {1});
      std::printf("%-12s %-5s %7d %6d %6d %5d %5.2fB %12.3f %14.4f\n", a.name.c_str(),
                  a.type == model_architecture::kind::moe ? "moe" : "bert", a.seq_len, a.hidden,
                  a.layers, a.heads, parameter_count(a) / 1e9, 2 * parameter_count(a) / gib,
                  p.single_device_latency());
    }
    std::printf("(single-device batch-1 latency on %s)\n", device.name.c_str());
  }
  if (o.calibration) {
    std::printf("%-12s %3s %5s %12s %12s %8s %12s\n", "model", "pp", "stage", "reference(s)",
                "ours(s)", "error", "unscaled(s)");
    for (const auto& r : calibration_report(device))
      std::printf("%-12s %3d %5d %12.4f %12.4f %+7.2f%% %12.4f\n", r.model.c_str(), r.pp, r.stage,
                  r.reference, r.predicted, 100 * (r.predicted / r.reference - 1), r.raw);
    for (const auto& n : names) {
      const double s = calibrated_compute_scale(*find_zoo_model(n), device);
      if (s != 1.0) std::printf("compute scale %s: %.4f\n", n.c_str(), s);
    }
  }
  if (!o.out.empty()) {
    const profile_db db = zoo_profile_db(device, names);
    write_profile_db(db, o.out);
    spdlog::info("wrote {} model profiles for {} to {}", db.size(), device.name, o.out);
  }
  return 0;
}

void add_zoo(CLI::App& app, run_fn& run) {
  auto opts = std::make_shared<zoo_options>();
  auto* sub = app.add_subcommand(
      "zoo", "List the built-in model zoo and write its analytic profile database");
  sub->add_option("--device", opts->device, "device preset: v100, a100 or h100")
      ->capture_default_str();
  sub->add_option("--models", opts->models, "comma-separated zoo models (default: all)");
  sub->add_option("--out", opts->out, "write the profile database (JSON) to this file");
  sub->add_flag("--list", opts->list, "print the zoo table (the default without --out)");
  sub->add_flag("--calibration", opts->calibration,
                "compare with the reference's V100 measurements");
  sub->callback([opts, &run] { run = [opts] { return run_zoo(*opts); }; });
}

const command_registration registration{"zoo", 40, &add_zoo};

}  // namespace
}  // namespace alpaserve::tools
