#pragma once
// Device presets for the analytic cost model (planner/profile/layer_costs.hpp): the public peak
// numbers of a device kind plus the few runtime constants the model needs. Sources and the
// calibration of each number: docs/profiles.md.

#include <string>
#include <vector>

namespace alpaserve::planner {

// One measured profile point a device preset is calibrated against: batch 1, op 1, pp stages.
struct calibration_point {
  std::string model;                  // zoo architecture name, e.g. "bert-1.3b"
  int pp = 1;                         // pipeline stages of the measurement
  std::vector<double> stage_latency;  // measured seconds per stage, size pp
};

struct device_spec {
  std::string name;
  double peak_flops = 0;              // dense fp16 tensor-core FLOP/s
  double memory_bandwidth = 0;        // device memory (HBM) bytes/s
  double interconnect_bandwidth = 0;  // intra-node all-reduce bus bandwidth per device, bytes/s
  double collective_latency = 0;      // seconds per step of a ring collective (alpha term)
  double inter_stage_bandwidth = 0;   // bytes/s for activations sent from one stage to the next
  double kernel_efficiency = 0;       // fraction of peak_flops that large GEMMs reach
  double gemm_half_size = 0;          // GEMM size g=(M*N*K)^(1/3) at half of kernel_efficiency
  double tile_dim = 0;         // tensor-core tile edge: a GEMM dimension below it wastes lanes
  double kernel_launch = 0;    // seconds of fixed cost per kernel
  double stage_overhead = 0;   // seconds every pipeline stage adds per batch (dispatch, sync)
  double input_overhead = 0;   // seconds the first stage adds (host-to-device input)
  double output_overhead = 0;  // seconds the last stage adds (device-to-host output)
  double memory_bytes = 0;     // device memory capacity in bytes
  // Measurements the compute of the named architectures is scaled to (zoo_profiles.hpp);
  // empty for uncalibrated presets.
  std::vector<calibration_point> calibration;
};

// "v100", "a100" or "h100"; throws input_error listing the valid names for anything else.
[[nodiscard]] const device_spec& device_preset(const std::string& name);
[[nodiscard]] std::vector<std::string> device_preset_names();

}  // namespace alpaserve::planner
