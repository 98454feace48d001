#include "planner/workload/workload_gen.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

namespace alpaserve::planner {

namespace {

void check_total(const char* who, double total) {
  if (!std::isfinite(total) || total < 0.0) {
    throw std::invalid_argument(
        fmt::format("{}: total rate must be finite and >= 0, got {}", who, total));
  }
}

// One sorted run of requests to merge; `model` null means every request is `constant_model`.
struct sorted_run {
  const double* arrivals;
  const int32_t* model;
  int32_t constant_model;
  size_t size;
};

// Two-way stable merge of a and b into (ot, om), ties taken from `a`. The loop is branch-free
// (conditional moves): interleaved arrival streams make a branchy merge mispredict on nearly
// every request.
void merge_two(const sorted_run& a, const sorted_run& b, double* ot, int32_t* om) {
  const double* at = a.arrivals;
  const double* bt = b.arrivals;
  size_t i = 0, j = 0, k = 0;
  if (a.model && b.model) {
    const int32_t* am = a.model;
    const int32_t* bm = b.model;
    while (i < a.size && j < b.size) {
      const bool take_b = bt[j] < at[i];
      ot[k] = take_b ? bt[j] : at[i];
      om[k] = take_b ? bm[j] : am[i];
      j += take_b;
      i += !take_b;
      ++k;
    }
  } else {
    const int32_t* am = a.model;
    const int32_t* bm = b.model;
    while (i < a.size && j < b.size) {
      const bool take_b = bt[j] < at[i];
      const int32_t ma = am ? am[i] : a.constant_model;
      const int32_t mb = bm ? bm[j] : b.constant_model;
      ot[k] = take_b ? bt[j] : at[i];
      om[k] = take_b ? mb : ma;
      j += take_b;
      i += !take_b;
      ++k;
    }
  }
  auto rest = [&](const sorted_run& r, size_t from) {
    if (from >= r.size) return;
    std::copy(r.arrivals + from, r.arrivals + r.size, ot + k);
    if (r.model) {
      std::copy(r.model + from, r.model + r.size, om + k);
    } else {
      std::fill(om + k, om + k + (r.size - from), r.constant_model);
    }
    k += r.size - from;
  };
  rest(a, i);
  rest(b, j);
}

// Stable merge of sorted runs into `out`: equal times come out in run order, because every
// pairwise merge puts the lower-numbered group on the left. ceil(log2(k)) passes of
// sequential branch-free merges ping-pong between `out` and one scratch buffer; the pass count
// decides which one the first pass writes so that the last pass lands in `out`. Two buffers
// are the minimum: in a VM every freshly touched page costs a fault.
void merge_runs(const std::vector<sorted_run>& inputs, workload& out) {
  size_t total = 0;
  for (const auto& r : inputs) total += r.size;
  out.arrivals.clear();
  out.model.clear();
  out.arrivals.resize(total);
  out.model.resize(total);
  if (inputs.empty()) return;
  const sorted_run empty{nullptr, nullptr, 0, 0};
  size_t passes = 0;
  for (size_t k = inputs.size(); k > 1; k = (k + 1) / 2) ++passes;
  if (passes == 0) {
    merge_two(inputs[0], empty, out.arrivals.data(), out.model.data());
    return;
  }
  std::unique_ptr<double[]> scratch_t(passes > 1 ? new double[total] : nullptr);
  std::unique_ptr<int32_t[]> scratch_m(passes > 1 ? new int32_t[total] : nullptr);
  std::vector<sorted_run> runs = inputs;
  for (size_t pass = 0; pass < passes; ++pass) {
    const bool to_out = (passes - 1 - pass) % 2 == 0;
    double* dt = to_out ? out.arrivals.data() : scratch_t.get();
    int32_t* dm = to_out ? out.model.data() : scratch_m.get();
    std::vector<sorted_run> next;
    size_t offset = 0;
    for (size_t r = 0; r < runs.size(); r += 2) {
      const sorted_run& a = runs[r];
      const sorted_run& b = r + 1 < runs.size() ? runs[r + 1] : empty;
      merge_two(a, b, dt + offset, dm + offset);
      next.push_back({dt + offset, dm + offset, 0, a.size + b.size});
      offset += a.size + b.size;
    }
    runs = std::move(next);
  }
}

// Indices of w's requests in stable arrival order.
std::vector<size_t> stable_order(const std::vector<double>& arrivals) {
  std::vector<size_t> order(arrivals.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return arrivals[a] < arrivals[b]; });
  return order;
}

workload with_names_of(const workload& w) {
  workload out;
  out.model_names = w.model_names;
  return out;
}

workload_stats gap_stats(const double* t, size_t n) {
  workload_stats s;
  s.count = n;
  if (n < 2) return s;
  // Welford over the gaps: stable for long sequences at large absolute times.
  double mean = 0.0, m2 = 0.0;
  for (size_t i = 1; i < n; ++i) {
    const double gap = t[i] - t[i - 1];
    const double k = static_cast<double>(i);
    const double delta = gap - mean;
    mean += delta / k;
    m2 += delta * (gap - mean);
  }
  s.rate = 1.0 / (mean + 1e-6);
  s.cv = std::sqrt(m2 / static_cast<double>(n - 1)) * s.rate;
  return s;
}

}  // namespace

