#include "planner/profile/device_model.hpp"

#include "planner/core/input_error.hpp"

namespace alpaserve::planner {

namespace {

// Runtime constants fitted to the reference's V100 pipeline measurements (docs/profiles.md,
// "Calibration"). They describe the serving runtime more than the chip, so the other presets keep
// them: the A100/H100 profiles stay comparable to the V100 ones.
constexpr double fitted_stage_overhead = 1.9e-3;
constexpr double fitted_input_overhead = 1.4e-3;
constexpr double fitted_output_overhead = 2.0e-3;
constexpr double fitted_inter_stage_bandwidth = 20e9;

device_spec make_v100() {
  device_spec d;
  d.name = "v100";
  d.peak_flops = 125e12;             // V100 SXM2 fp16 tensor cores
  d.memory_bandwidth = 900e9;        // HBM2
  d.interconnect_bandwidth = 130e9;  // NVLink 2 (hybrid cube mesh), NCCL all-reduce bus bandwidth
  d.collective_latency = 8e-6;
  d.inter_stage_bandwidth = fitted_inter_stage_bandwidth;
  d.kernel_efficiency = 0.85;
  d.gemm_half_size = 150;
  d.tile_dim = 128;
  d.kernel_launch = 5e-6;
  d.stage_overhead = fitted_stage_overhead;
  d.input_overhead = fitted_input_overhead;
  d.output_overhead = fitted_output_overhead;
  d.memory_bytes = 16e9;  // 16 GB HBM2 (AWS p3.16xlarge)
  // The reference's measured V100 numbers (../shared/reference/alpaserve.md section 1.2): the
  // hard-coded alpa/bert-* profiles, bert-6.7b's 0.396 s and bert-103.5b's 4.6 s SLO base.
  d.calibration = {
      {"bert-1.3b", 1, {0.099}},
      {"bert-1.3b", 2, {0.051, 0.052}},
      {"bert-1.3b", 4, {0.028, 0.027, 0.027, 0.029}},
      {"bert-1.3b", 8, {0.015, 0.014, 0.014, 0.014, 0.014, 0.014, 0.014, 0.016}},
      {"bert-2.6b", 1, {0.148}},
      {"bert-2.6b", 2, {0.075, 0.076}},
      {"bert-6.7b", 1, {0.396}},
      {"bert-103.5b", 1, {4.6}},
  };
  return d;
}

device_spec make_a100() {
  device_spec d = make_v100();
  d.name = "a100";
  d.peak_flops = 312e12;             // A100 SXM4 dense fp16 tensor cores
  d.memory_bandwidth = 2039e9;       // HBM2e, 80 GB part
  d.interconnect_bandwidth = 230e9;  // NVLink 3 (600 GB/s bidirectional), NCCL bus bandwidth
  d.collective_latency = 6e-6;
  d.memory_bytes = 80e9;
  d.calibration.clear();
  return d;
}

device_spec make_h100() {
  device_spec d = make_v100();
  d.name = "h100";
  d.peak_flops = 989e12;             // H100 SXM5 dense fp16 tensor cores (1979 with sparsity)
  d.memory_bandwidth = 3350e9;       // HBM3
  d.interconnect_bandwidth = 360e9;  // NVLink 4 (900 GB/s bidirectional), NCCL bus bandwidth
  d.collective_latency = 5e-6;
  d.gemm_half_size = 250;  // more SMs need larger GEMMs to fill
  d.memory_bytes = 80e9;
  d.calibration.clear();
  return d;
}

const std::vector<device_spec>& presets() {
  static const std::vector<device_spec> all = {make_v100(), make_a100(), make_h100()};
  return all;
}

}  // namespace

const device_spec& device_preset(const std::string& name) {
  for (const auto& d : presets())
    if (d.name == name) return d;
  std::string valid;
  for (const auto& n : device_preset_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw input_error("", "device " + name, "unknown device preset; valid: " + valid);
}

std::vector<std::string> device_preset_names() {
  std::vector<std::string> names;
  for (const auto& d : presets()) names.push_back(d.name);
  return names;
}

}  // namespace alpaserve::planner
