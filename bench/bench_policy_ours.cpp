// "ours" against its start, mp-search-sep: solve time and attainment on independent test seeds.
//
//   build/bin/bench_policy_ours [--case s1|s2|s3|s3-full] [--budget SECONDS] [--evals N]
//                               [--seeds K] [--threads N] [--cv CV] [--test-duration S]
//                               [--test-seeds N]
//
// Cases (zoo v100 profiles, 13 GiB per device, power-law rates, Gamma, SLO 5x single-device
// latency; train = gen_train_workload (seeds 0 + i); test = 3 workloads of 120 s with seeds
// 1'000'000 + 1000 k + i):
//   s1:      24 x bert-1.3b on 8 devices, 20 r/s, CV 4
//   s2:      24 x bert-6.7b on 24 devices, 12 r/s, CV 4
//   s3:      36 mixed (6 types) on 24 devices, 20 r/s, CV 4
//   s2-full: 48 x bert-6.7b on 48 devices, 24 r/s
//   s3-full: 72 mixed on 48 devices, 40 r/s, CV 4 (the paper's S3 size)

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "planner/experiment/experiment_case.hpp"
#include "planner/policy/policy_mp_search.hpp"
#include "planner/policy/policy_ours.hpp"
#include "planner/profile/zoo_profiles.hpp"

using namespace alpaserve::planner;

int main(int argc, char** argv) {
  std::string which = "s3";
  policy_options options;
  ours_options ours;
  int test_seeds = 3;
  double cv = 4, test_duration = 120;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--case") && i + 1 < argc)
      which = argv[++i];
    else if (!std::strcmp(argv[i], "--budget") && i + 1 < argc)
      ours.time_budget_s = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--evals") && i + 1 < argc)
      ours.max_evaluations = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc)
      ours.extra_train_seeds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      options.evaluator.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--cv") && i + 1 < argc)
      cv = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--test-duration") && i + 1 < argc)
      test_duration = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--test-seeds") && i + 1 < argc)
      test_seeds = std::atoi(argv[++i]);
  }
  const std::vector<std::string> mixed = {"bert-6.7b", "moe-5.3b",  "bert-2.6b",
                                          "moe-2.4b",  "bert-1.3b", "moe-1.3b"};
  synthetic_case_spec spec;
  spec.cv = cv;
  spec.test_duration = test_duration;
  if (which == "s1") {
    spec.model_types = {"bert-1.3b"};
    spec.num_models = 24, spec.num_devices = 8, spec.total_rate = 20;
  } else if (which == "s2") {
    spec.model_types = {"bert-6.7b"};
    spec.num_models = 24, spec.num_devices = 24, spec.total_rate = 12;
  } else if (which == "s2-full") {
    spec.model_types = {"bert-6.7b"};
    spec.num_models = 48, spec.num_devices = 48, spec.total_rate = 24;
  } else if (which == "s3-full") {
    spec.model_types = mixed;
    spec.num_models = 72, spec.num_devices = 48, spec.total_rate = 40;
  } else {
    spec.model_types = mixed;
    spec.num_models = 36, spec.num_devices = 24, spec.total_rate = 20;
  }
  std::vector<std::string> types = spec.model_types;
  const profile_db db = zoo_profile_db(device_preset("v100"), types);
  const experiment_case c = build_synthetic_case(spec, db);

  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  const policy_mp_search sep(true, options);
  const policy_result base = sep.solve(c.models, c.cluster, &c.train, {});
  const double t_sep = std::chrono::duration<double>(clock::now() - t0).count();
  t0 = clock::now();
  const policy_ours policy(options, ours);
  const policy_result mine = policy.solve_from(base, c.models, c.cluster, &c.train, {});
  const double t_ours = std::chrono::duration<double>(clock::now() - t0).count();

  std::printf("case %s: %d models, %d devices, %zu train requests, threads %d\n", which.c_str(),
              spec.num_models, spec.num_devices, c.train.size(), options.evaluator.threads);
  std::printf("mp-search-sep: %.3f s, train score %.6f, shapes %s\n", t_sep, base.train_score,
              describe_shapes(base.first_placement()).c_str());
  std::printf("ours search:   %.3f s, train score %.6f, shapes %s\n%s", t_ours, mine.train_score,
              describe_shapes(mine.first_placement()).c_str(), mine.debug.c_str());
  double sum_a = 0, sum_b = 0;
  for (int k = 0; k < test_seeds; ++k) {
    synthetic_case_spec s2 = spec;
    s2.test_seed = default_test_seed + 1000ull * k;
    const experiment_case t = build_synthetic_case(s2, db);
    const double a = measure_on(base, c.models, t.test).attainment;
    const double b = measure_on(mine, c.models, t.test).attainment;
    sum_a += a, sum_b += b;
    std::printf("test seed %llu: mp-search-sep %.4f  ours %.4f\n",
                static_cast<unsigned long long>(s2.test_seed), a, b);
  }
  std::printf("mean: mp-search-sep %.4f  ours %.4f\n", sum_a / test_seeds, sum_b / test_seeds);
  return 0;
}
