#pragma once
// `alpaserve profile`: measures a real model on a device kind and turns the measurements into
// the planner's profile (per parallel config (1, op, pp) and batch size: per-stage latency,
// weight and activation bytes, and the layer boundaries used). No CAF.
//
// Method (docs/real-execution.md): each encoder layer is one partition unit (the embedding is
// fused into layer 0 and the head into the last layer, as the stages hold them). For every op
// degree and batch size every unit is loaded as its own shard and run `repeats` times on a chain
// of real activations; the median is its latency. With op > 1 the op ranks run on their own
// threads, each with its own shard, and all-reduce through a real Gloo group (TCP on
// 127.0.0.1), so the unit time includes the collective; every run starts with rank 0 handing the
// input to the other ranks, as in the runtime. planner::partition_stages then splits the units
// into pp stages on the batch-1 times (weights are placed once), and each stage of the split is
// measured again as one whole shard at every batch size (on the real activation entering it):
// that is the stage latency written. Stage overheads are zero: the profile predicts the stage
// workers' compute time (what replies report as stage_run_s); messaging is the dispatcher's
// overhead model.

#include <functional>
#include <string>
#include <vector>

#include "kernels/model_spec.hpp"
#include "kernels/tensor.hpp"
#include "planner/profile/profile.hpp"

namespace alpaserve::actors {

struct real_profile_options {
  std::string device = "cpu";  // backend kind: "cpu" or "cuda"
  std::vector<int> batch_sizes = {1, 2, 4, 8, 16};
  std::vector<int> ops = {1, 2};
  std::vector<int> pps = {1, 2, 4};
  int seq = 0;      // tokens per request; 0 = the model's seq_len
  int repeats = 5;  // timed runs per unit (median)
  int warmup = 2;   // untimed runs first (caches, page faults)
  // Idle time before each timed run. The runtime's workers sit idle between requests, and a run
  // after a pause is slower than one straight after another (caches, clocks); 0 = back to back.
  int gap_ms = 10;
  std::string weights;  // safetensors file; empty = seeded
  // (units measured so far, units in total, what is being measured)
  std::function<void(size_t, size_t, const std::string&)> progress;
};

// Per-unit measurements of one (op, batch size).
struct unit_measurement {
  int op = 1;
  int batch = 1;
  std::vector<double> latency_s;        // per layer (embedding in 0, head in the last)
  std::vector<double> weight_bytes;     // per layer, one rank
  std::vector<double> output_bytes;     // per layer: the activation handed on
  std::vector<kernels::tensor> inputs;  // per layer: the real activation it was measured on
};

struct real_profile {
  planner::model_profile profile;  // named model.name
  std::vector<unit_measurement> units;
  std::vector<std::string> skipped;  // "op 4: does not divide 4 heads", "pp 16 > 8 layers"
};

// Throws std::invalid_argument for bad options (empty lists, batch < 1, seq out of range) and
// std::runtime_error when the backend cannot load or run the model.
[[nodiscard]] real_profile profile_real_model(const kernels::model_spec& model,
                                              const real_profile_options& options);

}  // namespace alpaserve::actors
