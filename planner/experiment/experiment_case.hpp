#pragma once
// One case of the paper's evaluation (../shared/reference/alpaserve.md section 6.1), built from
// the zoo profiles: models, cluster, a train workload the policies are tuned on and an
// independent test workload they are measured on, and the measurement itself.
// The experiment drivers (tools/experiment_command.cpp) sweep these; docs/experiments.md.
//
// Unlike the reference (which tunes every policy on the very arrivals it is tested on), the test
// workload here uses other seeds than the train workload: the attainment reported is what a
// placement achieves on traffic it has not seen.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "planner/policy/placement_policy.hpp"
#include "planner/profile/profile.hpp"
#include "planner/workload/azure_trace.hpp"

namespace alpaserve::planner {

// Seeds of the test workloads: far from the train seeds (0 + i) and from the extra samples the
// "ours" policy draws (7'000'003 + ...).
inline constexpr uint64_t default_test_seed = 1'000'000;

struct synthetic_case_spec {
  std::vector<std::string> model_types;  // zoo names, cycled: model j has type j mod size
  int num_models = 0;
  int num_devices = 0;
  double mem_budget = 13 * gib;      // bytes per device (the reference's --mem-budget 13)
  double total_rate = 0;             // requests/s over all models
  bool power_law = true;             // power-law (exponent 0.5) rates, else uniform
  double cv = 1;                     // Gamma CV of every model
  double slo_scale = 5;              // SLO = slo_scale x single-device latency of the model's type
  double test_duration = 100;        // seconds of test traffic
  uint64_t train_seed = 0;           // model i uses train_seed + i (the reference's train seeds)
  double train_min_samples = 30000;  // train covers max(100 s, this many expected requests)
  uint64_t test_seed = default_test_seed;
};

struct experiment_case {
  std::vector<model_data> models;
  cluster_env cluster;
  workload train;  // what the policies are tuned on
  workload test;   // what they are measured on
};

// Model j is named "<type>-<j / types>" (the reference's general-case names). The train
// workload is gen_train_workload's (max(100 s, 30000 requests)) with seeds train_seed + i; the
// test workload covers test_duration with seeds test_seed + i. Throws input_error for a type
// missing from `db` and std::invalid_argument for a non-positive count.
[[nodiscard]] experiment_case build_synthetic_case(const synthetic_case_spec& spec,
                                                   const profile_db& db);

// Models for the given types (cycled) with SLO = slo_scale x single-device latency; rate and cv
// left for the caller.
[[nodiscard]] std::vector<model_data> zoo_models(const std::vector<std::string>& types,
                                                 int num_models, double slo_scale,
                                                 const profile_db& db);

// A trace case: the replay options with seed 0 give the train workload, with `test_seed` the
// test workload (same trace window, independently drawn arrivals inside each fitted interval).
// Model rate and cv come from the train replay's statistics (as the reference does).
struct trace_case_spec {
  bool azure_v2 = false;
  trace_replay_options replay;  // replay.models is overwritten with the model names
  std::vector<std::string> model_types;
  int num_models = 0;
  int num_devices = 0;
  double mem_budget = 13 * gib;
  double slo_scale = 5;
  uint64_t test_seed = default_test_seed;
};
[[nodiscard]] experiment_case build_trace_case(const trace_case_spec& spec, const profile_db& db,
                                               const azure_v1_trace* v1, const azure_v2_trace* v2);

// What one policy achieved on one case.
struct policy_outcome {
  std::string policy;
  double attainment = 0;    // SLO attainment on the test workload (compute_stats, warm-up 10 s)
  double latency_mean = 0;  // mean latency on the test workload (rejected requests count 0)
  double train_score = 0;   // the policy's own score on what it was tuned on
  double solve_seconds = 0;
  int groups = 0;
  int replicas = 0;
  std::string shapes;  // e.g. "4x(1,2,2) 1x(1,1,8)"
};

// Attainment and mean latency of a solution on a workload (the reference's approximate
// simulator, then compute_stats with the reference's 10 s warm-up).
struct test_measure {
  double attainment = 0;
  double latency_mean = 0;
};
[[nodiscard]] test_measure measure_on(const policy_result& solution,
                                      const std::vector<model_data>& models, const workload& test);

// "3x(1,2,2) 1x(1,1,8)": group shapes and their counts, for reports.
[[nodiscard]] std::string describe_shapes(const placement& p);

// The outcome of a solution found in `solve_seconds`, measured on the case's test workload.
[[nodiscard]] policy_outcome outcome_of(const std::string& policy, const policy_result& r,
                                        double solve_seconds, const experiment_case& c);

// Solves the case with `policy` (tuned on `tune_on`, the case's train workload when null) and
// measures it on the case's test workload.
[[nodiscard]] policy_outcome run_policy(const placement_policy& policy, const experiment_case& c,
                                        const workload* tune_on = nullptr);

}  // namespace alpaserve::planner
