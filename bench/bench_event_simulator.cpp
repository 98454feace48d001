// Single-thread throughput of the event simulator on the case:
// 8 bert-1.3b models on 8 devices, placement [(1,1,4): all 8] [(1,1,2): all 8]
// [(1,1,1): m0-m4] [(1,1,1): m3-m7], power-law rates (exponent 0.5) totalling 40 r/s,
// Gamma arrivals with CV 2, SLO = 5 x single-device latency.
//
//   build/bin/bench_event_simulator [num_requests=2400000] [repeats=5]
//
// Prints the median simulated requests per second by wall clock and by this thread's CPU time
// (workload generation and summarize() not timed) and the attainment, for the default options and
// a few option variants.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "planner/profile/reference_profiles.hpp"
#include "planner/sim/event_simulator.hpp"
#include "planner/workload/workload_gen.hpp"

using namespace alpaserve::planner;

namespace {

// CPU time of this thread: on a shared 2-core machine wall time also counts other processes.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void run_case(const char* label, const std::vector<model_data>& models, const placement& p,
              const workload& w, const event_sim_options& o, int repeats) {
  std::vector<double> rates, cpu_rates;
  event_sim_result r;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    r = simulate_events(models, p, w, o);
    const double c = thread_cpu_seconds() - c0;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(static_cast<double>(w.size()) / s);
    cpu_rates.push_back(static_cast<double>(w.size()) / c);
  }
  std::sort(rates.begin(), rates.end());
  std::sort(cpu_rates.begin(), cpu_rates.end());
  // summarize() is timed on its own: callers that need no statistics do not pay for it.
  const auto t0 = std::chrono::steady_clock::now();
  const event_sim_summary sum = summarize(models, w, r);
  const double summary_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "%-32s wall %9.0f req/s (min %.0f, max %.0f)  cpu %9.0f req/s\n%-32s attainment %.5f  late "
      "%zu  rej_slo %zu  "
      "p99 %.4f s  events/req %.2f  summary %.0f ms\n",
      label, rates[rates.size() / 2], rates.front(), rates.back(), cpu_rates[cpu_rates.size() / 2],
      "", sum.attainment, sum.by_verdict[static_cast<int>(request_verdict::late)],
      sum.by_verdict[static_cast<int>(request_verdict::rejected_slo)], sum.latency.p99,
      static_cast<double>(r.num_events) / static_cast<double>(w.size()), 1e3 * summary_s);
}

}  // namespace

int main(int argc, char** argv) {
  const double num_requests = argc > 1 ? std::atof(argv[1]) : 2.4e6;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const int num_models = 8;
  const double total_rate = 40.0;

  const model_profile bert = reference_test_profiles().at("alpa/bert-1.3b");
  std::vector<model_data> models;
  for (int i = 0; i < num_models; ++i) {
    model_data m;
    m.name = "m" + std::to_string(i);
    m.profile = bert;  // alpa/bert-1.3b of the reference's test profiles
    m.profile.name = m.name;
    m.slo = 5.0 * m.profile.single_device_latency();
    models.push_back(std::move(m));
  }
  placement p;
  p.group_configs = {{1, 1, 4}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}};
  p.group_models = {
      {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4}, {3, 4, 5, 6, 7}};

  const workload w =
      gamma_workload(default_model_names(num_models), power_law_rates(num_models, total_rate), 2.0,
                     num_requests / total_rate);
  std::printf("workload: %zu requests over %.0f s (gamma_workload, seeds 0-7)\n", w.size(),
              num_requests / total_rate);

  event_sim_options defaults;
  run_case("default (0.2 ms hops, feedback)", models, p, w, defaults, repeats);
  event_sim_options jitter = defaults;
  jitter.jitter_cv = 0.1;
  jitter.seed = 1;
  run_case("jitter cv 0.1", models, p, w, jitter, repeats);
  event_sim_options batching = defaults;
  batching.max_batch_size = 16;
  run_case("max batch 16", models, p, w, batching, repeats);
  event_sim_options capped = defaults;
  capped.max_queue_per_group = 4;
  run_case("queue cap 4", models, p, w, capped, repeats);
  event_sim_options reference_rule = defaults;
  reference_rule.strategy = dispatch_strategy::min_last_stage_clock;
  run_case("min_last_stage_clock", models, p, w, reference_rule, repeats);
  return 0;
}