// ---- rates --------------------------------------------------------------------------------------

std::vector<double> uniform_rates(size_t n, double total) {
  check_total("uniform_rates", total);
  return std::vector<double>(n, n == 0 ? 0.0 : total / static_cast<double>(n));
}

std::vector<double> power_law_rates(size_t n, double total, double exponent) {
  check_total("power_law_rates", total);
  if (!std::isfinite(exponent)) throw std::invalid_argument("power_law_rates: exponent not finite");
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = std::pow(static_cast<double>(i + 1), -exponent);
  return n == 0 ? w : normalize_rates(w, total);
}

std::vector<double> triangle_decay_rates(size_t n, double total) {
  check_total("triangle_decay_rates", total);
  std::vector<double> w;
  w.reserve(n);
  double weight = 1.0;
  for (size_t group = 1; w.size() < n; group *= 2, weight /= 2.0) {
    for (size_t j = 0; j < group && w.size() < n; ++j) w.push_back(weight);
  }
  return n == 0 ? w : normalize_rates(w, total);
}

std::vector<double> normalize_rates(const std::vector<double>& weights, double total) {
  check_total("normalize_rates", total);
  if (weights.empty()) throw std::invalid_argument("normalize_rates: no weights given");
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0.0) {
      throw std::invalid_argument(
          fmt::format("normalize_rates: weight {} must be finite and >= 0, got {}", i, weights[i]));
    }
    sum += weights[i];
  }
  if (sum <= 0.0) throw std::invalid_argument("normalize_rates: all weights are zero");
  std::vector<double> rates(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) rates[i] = total * weights[i] / sum;
  return rates;
}

std::vector<std::string> default_model_names(size_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  for (size_t i = 0; i < n; ++i) names.push_back("m" + std::to_string(i));
  return names;
}

// ---- generation and merge -----------------------------------------------------------------------

workload generate_workload(const std::vector<std::string>& model_names,
                           const std::vector<arrival_process_ptr>& processes, double start,
                           double duration, uint64_t base_seed) {
  if (model_names.size() != processes.size()) {
    throw std::invalid_argument(fmt::format("generate_workload: {} model names but {} processes",
                                            model_names.size(), processes.size()));
  }
  std::vector<std::vector<double>> per_model(processes.size());
  for (size_t i = 0; i < processes.size(); ++i) {
    if (!processes[i]) {
      throw std::invalid_argument(fmt::format("generate_workload: process of model {} is null", i));
    }
    per_model[i] = processes[i]->generate_arrivals(start, duration, base_seed + i);
    // Every built-in process is sorted; a custom one might not be.
    if (!std::is_sorted(per_model[i].begin(), per_model[i].end())) {
      std::stable_sort(per_model[i].begin(), per_model[i].end());
    }
  }
  std::vector<sorted_run> runs;
  for (size_t i = 0; i < per_model.size(); ++i) {
    runs.push_back({per_model[i].data(), nullptr, static_cast<int32_t>(i), per_model[i].size()});
  }
  workload out;
  out.model_names = model_names;
  merge_runs(runs, out);
  return out;
}

workload gamma_workload(const std::vector<std::string>& model_names,
                        const std::vector<double>& rates, double cv, double duration,
                        uint64_t base_seed) {
  if (model_names.size() != rates.size()) {
    throw std::invalid_argument(fmt::format("gamma_workload: {} model names but {} rates",
                                            model_names.size(), rates.size()));
  }
  std::vector<arrival_process_ptr> processes;
  for (double r : rates) processes.push_back(std::make_unique<gamma_process>(r, cv));
  return generate_workload(model_names, processes, 0.0, duration, base_seed);
}

