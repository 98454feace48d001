// Single-thread throughput of the approximate simulator (docs/simulators.md).
//
// Case: 8 BERT-1.3B models (the reference's test profile, section 1.2) on 8 devices, placement
// [(1,1,4): all], [(1,1,2): all], [(1,1,1): m0-m4], [(1,1,1): m3-m7]; power-law rates
// r_i ~ (i+1)^-0.5 totalling 40 r/s; Gamma arrivals with CV 2; SLO 5x single-device latency.
//
//   build/bin/bench_approx_simulator [num_requests=10000000] [repetitions=5] [--dump DIR]
//                                    [--run-only]
//
// Each method runs under every kernel build the CPU has (portable, AVX-512), the builds taking
// turns. --run-only times run() alone.
// --dump DIR writes the case (arrivals.f64, model.i32, case.json with profiles and placement) and
// our run()'s outcome (finish.f64, good.u8, counts in case.json) for
// bench/reference_approx_speed.py, which times the reference's kernel on it
// (bench/approx_vs_reference.sh runs both).
//
// The Gamma generator here is private to the benchmark (deterministic, std::mt19937_64); the
// planner's workload generators are separate.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/component_kernel_variants.hpp"
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

// Page faults of this thread so far: what fresh result arrays cost besides the simulation.
long thread_page_faults() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt + ru.ru_majflt;
}

struct timings {
  std::vector<double> cpu;
  std::vector<double> wall;
  long faults = 0;  // over all runs
};

// The kernel builds this CPU runs: portable always, AVX-512 where the CPU has it.
std::vector<kernel_isa> kernel_builds() {
  std::vector<kernel_isa> isas{kernel_isa::portable};
  if (kernel_isa_supported(kernel_isa::avx512)) isas.push_back(kernel_isa::avx512);
  return isas;
}

// f(b) timed reps times under each build b, the builds taking turns every repetition so that a
// swing of the shared machine hits them alike. untimed(b) runs before each timed call.
template <class F, class G = void (*)(size_t)>
std::vector<timings> time_runs(
    const std::vector<kernel_isa>& isas, int reps, F&& f, G&& untimed = [](size_t) {}) {
  std::vector<timings> out(isas.size());
  for (int r = 0; r < reps; ++r) {
    for (size_t b = 0; b < isas.size(); ++b) {
      force_kernel_isa(isas[b]);
      untimed(b);
      timings& t = out[b];
      const auto w0 = std::chrono::steady_clock::now();
      const double c0 = thread_cpu_seconds();
      const long f0 = thread_page_faults();
      f(b);
      t.faults += thread_page_faults() - f0;
      t.cpu.push_back(thread_cpu_seconds() - c0);
      t.wall.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count());
    }
  }
  for (timings& t : out) {
    std::sort(t.cpu.begin(), t.cpu.end());
    std::sort(t.wall.begin(), t.wall.end());
  }
  return out;
}

void report(const char* what, const std::string& build, const timings& t, size_t n) {
  const double per = 1e9 / static_cast<double>(n);
  std::printf(
      "%-14s %-8s cpu best %7.2f median %7.2f ns/request | wall best %7.2f median %7.2f "
      "(%zu runs, %ld page faults/run)\n",
      what, build.c_str(), t.cpu.front() * per, t.cpu[t.cpu.size() / 2] * per, t.wall.front() * per,
      t.wall[t.wall.size() / 2] * per, t.cpu.size(), t.faults / static_cast<long>(t.cpu.size()));
}

void report(const char* what, const std::vector<kernel_isa>& isas, const std::vector<timings>& t,
            size_t n) {
  for (size_t b = 0; b < isas.size(); ++b) report(what, kernel_isa_name(isas[b]), t[b], n);
}

template <class T>
void write_raw(const std::string& path, const std::vector<T>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()),
          static_cast<std::streamsize>(v.size() * sizeof(T)));
}

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

