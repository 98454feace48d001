#pragma once
// Model bucketing of the reference's "mp-search-sep" (enumerate_separations and get_partitions;
// ../shared/reference/alpaserve.md section 5.5): models with similar single-device latency share a
// bucket; each bucket gets its own slice of the devices, and only device splits roughly
// proportional to each bucket's load are tried.

#include <vector>

#include "planner/policy/placement.hpp"

namespace alpaserve::planner {

struct bucketing_options {
  double latency_threshold = 0.38;  // relative distance to a bucket's first member
  std::vector<double> ratio_thresholds = {1.0, 0.5, 0.3, 0.2, 0.1};
  size_t enough_partitions = 100;  // stop tightening once fewer partitions than this remain
};

// Buckets of model ids, in order of first member. A model joins the first bucket whose FIRST
// member's (1,1,1) max stage latency L0 satisfies |L - L0| / L0 < threshold.
[[nodiscard]] std::vector<std::vector<int>> bucket_models_by_latency(
    const std::vector<model_data>& models, double threshold = 0.38);

// The reference's size rule for the last part i of a composition of n.
[[nodiscard]] bool is_valid_size(int n, int i) noexcept;

// Ordered compositions of n into k positive parts whose last part satisfies is_valid_size at
// every level (reference get_partitions; it enumerates everything before filtering, so it grows
// combinatorially with k).
[[nodiscard]] std::vector<std::vector<int>> get_partitions(int n, int k);

// One way to split the problem: bucket b's models run on parts[b] devices.
struct separation {
  std::vector<int> parts;  // devices per bucket, same order as buckets
};

struct separation_set {
  std::vector<std::vector<int>> buckets;  // model ids per bucket
  std::vector<double> bucket_latency;     // L0 of each bucket
  std::vector<separation> separations;
};

// Buckets the models and keeps the device splits whose normalised throughput shares are within
// the tightest ratio threshold that still leaves at least `enough_partitions` (or the first that
// leaves fewer).
[[nodiscard]] separation_set enumerate_separations(const std::vector<model_data>& models,
                                                   const cluster_env& cluster,
                                                   const bucketing_options& options = {});

}  // namespace alpaserve::planner