workload merge_workloads(const std::vector<workload>& workloads) {
  workload out;
  std::unordered_map<std::string, int32_t> index_of;
  // Per input: its requests as a sorted run with model ids renumbered into the merged table.
  std::vector<std::vector<double>> sorted_arrivals(workloads.size());
  std::vector<std::vector<int32_t>> renumbered(workloads.size());
  std::vector<sorted_run> runs;
  for (size_t k = 0; k < workloads.size(); ++k) {
    const workload& w = workloads[k];
    if (w.model.size() != w.arrivals.size()) {
      throw std::invalid_argument(
          fmt::format("merge_workloads: input {} has {} arrivals but {} "
                      "model ids",
                      k, w.arrivals.size(), w.model.size()));
    }
    std::vector<int32_t> remap(w.model_names.size());
    for (size_t m = 0; m < w.model_names.size(); ++m) {
      auto [it, inserted] =
          index_of.emplace(w.model_names[m], static_cast<int32_t>(out.model_names.size()));
      if (inserted) out.model_names.push_back(w.model_names[m]);
      remap[m] = it->second;
    }
    auto mapped = [&](size_t j) {
      const int32_t m = w.model[j];
      if (m < 0 || static_cast<size_t>(m) >= remap.size()) {
        throw std::invalid_argument(fmt::format(
            "merge_workloads: input {} request {} names model {} of {}", k, j, m, remap.size()));
      }
      return remap[m];
    };
    auto& mod = renumbered[k];
    mod.reserve(w.size());
    if (std::is_sorted(w.arrivals.begin(), w.arrivals.end())) {
      for (size_t j = 0; j < w.size(); ++j) mod.push_back(mapped(j));
      runs.push_back({w.arrivals.data(), mod.data(), 0, w.size()});  // no copy of the times
    } else {
      auto& arr = sorted_arrivals[k];
      arr.reserve(w.size());
      for (size_t j : stable_order(w.arrivals)) {
        arr.push_back(w.arrivals[j]);
        mod.push_back(mapped(j));
      }
      runs.push_back({arr.data(), mod.data(), 0, arr.size()});
    }
  }
  merge_runs(runs, out);
  return out;
}

// ---- splits -------------------------------------------------------------------------------------

std::vector<workload> split_time_interval(const workload& w, double interval) {
  if (!(interval > 0.0)) {
    throw std::invalid_argument(
        fmt::format("split_time_interval: interval must be > 0, got {}", interval));
  }
  std::vector<workload> parts;
  double window_start = 0.0;
  for (size_t j = 0; j < w.size(); ++j) {
    if (parts.empty() || w.arrivals[j] > window_start + interval) {
      parts.push_back(with_names_of(w));
      window_start = w.arrivals[j];
    }
    parts.back().arrivals.push_back(w.arrivals[j]);
    parts.back().model.push_back(w.model[j]);
  }
  return parts;
}

std::vector<workload> split_round_robin(const workload& w, size_t k) {
  if (k == 0) throw std::invalid_argument("split_round_robin: k must be > 0");
  std::vector<workload> parts(k, with_names_of(w));
  for (auto& p : parts) {
    p.arrivals.reserve(w.size() / k + 1);
    p.model.reserve(w.size() / k + 1);
  }
  for (size_t j = 0; j < w.size(); ++j) {
    parts[j % k].arrivals.push_back(w.arrivals[j]);
    parts[j % k].model.push_back(w.model[j]);
  }
  return parts;
}

workload time_window(const workload& w, double start, double end) {
  workload out = with_names_of(w);
  const auto first = std::lower_bound(w.arrivals.begin(), w.arrivals.end(), start);
  const auto last = std::lower_bound(first, w.arrivals.end(), end);
  if (first >= last) return out;
  const auto from = static_cast<size_t>(first - w.arrivals.begin());
  const auto to = static_cast<size_t>(last - w.arrivals.begin());
  out.arrivals.assign(w.arrivals.begin() + from, w.arrivals.begin() + to);
  out.model.assign(w.model.begin() + from, w.model.begin() + to);
  return out;
}

// ---- statistics ---------------------------------------------------------------------------------

workload_stats arrival_stats(const std::vector<double>& sorted_arrivals) {
  return gap_stats(sorted_arrivals.data(), sorted_arrivals.size());
}

workload_stats overall_stats(const workload& w) {
  return arrival_stats(w.arrivals);
}

std::vector<workload_stats> per_model_stats(const workload& w) {
  std::vector<std::vector<double>> per_model(w.model_names.size());
  for (size_t j = 0; j < w.size(); ++j) {
    const int32_t m = w.model[j];
    if (m >= 0 && static_cast<size_t>(m) < per_model.size()) per_model[m].push_back(w.arrivals[j]);
  }
  std::vector<workload_stats> stats;
  stats.reserve(per_model.size());
  for (const auto& a : per_model) stats.push_back(arrival_stats(a));
  return stats;
}

void check_workload(const workload& w) {
  if (w.arrivals.size() != w.model.size()) {
    throw std::invalid_argument(fmt::format("workload has {} arrivals but {} model ids",
                                            w.arrivals.size(), w.model.size()));
  }
  for (size_t j = 0; j < w.size(); ++j) {
    const double t = w.arrivals[j];
    if (!std::isfinite(t) || t < 0.0) {
      throw std::invalid_argument(
          fmt::format("request {}: arrival must be finite and >= 0, got {}", j, t));
    }
    if (j > 0 && t < w.arrivals[j - 1]) {
      throw std::invalid_argument(
          fmt::format("request {}: arrival {} is before the previous {}", j, t, w.arrivals[j - 1]));
    }
    const int32_t m = w.model[j];
    if (m < 0 || static_cast<size_t>(m) >= w.model_names.size()) {
      throw std::invalid_argument(
          fmt::format("request {}: model index {} is not in [0, {})", j, m, w.model_names.size()));
    }
  }
}

}  // namespace alpaserve::planner
