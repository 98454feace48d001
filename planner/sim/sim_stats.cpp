#include "planner/sim/sim_stats.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace alpaserve::planner {
namespace {

constexpr size_t pairwise_block = 128;  // numpy's PW_BLOCKSIZE

// numpy's pairwise_sum over value(0..n-1), same association order.
template <class Value>
double pairwise(const Value& value, size_t begin, size_t n) noexcept {
  if (n < 8) {
    double res = 0.;
    for (size_t i = 0; i < n; ++i) res += value(begin + i);
    return res;
  }
  if (n <= pairwise_block) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = value(begin + j);
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (size_t j = 0; j < 8; ++j) r[j] += value(begin + i + j);
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += value(begin + i);
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise(value, begin, n2) + pairwise(value, begin + n2, n - n2);
}

template <class Value>
double numpy_mean(const Value& value, size_t n) noexcept {
  return n == 0 ? 0.0 : pairwise(value, 0, n) / static_cast<double>(n);
}

// np.std: sqrt(mean(|x - mean(x)|^2)).
double numpy_std(const std::vector<double>& x, double mean) noexcept {
  return std::sqrt(numpy_mean(
      [&](size_t i) {
        const double d = x[i] - mean;
        return d * d;
      },
      x.size()));
}

}  // namespace

double pairwise_sum(const double* values, size_t n) noexcept {
  return pairwise([values](size_t i) { return values[i]; }, 0, n);
}

double percentile_of_sorted(const std::vector<double>& sorted, double q) noexcept {
  if (sorted.empty()) return 0.0;
  const auto idx = static_cast<size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(idx, sorted.size() - 1)];
}

latency_summary summarize_latencies(std::vector<double> latencies) {
  latency_summary s;
  if (latencies.empty()) return s;
  s.count = latencies.size();
  s.mean = numpy_mean([&](size_t i) { return latencies[i]; }, latencies.size());
  s.std = numpy_std(latencies, s.mean);
  std::sort(latencies.begin(), latencies.end());
  s.p50 = percentile_of_sorted(latencies, 0.50);
  s.p90 = percentile_of_sorted(latencies, 0.90);
  s.p99 = percentile_of_sorted(latencies, 0.99);
  s.p999 = percentile_of_sorted(latencies, 0.999);
  s.max = latencies.back();
  return s;
}

size_t reference_warmup_skip(const std::vector<double>& arrivals, double warmup) noexcept {
  const size_t n = arrivals.size();
  if (n <= 1 || !(arrivals.back() > arrivals.front())) return 0;
  const double s = warmup / (arrivals.back() - arrivals.front()) * static_cast<double>(n);
  return s >= static_cast<double>(n) ? n : static_cast<size_t>(std::max(s, 0.0));
}

