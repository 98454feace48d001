#include "planner/profile/stage_partition.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace alpaserve::planner {

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
// Latencies within this relative distance of the optimum count as optimal when breaking ties by
// weight, so that summation order cannot hide an equally fast split.
constexpr double tie_tolerance = 1e-9;
}  // namespace

double stage_partition::max_latency() const noexcept {
  return stage_latency.empty() ? 0 : *std::max_element(stage_latency.begin(), stage_latency.end());
}

double stage_partition::max_weight() const noexcept {
  return stage_weight.empty() ? 0 : *std::max_element(stage_weight.begin(), stage_weight.end());
}

double stage_latency(const std::vector<partition_layer>& layers, int begin, int end, int index,
                     int num_stages, const stage_overheads& o) {
  double t = o.per_stage;
  for (int i = begin; i < end; ++i) t += layers[i].latency;
  if (index == 0) t += o.first_stage;
  if (index == num_stages - 1) t += o.last_stage;
  if (index > 0 && begin > 0)
    t += layers[begin - 1].output_bytes / o.inter_stage_bandwidth + o.transfer_latency;
  return t;
}

stage_partition evaluate_partition(const std::vector<partition_layer>& layers,
                                   const std::vector<int>& boundaries, const stage_overheads& o) {
  const int n = static_cast<int>(layers.size());
  if (boundaries.size() < 2 || boundaries.front() != 0 || boundaries.back() != n)
    throw std::invalid_argument("stage boundaries must run from 0 to the number of layers");
  stage_partition out;
  out.boundaries = boundaries;
  const int pp = static_cast<int>(boundaries.size()) - 1;
  for (int s = 0; s < pp; ++s) {
    if (boundaries[s] >= boundaries[s + 1])
      throw std::invalid_argument("every stage needs at least one layer");
    out.stage_latency.push_back(stage_latency(layers, boundaries[s], boundaries[s + 1], s, pp, o));
    double w = 0;
    for (int i = boundaries[s]; i < boundaries[s + 1]; ++i) w += layers[i].weight_bytes;
    out.stage_weight.push_back(w);
  }
  return out;
}

stage_partition partition_stages(const std::vector<partition_layer>& layers, int pp,
                                 const stage_overheads& o) {
  const int n = static_cast<int>(layers.size());
  if (pp < 1 || pp > n)
    throw std::invalid_argument("cannot split " + std::to_string(n) + " layers into " +
                                std::to_string(pp) + " stages");
  std::vector<double> weight_prefix(n + 1, 0), latency_prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) {
    weight_prefix[i + 1] = weight_prefix[i] + layers[i].weight_bytes;
    latency_prefix[i + 1] = latency_prefix[i] + layers[i].latency;
  }
  // Same sum as stage_latency(), in O(1) from prefix sums.
  auto cost = [&](int s, int i, int j) {
    double t = o.per_stage + (latency_prefix[j] - latency_prefix[i]);
    if (s == 0) t += o.first_stage;
    if (s == pp - 1) t += o.last_stage;
    if (s > 0 && i > 0)
      t += layers[i - 1].output_bytes / o.inter_stage_bandwidth + o.transfer_latency;
    return t;
  };

  // Pass 1: best[s][j] = smallest max latency of stages 0..s covering layers [0, j).
  std::vector<std::vector<double>> best(pp, std::vector<double>(n + 1, inf));
  for (int j = 1; j <= n; ++j) best[0][j] = cost(0, 0, j);
  for (int s = 1; s < pp; ++s)
    for (int j = s + 1; j <= n; ++j)
      for (int i = s; i < j; ++i)
        best[s][j] = std::min(best[s][j], std::max(best[s - 1][i], cost(s, i, j)));
  const double limit = best[pp - 1][n] * (1 + tie_tolerance);

  // Pass 2: among splits whose every stage stays within the optimum, the smallest max weight.
  std::vector<std::vector<double>> heavy(pp, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> from(pp, std::vector<int>(n + 1, -1));
  for (int j = 1; j <= n; ++j)
    if (cost(0, 0, j) <= limit) heavy[0][j] = weight_prefix[j];
  for (int s = 1; s < pp; ++s)
    for (int j = s + 1; j <= n; ++j)
      for (int i = s; i < j; ++i) {
        if (heavy[s - 1][i] == inf || cost(s, i, j) > limit) continue;
        const double w = std::max(heavy[s - 1][i], weight_prefix[j] - weight_prefix[i]);
        if (w < heavy[s][j]) {
          heavy[s][j] = w;
          from[s][j] = i;
        }
      }
  std::vector<int> boundaries(pp + 1, 0);
  boundaries[pp] = n;
  for (int s = pp - 1; s >= 1; --s) boundaries[s] = from[s][boundaries[s + 1]];
  return evaluate_partition(layers, boundaries, o);
}

}  // namespace alpaserve::planner
