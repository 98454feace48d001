#include "planner/policy/model_bucketing.hpp"

#include <algorithm>
#include <cmath>

namespace alpaserve::planner {
namespace {

double max_single_device_stage_latency(const model_data& m) {
  const config_profile* p = m.profile.find(parallel_config{1, 1, 1});
  if (p == nullptr) return std::nan("");
  const auto& lat = p->stage_latency(1);
  return *std::max_element(lat.begin(), lat.end());
}

}  // namespace

std::vector<std::vector<int>> bucket_models_by_latency(const std::vector<model_data>& models,
                                                       double threshold) {
  std::vector<std::vector<int>> buckets;
  std::vector<double> first_latency;
  for (size_t i = 0; i < models.size(); ++i) {
    const double l = max_single_device_stage_latency(models[i]);
    bool placed = false;
    for (size_t b = 0; b < buckets.size(); ++b) {
      if (std::abs(l - first_latency[b]) / first_latency[b] < threshold) {
        buckets[b].push_back(static_cast<int>(i));
        placed = true;
        break;
      }
    }
    if (!placed) {
      buckets.push_back({static_cast<int>(i)});
      first_latency.push_back(l);
    }
  }
  return buckets;
}

bool is_valid_size(int n, int i) noexcept {
  return i <= n % 8 || (n - i) % 8 == 0 || n % 8 == 0;
}

std::vector<std::vector<int>> get_partitions(int n, int k) {
  if (k <= 0 || n < k) return {};
  if (k == 1) return {{n}};
  std::vector<std::vector<int>> out;
  for (int i = 1; i < n; ++i) {
    if (!is_valid_size(n, i)) continue;
    for (auto& head : get_partitions(n - i, k - 1)) {
      head.push_back(i);
      out.push_back(std::move(head));
    }
  }
  return out;
}

separation_set enumerate_separations(const std::vector<model_data>& models,
                                     const cluster_env& cluster, const bucketing_options& options) {
  separation_set set;
  set.buckets = bucket_models_by_latency(models, options.latency_threshold);
  const size_t k = set.buckets.size();
  double total_rate = 0;
  std::vector<double> ratio(k, 0.0);
  for (size_t b = 0; b < k; ++b) {
    set.bucket_latency.push_back(max_single_device_stage_latency(models[set.buckets[b][0]]));
    for (int m : set.buckets[b]) ratio[b] += models[m].rate;
    total_rate += ratio[b];
  }
  for (double& r : ratio) r = total_rate > 0 ? r / total_rate : 0.0;

  const auto partitions = get_partitions(cluster.num_devices, static_cast<int>(k));
  // Throughput share each partition gives each bucket: devices / latency, normalised.
  auto deviation = [&](const std::vector<int>& parts) {
    std::vector<double> tp(k);
    double sum = 0;
    for (size_t b = 0; b < k; ++b) sum += tp[b] = parts[b] / set.bucket_latency[b];
    double worst = 0;
    for (size_t b = 0; b < k; ++b) worst = std::max(worst, std::abs(ratio[b] - tp[b] / sum));
    return worst;
  };
  std::vector<std::vector<int>> kept;
  for (double thr : options.ratio_thresholds) {
    kept.clear();
    for (const auto& p : partitions)
      if (deviation(p) < thr) kept.push_back(p);
    if (kept.size() < options.enough_partitions) break;
  }
  for (auto& p : kept) set.separations.push_back(separation{std::move(p)});
  return set;
}

}  // namespace alpaserve::planner