sim_stats compute_stats(const workload& w, const std::vector<double>& finish,
                        const std::vector<uint8_t>& good, double warmup) {
  sim_stats st;
  const size_t n = w.size();
  if (finish.size() != n || good.size() != n) return st;
  const std::vector<double>& start = w.arrivals;

  const size_t skip = reference_warmup_skip(start, warmup);
  if (2 * skip >= n) {  // nothing left after trimming
    st.skipped = static_cast<int64_t>(skip);
    return st;
  }
  const size_t lo = skip;
  const size_t hi = n - skip;
  const size_t k = hi - lo;
  st.skipped = static_cast<int64_t>(skip);
  st.num_requests = static_cast<int64_t>(k);

  int64_t num_good = 0;
  for (size_t i = lo; i < hi; ++i) num_good += good[i] ? 1 : 0;
  st.goodput = static_cast<double>(num_good) / static_cast<double>(k);
  st.latency_mean = numpy_mean([&](size_t i) { return finish[lo + i] - start[lo + i]; }, k);
  const double interval = start[hi - 1] - start[lo];
  st.request_rate = interval > 0 ? static_cast<double>(k) / interval : 0.0;

  // Per model name, in order of first appearance, then stably by ascending count.
  std::unordered_map<std::string, size_t> slot_of;
  std::vector<std::string> names;
  std::vector<std::vector<size_t>> indices;
  for (size_t i = lo; i < hi; ++i) {
    const int32_t id = w.model[i];
    const std::string& name = (id >= 0 && static_cast<size_t>(id) < w.model_names.size())
                                  ? w.model_names[id]
                                  : std::string();
    auto [it, inserted] = slot_of.emplace(name, names.size());
    if (inserted) {
      names.push_back(name);
      indices.emplace_back();
    }
    indices[it->second].push_back(i);
  }
  std::vector<size_t> order(names.size());
  for (size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return indices[a].size() < indices[b].size(); });

  for (size_t j : order) {
    const auto& idx = indices[j];
    per_model_stats ms;
    ms.name = names[j];
    ms.num_requests = static_cast<int64_t>(idx.size());
    std::vector<double> lat;
    double first_good = 0;
    double last_good = 0;
    for (size_t i : idx) {
      if (!good[i]) continue;
      if (lat.empty()) first_good = start[i];
      last_good = start[i];
      lat.push_back(finish[i] - start[i]);
    }
    ms.goodput = static_cast<double>(lat.size()) / static_cast<double>(idx.size());
    if (!lat.empty()) {
      const double span = last_good - first_good;
      ms.throughput = span > 0 ? static_cast<double>(lat.size()) / span : 0.0;
      const latency_summary ls = summarize_latencies(std::move(lat));
      ms.latency_mean = ls.mean;
      ms.latency_std = ls.std;
      ms.latency_p90 = ls.p90;
      ms.latency_p99 = ls.p99;
    }
    st.per_model.push_back(std::move(ms));
  }
  return st;
}

namespace {
sim_stats fast_stats_from(const std::vector<int64_t>& model_num_requests,
                          const std::vector<int64_t>& model_num_good,
                          const std::vector<int64_t>& group_num_requests,
                          const std::vector<model_data>& models, int64_t num_requests,
                          double interval) {
  constexpr double eps = 1e-6;  // the reference's eps
  sim_stats st;
  for (size_t m = 0; m < models.size(); ++m) {
    per_model_stats ms;
    ms.name = models[m].name;
    const int64_t nm = m < model_num_requests.size() ? model_num_requests[m] : 0;
    const int64_t gm = m < model_num_good.size() ? model_num_good[m] : 0;
    ms.num_requests = nm;
    ms.goodput = static_cast<double>(gm) / (static_cast<double>(nm) + eps);
    ms.throughput = interval > 0 ? static_cast<double>(nm) / interval : 0.0;
    st.per_model.push_back(std::move(ms));
  }
  st.group_num_requests = group_num_requests;
  st.num_requests = num_requests;
  st.request_rate = interval > 0 ? static_cast<double>(num_requests) / interval : 0.0;
  return st;
}
}  // namespace

sim_stats fast_stats(const workload& w, const sim_result& r,
                     const std::vector<model_data>& models) {
  const size_t n = w.size();
  const double interval = n > 0 ? w.arrivals.back() - w.arrivals.front() : 0.0;
  sim_stats st = fast_stats_from(r.model_num_requests, r.model_num_good, r.group_num_requests,
                                 models, static_cast<int64_t>(n), interval);
  if (n == 0) return st;
  int64_t num_good = 0;
  for (uint8_t g : r.good) num_good += g ? 1 : 0;
  st.goodput = static_cast<double>(num_good) / static_cast<double>(n);
  st.latency_mean = numpy_mean([&](size_t i) { return r.finish[i] - w.arrivals[i]; }, n);
  return st;
}

sim_stats fast_stats(const sim_summary& s, const std::vector<model_data>& models) {
  sim_stats st = fast_stats_from(s.model_num_requests, s.model_num_good, s.group_num_requests,
                                 models, s.num_requests, s.last_arrival - s.first_arrival);
  st.goodput = s.goodput();
  st.latency_mean = s.latency_mean();
  return st;
}

double placement_score(double goodput, double latency_mean, int num_replicas) noexcept {
  return goodput - latency_mean / 10000 + num_replicas / 1000000.0;
}

}  // namespace alpaserve::planner
