#pragma once
// Statistics of a simulation as the reference computes them (Workload.compute_stats and the
// fast_stats path of approximate_one_case; ../shared/reference/alpaserve.md section 4.4), the
// placement score, and latency percentile helpers shared by the simulators.
// Sums follow numpy's pairwise order so means match the reference to the last bit.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/sim/approx_simulator.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

// Seconds trimmed at each end by compute_stats (the reference's DEFAULT_WARMUP).
inline constexpr double default_warmup = 10.0;

struct per_model_stats {
  std::string name;
  int64_t num_requests = 0;
  double goodput = 0;     // fraction of this model's requests served within the SLO
  double throughput = 0;  // good requests per second
  // Over good requests only (0 when there is none).
  double latency_mean = 0;
  double latency_std = 0;
  double latency_p90 = 0;
  double latency_p99 = 0;
};

struct sim_stats {
  std::vector<per_model_stats> per_model;
  std::vector<int64_t> group_num_requests;  // filled by callers that have it (see fast_stats)
  double goodput = 0;                       // SLO attainment: mean of good over kept requests
  double latency_mean = 0;                  // mean of finish - arrival, rejected requests included
  int64_t num_requests = 0;                 // kept requests
  double request_rate = 0;                  // kept requests per second
  int64_t skipped = 0;                      // requests trimmed at EACH end as warm-up
};

// The reference's warm-up trimming count: skip = int(warmup / (a[-1] - a[0]) * N) requests at
// EACH end, in arrival order (0 when N <= 1 or every arrival is at the same time; at most N).
[[nodiscard]] size_t reference_warmup_skip(const std::vector<double>& arrivals,
                                           double warmup) noexcept;

// Workload.compute_stats: trims skip = int(warmup / (a[-1] - a[0]) * N) requests at each end
// (skip == 0 keeps everything: the reference crashes there), then computes the overall and
// per-model figures. Per-model entries are keyed by the request's model name (unregistered
// models included) and ordered by ascending request count, ties by first appearance.
[[nodiscard]] sim_stats compute_stats(const workload& w, const std::vector<double>& finish,
                                      const std::vector<uint8_t>& good,
                                      double warmup = default_warmup);

// fast_stats=True: no trimming; per registered model goodput = good/(n + 1e-6) and
// throughput = n / (last - first arrival); overall goodput = mean(good) over every request,
// latency_mean = mean(finish - arrival). group_num_requests copied from the result.
[[nodiscard]] sim_stats fast_stats(const workload& w, const sim_result& r,
                                   const std::vector<model_data>& models);
// The same from a summary; latency_mean is a sequential sum there (may differ in the last ulp).
[[nodiscard]] sim_stats fast_stats(const sim_summary& s, const std::vector<model_data>& models);

// PlacementEvaluator's score: goodput - latency_mean / 10000 + num_replicas / 1e6.
[[nodiscard]] double placement_score(double goodput, double latency_mean,
                                     int num_replicas) noexcept;

// numpy's pairwise summation (blocks of 128, 8 accumulators): np.sum's exact result.
[[nodiscard]] double pairwise_sum(const double* values, size_t n) noexcept;

// The reference's percentile index rule: sorted[int(q * n)], clamped to the last element.
// Returns 0 for an empty vector.
[[nodiscard]] double percentile_of_sorted(const std::vector<double>& sorted, double q) noexcept;

// Latency figures a report prints (event simulator and benchmarks reuse this).
struct latency_summary {
  size_t count = 0;
  double mean = 0;
  double std = 0;  // population standard deviation, as np.std
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double p999 = 0;
  double max = 0;
};
// Sorts its argument (taken by value) and summarizes it; all zeros when empty.
[[nodiscard]] latency_summary summarize_latencies(std::vector<double> latencies);

}  // namespace alpaserve::planner
