#pragma once
// Small hand-checkable problems shared by the policy tests.

#include <string>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/profile/reference_profiles.hpp"
#include "planner/workload/workload_gen.hpp"

namespace alpaserve::planner::test {

// n copies of the reference's "test-2GB-100ms" profile named m0..m{n-1}.
inline std::vector<model_data> two_gb_models(int n, double slo, double rate, double cv) {
  static const profile_db db = reference_test_profiles();
  std::vector<model_data> models;
  for (int i = 0; i < n; ++i) {
    model_profile p = db.at("test-2GB-100ms");
    p.name = "m" + std::to_string(i);
    models.push_back({p.name, slo, rate, cv, p});
  }
  return models;
}

// A profile with one (1,1,1) entry of the given latency and weight, plus pipelines of 2 and 4.
inline model_profile simple_profile(const std::string& name, double latency, double weight) {
  model_profile p;
  p.name = name;
  p.configs[{1, 1, 1}].add_result(1, {latency}, {weight});
  p.configs[{1, 1, 2}].add_result(1, {latency / 2, latency / 2}, {weight / 2, weight / 2});
  p.configs[{1, 1, 4}].add_result(1, std::vector<double>(4, latency / 4),
                                  std::vector<double>(4, weight / 4));
  return p;
}

inline workload gamma_for(const std::vector<model_data>& models, double duration,
                          uint64_t seed = 0) {
  std::vector<std::string> names;
  std::vector<arrival_process_ptr> procs;
  for (const auto& m : models) {
    names.push_back(m.name);
    procs.push_back(std::make_unique<gamma_process>(m.rate, m.cv));
  }
  return generate_workload(names, procs, 0.0, duration, seed);
}

}  // namespace alpaserve::planner::test
