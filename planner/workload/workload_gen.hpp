#pragma once
// Building and reshaping workloads: per-model rate splits, generation from arrival processes,
// merge, splits into windows, statistics (../shared/reference/alpaserve.md sections 2 and 6.1).
//
// Determinism: model i of generate_workload uses seed base_seed + i (the reference's "seed i");
// requests with equal arrival times are ordered by model index (generate) or by input position
// (merge), never left to an unstable sort.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "planner/workload/arrival_process.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

// ---- rates across models (all return n rates summing to total; throw std::invalid_argument for
// ---- a negative or non-finite total)
// total / n each.
[[nodiscard]] std::vector<double> uniform_rates(size_t n, double total);
// r_i = total * (i+1)^-exponent / sum_j (j+1)^-exponent (the reference's "power_law", 0.5).
[[nodiscard]] std::vector<double> power_law_rates(size_t n, double total, double exponent = 0.5);
// Weights 1, then 2 models at 1/2, 4 at 1/4, 8 at 1/8, ... normalised to total.
[[nodiscard]] std::vector<double> triangle_decay_rates(size_t n, double total);
// An explicit list of non-negative weights (not all zero) scaled to sum to total.
[[nodiscard]] std::vector<double> normalize_rates(const std::vector<double>& weights, double total);

// "m0" .. "m{n-1}", the reference's equal-model names.
[[nodiscard]] std::vector<std::string> default_model_names(size_t n);

// Model i's arrivals come from processes[i]->generate_arrivals(start, duration, base_seed + i);
// all are merged in arrival order (ties: lower model index first). model_names and processes
// must have the same length and no null entry (std::invalid_argument otherwise).
[[nodiscard]] workload generate_workload(const std::vector<std::string>& model_names,
                                         const std::vector<arrival_process_ptr>& processes,
                                         double start, double duration, uint64_t base_seed);

// Gamma(rates[i], cv) for model i from time 0, seeds base_seed + i: the reference's synthetic
// "gamma" case.
[[nodiscard]] workload gamma_workload(const std::vector<std::string>& model_names,
                                      const std::vector<double>& rates, double cv, double duration,
                                      uint64_t base_seed = 0);

// All requests of all inputs in arrival order (stable: equal times keep input order, the
// first workload's first). Model tables are merged by name in order of first appearance.
// Inputs need not be sorted.
[[nodiscard]] workload merge_workloads(const std::vector<workload>& workloads);

// Reference split_time_interval: the first window starts at the first arrival; a request
// arriving strictly later than window_start + interval opens a new window that starts at its
// own arrival time. Empty input gives no windows; interval must be > 0. Model tables are kept.
[[nodiscard]] std::vector<workload> split_time_interval(const workload& w, double interval);

// Request j goes to part j mod k (the reference's split_round_robin); k > 0. Always k parts.
[[nodiscard]] std::vector<workload> split_round_robin(const workload& w, size_t k);

// Requests with start <= arrival < end, times unchanged, model table kept. `w` must be sorted.
[[nodiscard]] workload time_window(const workload& w, double start, double end);

// The reference's Workload statistics: rate = 1 / (mean gap + 1e-6), cv = std(gaps) * rate
// (population std); both 0 with fewer than two requests.
struct workload_stats {
  double rate = 0.0;
  double cv = 0.0;
  size_t count = 0;
};

// Statistics of a sorted arrival sequence.
[[nodiscard]] workload_stats arrival_stats(const std::vector<double>& sorted_arrivals);
// Over all requests of `w` (sorted).
[[nodiscard]] workload_stats overall_stats(const workload& w);
// Per model, indexed like w.model_names (sorted `w`).
[[nodiscard]] std::vector<workload_stats> per_model_stats(const workload& w);

// Throws std::invalid_argument naming the first problem: sizes differ, a model index out of
// range, a non-finite or negative arrival, arrivals decreasing.
void check_workload(const workload& w);

}  // namespace alpaserve::planner
