#include "planner/experiment/experiment_case.hpp"

#include <chrono>
#include <map>
#include <stdexcept>

#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/sim_stats.hpp"
#include "planner/workload/train_workload.hpp"
#include "planner/workload/workload_gen.hpp"

namespace alpaserve::planner {

std::vector<model_data> zoo_models(const std::vector<std::string>& types, int num_models,
                                   double slo_scale, const profile_db& db) {
  if (types.empty() || num_models <= 0)
    throw std::invalid_argument("a case needs at least one model type and one model");
  std::vector<model_data> models;
  const size_t k = types.size();
  for (int j = 0; j < num_models; ++j) {
    const model_profile& p = db.at(types[j % k]);
    model_data m;
    m.name = types[j % k] + "-" + std::to_string(j / k);
    m.slo = slo_scale * p.single_device_latency();
    m.profile = p;
    models.push_back(std::move(m));
  }
  return models;
}

experiment_case build_synthetic_case(const synthetic_case_spec& spec, const profile_db& db) {
  if (spec.num_devices <= 0) throw std::invalid_argument("a case needs at least one device");
  experiment_case c;
  c.models = zoo_models(spec.model_types, spec.num_models, spec.slo_scale, db);
  const auto n = static_cast<size_t>(spec.num_models);
  const std::vector<double> rates =
      spec.power_law ? power_law_rates(n, spec.total_rate) : uniform_rates(n, spec.total_rate);
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    c.models[i].rate = rates[i];
    c.models[i].cv = spec.cv;
    names.push_back(c.models[i].name);
  }
  c.cluster = cluster_env{spec.num_devices, spec.mem_budget, 8};
  train_workload_options train_options;
  train_options.base_seed = spec.train_seed;
  train_options.min_samples = spec.train_min_samples;
  c.train = gen_train_workload(c.models, train_options);
  c.test = gamma_workload(names, rates, spec.cv, spec.test_duration, spec.test_seed);
  return c;
}

experiment_case build_trace_case(const trace_case_spec& spec, const profile_db& db,
                                 const azure_v1_trace* v1, const azure_v2_trace* v2) {
  if (spec.num_devices <= 0) throw std::invalid_argument("a case needs at least one device");
  experiment_case c;
  c.models = zoo_models(spec.model_types, spec.num_models, spec.slo_scale, db);
  trace_replay_options options = spec.replay;
  options.models.clear();
  for (const auto& m : c.models) options.models.push_back(m.name);
  auto replay = [&](uint64_t seed) {
    options.seed = seed;
    if (spec.azure_v2) {
      if (v2 == nullptr) throw std::invalid_argument("an Azure v2 case needs the v2 trace");
      return replay_azure_v2(*v2, options);
    }
    if (v1 == nullptr) throw std::invalid_argument("an Azure v1 case needs the v1 trace");
    return replay_azure_v1(*v1, options);
  };
  trace_replay train = replay(spec.replay.seed);
  for (size_t i = 0; i < c.models.size(); ++i) {
    c.models[i].rate = train.models[i].rate;
    c.models[i].cv = train.models[i].cv > 0 ? train.models[i].cv : 1.0;
  }
  c.train = std::move(train.merged);
  c.test = replay(spec.test_seed).merged;
  c.cluster = cluster_env{spec.num_devices, spec.mem_budget, 8};
  return c;
}

test_measure measure_on(const policy_result& solution, const std::vector<model_data>& models,
                        const workload& test) {
  test_measure out;
  if (test.empty()) return out;
  const approx_simulator sim(models, test);
  const sim_result r = solution.has_replacement()
                           ? sim.run(std::get<placement_with_replacement>(solution.solution))
                           : sim.run(std::get<placement>(solution.solution));
  const sim_stats s = compute_stats(test, r.finish, r.good);
  out.attainment = s.goodput;
  out.latency_mean = s.latency_mean;
  return out;
}

std::string describe_shapes(const placement& p) {
  std::map<parallel_config, int> count;
  for (const auto& c : p.group_configs) ++count[c];
  std::string s;
  for (const auto& [c, n] : count)
    s += (s.empty() ? "" : " ") + std::to_string(n) + "x" + c.to_string();
  return s;
}

policy_outcome outcome_of(const std::string& policy, const policy_result& r, double solve_seconds,
                          const experiment_case& c) {
  policy_outcome o;
  o.policy = policy;
  o.solve_seconds = solve_seconds;
  o.train_score = r.train_score;
  const placement& p = r.first_placement();
  o.groups = static_cast<int>(p.num_groups());
  o.replicas = p.num_replicas();
  o.shapes = describe_shapes(p);
  if (r.has_replacement()) {
    const auto& w = std::get<placement_with_replacement>(r.solution);
    o.shapes += " (" + std::to_string(w.placements.size()) + " windows)";
  }
  const test_measure m = measure_on(r, c.models, c.test);
  o.attainment = m.attainment;
  o.latency_mean = m.latency_mean;
  return o;
}

policy_outcome run_policy(const placement_policy& policy, const experiment_case& c,
                          const workload* tune_on) {
  const auto t0 = std::chrono::steady_clock::now();
  const policy_result r =
      policy.solve(c.models, c.cluster, tune_on != nullptr ? tune_on : &c.train, {});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return outcome_of(policy.name(), r, secs, c);
}

}  // namespace alpaserve::planner
