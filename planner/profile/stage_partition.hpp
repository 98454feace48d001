#pragma once
// Splitting a model's layers into pp contiguous pipeline stages so that the slowest stage is as
// fast as possible (exact dynamic programming), counting per-stage overheads and the activation
// transfer into every stage but the first.

#include <limits>
#include <vector>

namespace alpaserve::planner {

// One unit the partitioner may not split (an encoder layer with whatever is fused to it).
struct partition_layer {
  double latency = 0;       // seconds
  double weight_bytes = 0;  // per device of the stage
  double output_bytes = 0;  // sent to the next stage when a stage boundary follows this layer
};

// Costs a stage adds on top of its layers' latencies.
struct stage_overheads {
  double per_stage = 0;    // every stage
  double first_stage = 0;  // the first stage only (input arrives from the host)
  double last_stage = 0;   // the last stage only (output returns to the host)
  // The receiving stage pays output_bytes / inter_stage_bandwidth + transfer_latency.
  double inter_stage_bandwidth = std::numeric_limits<double>::infinity();
  double transfer_latency = 0;
};

struct stage_partition {
  std::vector<int> boundaries;        // size pp + 1; stage i holds layers [b[i], b[i + 1])
  std::vector<double> stage_latency;  // seconds, overheads included
  std::vector<double> stage_weight;   // bytes per device
  [[nodiscard]] double max_latency() const noexcept;
  [[nodiscard]] double max_weight() const noexcept;
};

// Latency of stage `index` of `num_stages` holding layers [begin, end).
[[nodiscard]] double stage_latency(const std::vector<partition_layer>& layers, int begin, int end,
                                   int index, int num_stages, const stage_overheads& overheads);

// Minimizes the maximum stage latency; among the optimal splits, minimizes the maximum stage
// weight. Throws std::invalid_argument unless 1 <= pp <= layers.size().
[[nodiscard]] stage_partition partition_stages(const std::vector<partition_layer>& layers, int pp,
                                               const stage_overheads& overheads);

// The stage costs of a given split (boundaries as in stage_partition), e.g. to price other batch
// sizes on the split chosen for batch 1.
[[nodiscard]] stage_partition evaluate_partition(const std::vector<partition_layer>& layers,
                                                 const std::vector<int>& boundaries,
                                                 const stage_overheads& overheads);

}  // namespace alpaserve::planner
