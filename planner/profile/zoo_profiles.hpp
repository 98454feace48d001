#pragma once
// Profiles of zoo models computed by the analytic cost model (layer_costs.hpp) on a device preset
// (device_model.hpp), split into stages by stage_partition.hpp. Calibration: docs/profiles.md.

#include <string>
#include <vector>

#include "planner/profile/device_model.hpp"
#include "planner/profile/model_zoo.hpp"
#include "planner/profile/profile.hpp"
#include "planner/profile/stage_partition.hpp"

namespace alpaserve::planner {

// Profile named arch.name with every (1, op, pp) for op in ops and pp in pps that the architecture
// allows (pp <= layers, op divides heads, hidden and experts), at every batch size. The stage split
// of a config is chosen on batch-1 costs and kept for the other batch sizes (weights are placed
// once). Configs that exceed the device memory are still listed: the planner checks memory.
[[nodiscard]] model_profile zoo_profile(const model_architecture& arch, const device_spec& device,
                                        std::vector<int> ops = {1, 2, 4, 8},
                                        std::vector<int> pps = {1, 2, 4, 8, 16},
                                        std::vector<int> batch_sizes = {1, 2, 4, 8, 16});
// Profiles of the named zoo models (all of them when names is empty); throws input_error naming
// an unknown model and listing the valid ones.
[[nodiscard]] profile_db zoo_profile_db(const device_spec& device,
                                        const std::vector<std::string>& names = {});

// The device's per-stage costs as the partitioner sees them.
[[nodiscard]] stage_overheads device_stage_overheads(const device_spec& device);
// The partition units of arch: one per encoder layer, the embedding fused into the first and the
// head into the last; latencies multiplied by compute_scale.
[[nodiscard]] std::vector<partition_layer> partition_layers(const model_architecture& arch,
                                                            const device_spec& device,
                                                            int batch_size, int op,
                                                            double compute_scale);
// Factor on all layer latencies of arch on device that minimizes the largest relative error
// against the device's calibration points for arch; 1 when it has none.
[[nodiscard]] double calibrated_compute_scale(const model_architecture& arch,
                                              const device_spec& device);

// One calibration point, measured vs predicted (the table of docs/profiles.md).
struct calibration_row {
  std::string model;
  int pp = 1;
  int stage = 0;
  double reference = 0;  // seconds, measured
  double predicted = 0;  // seconds, this cost model
  double raw = 0;        // seconds, this cost model with compute scale 1
};
[[nodiscard]] std::vector<calibration_row> calibration_report(const device_spec& device);

}  // namespace alpaserve::planner