// The case as plain data: the reference rebuilds its profiles and placement from it.
void dump_case(const std::string& dir, const std::vector<model_data>& models, const placement& p,
               const workload& w, const sim_result& ours) {
  write_raw(dir + "/arrivals.f64", w.arrivals);
  write_raw(dir + "/model.i32", w.model);
  write_raw(dir + "/finish.f64", ours.finish);
  write_raw(dir + "/good.u8", ours.good);
  std::ofstream f(dir + "/case.json");
  f << "{\"models\": [";
  for (size_t m = 0; m < models.size(); ++m) {
    char slo[32];
    std::snprintf(slo, sizeof slo, "%.17g", models[m].slo);
    f << (m ? ", " : "") << "{\"name\": \"" << models[m].name << "\", \"slo\": " << slo
      << ", \"configs\": [";
    bool first = true;
    for (const auto& [c, prof] : models[m].profile.configs) {
      f << (first ? "" : ", ") << "{\"config\": [" << c.dp << ", " << c.op << ", " << c.pp
        << "], \"weight\": " << json_list(prof.weight_mem) << ", \"latency\": {";
      bool first_bs = true;
      for (const auto& [bs, lat] : prof.latency) {
        f << (first_bs ? "" : ", ") << "\"" << bs << "\": " << json_list(lat);
        first_bs = false;
      }
      f << "}}";
      first = false;
    }
    f << "]}";
  }
  f << "], \"placement\": {\"group_configs\": [";
  for (size_t g = 0; g < p.group_configs.size(); ++g) {
    const auto& c = p.group_configs[g];
    f << (g ? ", " : "") << "[" << c.dp << ", " << c.op << ", " << c.pp << "]";
  }
  f << "], \"group_models\": [";
  for (size_t g = 0; g < p.group_models.size(); ++g) {
    f << (g ? ", " : "") << "[";
    for (size_t i = 0; i < p.group_models[g].size(); ++i)
      f << (i ? ", " : "") << p.group_models[g][i];
    f << "]";
  }
  int64_t good = 0;
  for (uint8_t g : ours.good) good += g;
  f << "]}, \"expected\": {\"num_good\": " << good << ", \"group_num_requests\": [";
  for (size_t g = 0; g < ours.group_num_requests.size(); ++g)
    f << (g ? ", " : "") << ours.group_num_requests[g];
  f << "]}}\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<const char*> positional;
  std::string dump_dir;
  bool run_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--dump" && i + 1 < argc)
      dump_dir = argv[++i];
    else if (std::string(argv[i]) == "--run-only")
      run_only = true;
    else
      positional.push_back(argv[i]);
  }
  const double total_requests = !positional.empty() ? std::atof(positional[0]) : 1e7;
  const int reps = positional.size() > 1 ? std::atoi(positional[1]) : 5;
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

  // The component kernel's builds take turns (run_batching does not use it: default build).
  const std::vector<kernel_isa> isas = kernel_builds();
  const kernel_isa default_isa = active_kernel_isa();
  std::vector<sim_result> results(isas.size());
  // The previous result is freed before the clock starts, as the reference's script does (its
  // numpy arrays are dropped between calls): the time is allocation, first touch and the run.
  report("run()", isas,
         time_runs(
             isas, reps, [&](size_t b) { results[b] = sim.run(p); },
             [&](size_t b) { results[b] = sim_result{}; }),
         n);
  // The builds must agree bit for bit; a mismatch is a bug, not a benchmark figure.
  for (size_t b = 1; b < isas.size(); ++b) {
    if (results[b].good != results[0].good ||
        std::memcmp(results[b].finish.data(), results[0].finish.data(), n * sizeof(double)) != 0) {
      std::fprintf(stderr, "the %s and %s builds disagree\n", kernel_isa_name(isas[0]).c_str(),
                   kernel_isa_name(isas[b]).c_str());
      return 1;
    }
  }
  if (!dump_dir.empty()) dump_case(dump_dir, models, p, w, results[0]);
  if (run_only) return 0;
  std::vector<sim_result> reused(isas.size());
  report("run_into()", isas, time_runs(isas, reps, [&](size_t b) { sim.run_into(p, reused[b]); }),
         n);
  std::vector<sim_summary> summaries(isas.size());
  report("run_summary()", isas,
         time_runs(isas, reps, [&](size_t b) { summaries[b] = sim.run_summary(p); }), n);
  force_kernel_isa(default_isa);
  sim_result batched;
  const std::vector<kernel_isa> one{default_isa};
  report("run_batching()", one,
         time_runs(one, std::max(1, reps / 2), [&](size_t) { batched = sim.run_batching(p); }), n);
  const sim_result& result = results.front();
  const sim_summary& summary = summaries.front();

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
