// Single-thread throughput of the approximate simulator (docs/simulators.md).
//
// Case: 8 BERT-1.3B models (the reference's test profile, section 1.2) on 8 devices, placement
// [(1,1,4): all], [(1,1,2): all], [(1,1,1): m0-m4], [(1,1,1): m3-m7]; power-law rates
// r_i ~ (i+1)^-0.5 totalling 40 r/s; Gamma arrivals with CV 2; SLO 5x single-device latency.
//
//   build/bin/bench_approx_simulator [num_requests=10000000] [repetitions=5]
//
// The Gamma generator here is private to the benchmark (deterministic, std::mt19937_64); the
// planner's workload generators are separate.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/sim_stats.hpp"

using namespace alpaserve::planner;

namespace {

// alpa/bert-1.3b from the reference's hard-coded table. Batch sizes > 1 are not in that table;
// for the batching run they are synthesized as latency(bs) = latency(1) * (1 + 0.25 (bs - 1))^0.9
// (sub-linear growth), which is an assumption of this benchmark only.
model_profile bert_1_3b(bool with_batches) {
  model_profile p;
  p.name = "alpa/bert-1.3b";
  const std::vector<std::pair<parallel_config, std::vector<double>>> table = {
      {{1, 1, 1}, {0.099}}, {{1, 1, 2}, {0.051, 0.052}}, {{1, 1, 4}, {0.028, 0.027, 0.027, 0.029}}};
  for (const auto& [config, lat] : table) {
    const std::vector<double> weight(lat.size(), 2.6 * gib / static_cast<double>(lat.size()));
    for (int bs : supported_batch_sizes) {
      if (bs > 1 && !with_batches) break;
      std::vector<double> scaled = lat;
      for (double& l : scaled) l *= std::pow(1 + 0.25 * (bs - 1), 0.9);
      p.configs[config].add_result(bs, scaled, weight);
    }
  }
  return p;
}

// Merged Gamma(rate_i, cv) arrivals of every model over [0, duration).
workload gamma_workload(const std::vector<double>& rates, double cv, double duration,
                        uint64_t seed) {
  std::vector<std::pair<double, int32_t>> all;
  for (size_t m = 0; m < rates.size(); ++m) {
    std::mt19937_64 rng(seed + m);
    std::gamma_distribution<double> gap(1 / (cv * cv), cv * cv / rates[m]);
    for (double t = gap(rng); t < duration; t += gap(rng))
      all.emplace_back(t, static_cast<int32_t>(m));
  }
  std::sort(all.begin(), all.end());
  workload w;
  for (size_t m = 0; m < rates.size(); ++m) w.model_names.push_back("m" + std::to_string(m));
  w.arrivals.reserve(all.size());
  w.model.reserve(all.size());
  for (const auto& [t, m] : all) {
    w.arrivals.push_back(t);
    w.model.push_back(m);
  }
  return w;
}

// CPU time of this thread: on a shared machine wall time mostly measures the other processes.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct timings {
  std::vector<double> cpu;
  std::vector<double> wall;
};

template <class F>
timings time_runs(int reps, F&& f) {
  timings t;
  for (int r = 0; r < reps; ++r) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    f();
    t.cpu.push_back(thread_cpu_seconds() - c0);
    t.wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count());
  }
  std::sort(t.cpu.begin(), t.cpu.end());
  std::sort(t.wall.begin(), t.wall.end());
  return t;
}

void report(const char* what, const timings& t, size_t n) {
  const double per = 1e9 / static_cast<double>(n);
  std::printf(
      "%-14s cpu best %7.2f median %7.2f ns/request | wall best %7.2f median %7.2f (%zu runs)\n",
      what, t.cpu.front() * per, t.cpu[t.cpu.size() / 2] * per, t.wall.front() * per,
      t.wall[t.wall.size() / 2] * per, t.cpu.size());
}

}  // namespace

int main(int argc, char** argv) {
  const double total_requests = argc > 1 ? std::atof(argv[1]) : 1e7;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const int num_models = 8;
  const double total_rate = 40;
  const double cv = 2;

  std::vector<double> rates;
  double norm = 0;
  for (int i = 0; i < num_models; ++i) norm += std::pow(i + 1, -0.5);
  for (int i = 0; i < num_models; ++i) rates.push_back(total_rate * std::pow(i + 1, -0.5) / norm);

  std::vector<model_data> models;
  for (int i = 0; i < num_models; ++i) {
    model_data m;
    m.name = "m" + std::to_string(i);
    m.profile = bert_1_3b(true);
    m.slo = 5 * m.profile.single_device_latency();
    m.rate = rates[i];
    m.cv = cv;
    models.push_back(std::move(m));
  }
  placement p;
  p.group_configs = {{1, 1, 4}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}};
  p.group_models = {
      {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4}, {3, 4, 5, 6, 7}};
  cluster_env cluster{8, 13 * gib};
  for (const auto& problem : placement_problems(p, models, cluster))
    std::fprintf(stderr, "placement problem: %s\n", problem.c_str());

  const auto g0 = std::chrono::steady_clock::now();
  const workload w = gamma_workload(rates, cv, total_requests / total_rate, 42);
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
  const size_t n = w.size();
  std::printf("requests %zu over %.0f s (generated in %.2f s)\n", n, w.arrivals.back(), gen_s);

  const auto c0 = std::chrono::steady_clock::now();
  const approx_simulator sim(models, w);
  std::printf("construct      %7.2f ns/request\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count() * 1e9 /
                  static_cast<double>(n));

  sim_result result;
  report("run()", time_runs(reps, [&] { result = sim.run(p); }), n);
  sim_result reused;
  report("run_into()", time_runs(reps, [&] { sim.run_into(p, reused); }), n);
  sim_summary summary;
  report("run_summary()", time_runs(reps, [&] { summary = sim.run_summary(p); }), n);
  sim_result batched;
  report("run_batching()", time_runs(std::max(1, reps / 2), [&] { batched = sim.run_batching(p); }),
         n);

  const sim_stats full = compute_stats(w, result.finish, result.good);
  const sim_stats fast = fast_stats(summary, models);
  std::printf("attainment: %.6f (fast_stats, all requests), %.6f (compute_stats, warm-up %g s)\n",
              fast.goodput, full.goodput, default_warmup);
  std::printf("latency mean %.6f s; score %.9f; group requests", fast.latency_mean,
              placement_score(fast.goodput, fast.latency_mean, p.num_replicas()));
  for (int64_t g : summary.group_num_requests) std::printf(" %lld", static_cast<long long>(g));
  std::printf("\nrun_summary(): %lld interleaved chunks, %lld re-run after a wrong guess",
              static_cast<long long>(summary.chunks), static_cast<long long>(summary.chunk_fixups));
  int64_t batched_good = 0;
  for (uint8_t g : batched.good) batched_good += g;
  std::printf("\nbatching attainment: %.6f\n",
              static_cast<double>(batched_good) / static_cast<double>(n));
  // run() and run_summary() must agree; a mismatch is a bug, not a benchmark figure.
  int64_t good = 0;
  for (uint8_t g : result.good) good += g;
  if (good != summary.num_good) {
    std::fprintf(stderr, "run() and run_summary() disagree: %lld vs %lld\n",
                 static_cast<long long>(good), static_cast<long long>(summary.num_good));
    return 1;
  }
  return 0;
}
