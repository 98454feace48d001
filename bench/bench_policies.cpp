// Placement policy solve times on the paper-scale problems (single thread by default).
//
//   build/bin/bench_policies [--threads N] [--no-decompose] [--no-memo] [--only NAME] [--verbose]
//                            [--kernel portable|avx512] [--repeat N] [--compare-kernels]
//
// --verbose prints the policy's debug lines and the chosen placement; cpu_s is this thread's CPU
// time (the build machine is shared, so wall time is noisy). --kernel picks the simulation loops'
// build (planner/sim/component_kernel_variants.hpp; default: avx512 where the CPU has it).
// --repeat N solves each case N times. --compare-kernels alternates the two builds N times per
// case in this one process and prints each one's best and median cpu_s and their ratio (the
// machine's speed swings from minute to minute, so only runs side by side compare).
//
// Cases (zoo v100 profiles, 13 GiB per device, power-law rates 2 r/s per model, Gamma CV 4,
// SLO 5x single-device latency; train workload = gen_train_workload):
//   mp-search-sep: 72 models (bert-6.7b, bert-2.6b, bert-1.3b cycling) on 48 devices
//   mp-search:     the same
//   sr-greedy:     the same
//   sr-search:     32 models (same cycle) on 32 devices

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "planner/policy/policy_registry.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "planner/sim/component_kernel_variants.hpp"
#include "planner/workload/train_workload.hpp"
#include "planner/workload/workload_gen.hpp"

using namespace alpaserve::planner;

namespace {

std::vector<model_data> bert_mix(int n) {
  static const profile_db db =
      zoo_profile_db(device_preset("v100"), {"bert-6.7b", "bert-2.6b", "bert-1.3b"});
  const char* types[] = {"bert-6.7b", "bert-2.6b", "bert-1.3b"};
  const auto rates = power_law_rates(static_cast<size_t>(n), 2.0 * n);
  std::vector<model_data> models;
  for (int i = 0; i < n; ++i) {
    const model_profile& p = db.at(types[i % 3]);
    models.push_back({std::string(types[i % 3]) + "-" + std::to_string(i / 3),
                      5.0 * p.single_device_latency(), rates[i], 4.0, p});
  }
  return models;
}

}  // namespace

int main(int argc, char** argv) {
  policy_options options;
  std::string only;
  bool verbose = false;
  int repeat = 1;
  bool compare = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      options.evaluator.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-decompose"))
      options.evaluator.decompose = false;
    else if (!std::strcmp(argv[i], "--no-memo"))
      options.evaluator.memoize = false;
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!std::strcmp(argv[i], "--verbose"))
      verbose = true;
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--compare-kernels"))
      compare = true;
    else if (!std::strcmp(argv[i], "--kernel") && i + 1 < argc) {
      const std::string name = argv[++i];
      if (name != "portable" && name != "avx512") {
        std::fprintf(stderr, "bench_policies: unknown kernel '%s' (portable, avx512)\n",
                     name.c_str());
        return 2;
      }
      const kernel_isa isa = name == "avx512" ? kernel_isa::avx512 : kernel_isa::portable;
      if (!kernel_isa_supported(isa)) {
        std::fprintf(stderr, "bench_policies: this CPU cannot run the %s kernel\n", name.c_str());
        return 77;
      }
      force_kernel_isa(isa);
    } else {
      std::fprintf(stderr, "bench_policies: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (compare && !kernel_isa_supported(kernel_isa::avx512)) {
    std::fprintf(stderr, "bench_policies: --compare-kernels needs an AVX-512 CPU\n");
    return 77;
  }
  struct bench_case {
    std::string policy;
    int models;
    int devices;
  };
  const std::vector<bench_case> cases = {{"mp-search-sep", 72, 48},
                                         {"mp-search", 72, 48},
                                         {"sr-greedy", 72, 48},
                                         {"sr-search", 32, 32}};
  std::printf("threads=%d decompose=%d memoize=%d kernel=%s\n", options.evaluator.threads,
              options.evaluator.decompose ? 1 : 0, options.evaluator.memoize ? 1 : 0,
              compare ? "both" : kernel_isa_name(active_kernel_isa()).c_str());
  std::printf("%-14s %6s %7s %9s %9s %9s %10s %8s %s\n", "policy", "models", "devices", "requests",
              "seconds", "cpu_s", "score", "replicas", "kernel");
  for (const auto& c : cases) {
    if (!only.empty() && c.policy != only) continue;
    const auto models = bert_mix(c.models);
    const workload train = gen_train_workload(models);
    const cluster_env cluster{c.devices, 13 * gib};
    const auto policy = make_policy(c.policy, options);
    std::vector<kernel_isa> order = {active_kernel_isa()};
    if (compare) order = {kernel_isa::portable, kernel_isa::avx512};
    std::vector<std::vector<double>> cpu_by_isa(order.size());
    std::vector<double> score_by_isa(order.size());
    for (int rep = 0; rep < repeat; ++rep)
      for (size_t k = 0; k < order.size(); ++k) {
        force_kernel_isa(order[k]);
        timespec cpu0{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
        const auto t0 = std::chrono::steady_clock::now();
        const policy_result r = policy->solve(models, cluster, &train, {});
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        timespec cpu1{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
        const double cpu_secs = static_cast<double>(cpu1.tv_sec - cpu0.tv_sec) +
                                1e-9 * static_cast<double>(cpu1.tv_nsec - cpu0.tv_nsec);
        std::printf("%-14s %6d %7d %9zu %9.3f %9.3f %10.6f %8d %s\n", c.policy.c_str(), c.models,
                    c.devices, train.size(), secs, cpu_secs, r.train_score,
                    r.first_placement().num_replicas(), kernel_isa_name(order[k]).c_str());
        if (verbose) {
          std::printf("%sexact score: %.17g\n", r.debug.c_str(), r.train_score);
          // The chosen placement, so runs can be compared placement for placement.
          const placement& sol = r.first_placement();
          for (size_t g = 0; g < sol.num_groups(); ++g) {
            std::printf("  group %zu %s:", g, sol.group_configs[g].to_string().c_str());
            for (int m : sol.group_models[g]) std::printf(" %d", m);
            std::printf("\n");
          }
        }
        std::fflush(stdout);
        cpu_by_isa[k].push_back(cpu_secs);
        score_by_isa[k] = r.train_score;
      }
    if (compare) {
      double best[2];
      double median[2];
      for (size_t k = 0; k < 2; ++k) {
        std::vector<double>& v = cpu_by_isa[k];
        std::sort(v.begin(), v.end());
        best[k] = v.front();
        median[k] = v[v.size() / 2];
        std::printf("  %-8s cpu_s best %.3f median %.3f over %d runs\n",
                    kernel_isa_name(order[k]).c_str(), best[k], median[k], repeat);
      }
      std::printf("  portable / avx512: best %.3fx, median %.3fx; same score: %s\n",
                  best[0] / best[1], median[0] / median[1],
                  score_by_isa[0] == score_by_isa[1] ? "yes" : "NO");
    }
  }
  return 0;
}
