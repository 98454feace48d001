#pragma once
// The paper's evaluation (../shared/reference/alpaserve.md section 6) as sweeps over experiment
// cases, scaled to finish in minutes on two cores, and the checks of the paper's findings.
// tools/experiment_command.cpp writes CSV and plots; set-ups: docs/experiments.md.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "planner/experiment/experiment_case.hpp"
#include "planner/workload/azure_trace.hpp"

namespace alpaserve::planner {

struct experiment_settings {
  bool quick = false;                        // fewer points, shorter workloads
  std::vector<std::string> policies;         // empty: each experiment's default lines
  const azure_v1_trace* trace_v1 = nullptr;  // also run the MAF1 sweeps of s1/s2/s3
  const azure_v2_trace* trace_v2 = nullptr;  // also run the MAF2 sweeps of s1/s2/s3
  double ours_time_budget_s = 5.0;
};

// One line of a plot: a sweep of one variable.
struct sweep_spec {
  std::string experiment;  // "s1", "s1-maf1", "s4", "robustness", ...
  std::string x_name;      // "devices", "rate_scale", "cv_scale", "slo_scale", "drift", ...
  std::string y_name = "attainment";  // or "latency_mean" (motivation)
  std::vector<double> xs;
  std::function<experiment_case(double x)> build;
  std::vector<std::string> policies;
  // Policies tuned on the test workload itself (Clockwork++'s oracle, as the reference does).
  std::vector<std::string> oracle_policies;
  // Fixed placements measured as if they were policies (the motivation case).
  std::map<std::string, placement> fixed;
};

struct experiment_plan {
  std::string name;
  std::string setup;  // human-readable set-up, printed and written next to the CSV
  std::vector<sweep_spec> sweeps;
};

// Valid names: s1, s2, s3, s4, robustness, ablation, motivation. Throws input_error otherwise.
[[nodiscard]] experiment_plan make_experiment(const std::string& name,
                                              const experiment_settings& settings);
[[nodiscard]] std::vector<std::string> experiment_names();

// The figure name of a policy: SR, Clockwork++, AlpaServe, Ours, (pp,op), Round robin, ...
[[nodiscard]] std::string policy_label(const std::string& policy);

struct experiment_row {
  std::string experiment;
  std::string x_name;
  double x = 0;
  policy_outcome outcome;
};

using sweep_progress = std::function<void(size_t done, size_t total, const std::string& what)>;

// Runs every (x, policy) of the sweep. "ours" reuses the mp-search-sep answer of the same point
// when that policy is also on the list (identical result, half the time).
[[nodiscard]] std::vector<experiment_row> run_sweep(const sweep_spec& sweep,
                                                    const experiment_settings& settings,
                                                    const sweep_progress& progress);

struct finding {
  std::string experiment;
  std::string claim;
  bool pass = false;
  std::string detail;
};

// The paper's findings checked on the rows of one experiment (empty when it has none to check).
[[nodiscard]] std::vector<finding> check_findings(const std::string& experiment,
                                                  const std::vector<experiment_row>& rows);

// Largest x of the sweep at which the policy reaches >= threshold; -1 when it never does.
[[nodiscard]] double max_x_above(const std::vector<experiment_row>& rows, const std::string& x_name,
                                 const std::string& policy, double threshold);

}  // namespace alpaserve::planner
