// The "ours" policy: never worse than its start (mp-search-sep) on the train workload, valid
// placements, deterministic; and the experiment drivers' rows on a tiny case.

#include <catch2/catch.hpp>

#include <set>

#include "planner/experiment/experiment_suites.hpp"
#include "planner/policy/placement_evaluator.hpp"
#include "planner/policy/policy_mp_search.hpp"
#include "planner/policy/policy_ours.hpp"
#include "planner/policy/policy_registry.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "planner/workload/train_workload.hpp"
#include "planner/workload/workload_gen.hpp"
#include "policy_test_models.hpp"

using namespace alpaserve::planner;

namespace {

// Mixed zoo models (bert 1.3b / 2.6b, moe 1.3b) with power-law rates: small enough for tests,
// rich enough that bucketing, op > 1 and pipelines all matter.
std::vector<model_data> zoo_mix(int n, double total_rate, double cv, double slo_scale) {
  static const profile_db db =
      zoo_profile_db(device_preset("v100"), {"bert-1.3b", "bert-2.6b", "moe-1.3b"});
  auto models = zoo_models({"bert-1.3b", "bert-2.6b", "moe-1.3b"}, n, slo_scale, db);
  const auto rates = power_law_rates(models.size(), total_rate);
  for (size_t i = 0; i < models.size(); ++i) {
    models[i].rate = rates[i];
    models[i].cv = cv;
  }
  return models;
}

ours_options small_budget() {
  ours_options o;
  o.extra_train_seeds = 3;
  o.max_evaluations = 300;
  o.time_budget_s = 1e9;  // evaluation budget only: deterministic
  return o;
}

}  // namespace

TEST_CASE("ours is never worse than mp-search-sep on the train workload", "[policy_ours]") {
  struct small_case {
    int models;
    int devices;
    double rate;
    double cv;
    double slo;
    uint64_t seed;
  };
  const std::vector<small_case> cases = {
      {6, 4, 8, 4, 5, 0}, {9, 6, 12, 3, 2, 11}, {12, 8, 20, 6, 5, 22}, {6, 8, 10, 2, 1, 33}};
  int improved = 0;
  for (const auto& sc : cases) {
    const auto models = zoo_mix(sc.models, sc.rate, sc.cv, sc.slo);
    train_workload_options to;
    to.base_seed = sc.seed;
    to.min_samples = 4000;
    const workload train = gen_train_workload(models, to);
    const cluster_env cluster{sc.devices, 13 * gib, 8};
    const policy_result base = policy_mp_search(true).solve(models, cluster, &train, {});
    const policy_result mine = policy_ours({}, small_budget()).solve(models, cluster, &train, {});
    const placement_evaluator eval(models, train);
    const double base_score = eval.score(base.first_placement());
    const double our_score = eval.score(mine.first_placement());
    INFO("case models=" << sc.models << " devices=" << sc.devices << "\n" << mine.debug);
    CHECK(our_score >= base_score);
    CHECK(mine.train_score == Approx(our_score).epsilon(1e-12));
    CHECK(placement_problems(mine.first_placement(), models, cluster).empty());
    CHECK(mine.first_placement().num_devices() <= cluster.num_devices);
    improved += our_score > base_score;
  }
  // The search is not a no-op: on these loaded cases it finds something in most of them.
  CHECK(improved >= 1);
}

TEST_CASE("ours is deterministic under an evaluation budget and registered", "[policy_ours]") {
  const auto models = zoo_mix(8, 12, 4, 5);
  train_workload_options to;
  to.min_samples = 3000;
  const workload train = gen_train_workload(models, to);
  const cluster_env cluster{6, 13 * gib, 8};
  const policy_ours p({}, small_budget());
  const auto a = p.solve(models, cluster, &train, {});
  const auto b = p.solve(models, cluster, &train, {});
  CHECK(a.first_placement() == b.first_placement());
  REQUIRE(is_known_policy("ours"));
  CHECK(make_policy("ours")->name() == "ours");
}

TEST_CASE("a 10x budget with restarts never returns a lower train score than the default",
          "[policy_ours]") {
  struct small_case {
    int models;
    int devices;
    double rate;
    double cv;
    double slo;
  };
  const std::vector<small_case> cases = {{6, 4, 8, 4, 5}, {9, 6, 12, 3, 2}, {12, 8, 20, 6, 5}};
  for (const auto& sc : cases) {
    const auto models = zoo_mix(sc.models, sc.rate, sc.cv, sc.slo);
    train_workload_options to;
    to.min_samples = 3000;
    const workload train = gen_train_workload(models, to);
    const cluster_env cluster{sc.devices, 13 * gib, 8};
    ours_options longer = small_budget();
    longer.max_evaluations *= 10;
    longer.restarts = 50;
    const auto base = policy_ours({}, small_budget()).solve(models, cluster, &train, {});
    const auto mine = policy_ours({}, longer).solve(models, cluster, &train, {});
    INFO("case models=" << sc.models << " devices=" << sc.devices << "\n" << mine.debug);
    CHECK(mine.train_score >= base.train_score);
    CHECK(mine.debug.find("restarts") != std::string::npos);
    CHECK(placement_problems(mine.first_placement(), models, cluster).empty());
    CHECK(mine.first_placement().num_devices() <= cluster.num_devices);
    // Deterministic for a given seed under the evaluation budget.
    CHECK(policy_ours({}, longer).solve(models, cluster, &train, {}).first_placement() ==
          mine.first_placement());
  }
}

TEST_CASE("extra train samples are independent Gamma draws of the expected traffic",
          "[policy_ours]") {
  const auto models = test::two_gb_models(4, 1.0, 5.0, 2.0);
  ours_options o;
  o.extra_train_seeds = 3;
  const auto samples = extra_train_samples(models, o);
  REQUIRE(samples.size() == 3);
  const workload train = gen_train_workload(models);
  for (const auto& w : samples) {
    REQUIRE_NOTHROW(check_workload(w));
    // Expected ~ 20 r/s over train_duration; within 10 %.
    CHECK(static_cast<double>(w.size()) == Approx(static_cast<double>(train.size())).epsilon(0.1));
    CHECK(w.arrivals != train.arrivals);
  }
  CHECK(samples[0].arrivals != samples[1].arrivals);
  CHECK(extra_train_samples(models, o)[2].arrivals == samples[2].arrivals);
}

TEST_CASE("local search accepts only Pareto improvements over its samples", "[policy_ours]") {
  // Two 2GB models on 2 devices, one overloaded: the search must not lose attainment on any
  // sample relative to its start, whatever it changes.
  auto models = test::two_gb_models(3, 0.5, 6.0, 4.0);
  models[0].rate = 14;
  const workload train = test::gamma_for(models, 200, 5);
  ours_options o = small_budget();
  const auto extra = extra_train_samples(models, o);
  placement_evaluator given(models, train);
  std::vector<std::unique_ptr<placement_evaluator>> evs;
  std::vector<const placement_evaluator*> samples = {&given};
  for (const auto& w : extra) {
    evs.push_back(std::make_unique<placement_evaluator>(models, w));
    samples.push_back(evs.back().get());
  }
  const placement start{{{1, 1, 1}, {1, 1, 1}}, {{1}, {2}}};
  const cluster_env cluster{2, 13 * gib, 8};
  const auto rep = ours_local_search(start, models, cluster, samples, o, {});
  for (const auto* e : samples) CHECK(e->stats(rep.best).num_good >= e->stats(start).num_good);
  CHECK(rep.steps > 0);  // model 0 is unplaced: a swap-in must help
  CHECK(placement_problems(rep.best, models, cluster).empty());
}

TEST_CASE("experiment sweeps produce one row per point and policy", "[experiment]") {
  const profile_db db = zoo_profile_db(device_preset("v100"), {"bert-1.3b"});
  sweep_spec s;
  s.experiment = "tiny";
  s.x_name = "cv_scale";
  s.xs = {1, 4};
  s.policies = {"sr-greedy", "sr-replace-20", "mp-search-sep", "ours"};
  s.oracle_policies = {"sr-replace-20"};
  s.build = [&db](double cv) {
    synthetic_case_spec spec;
    spec.model_types = {"bert-1.3b"};
    spec.num_models = 4;
    spec.num_devices = 2;
    spec.total_rate = 6;
    spec.cv = cv;
    spec.test_duration = 60;
    spec.train_min_samples = 1000;
    return build_synthetic_case(spec, db);
  };
  experiment_settings st;
  st.ours_time_budget_s = 0.5;
  size_t calls = 0;
  const auto rows = run_sweep(s, st, [&](size_t, size_t, const std::string&) { ++calls; });
  REQUIRE(rows.size() == 8);
  CHECK(calls >= 8);
  std::set<std::string> labels;
  for (const auto& r : rows) {
    CHECK(r.experiment == "tiny");
    CHECK(r.x_name == "cv_scale");
    CHECK(r.outcome.attainment >= 0);
    CHECK(r.outcome.attainment <= 1);
    CHECK(r.outcome.replicas > 0);
    labels.insert(policy_label(r.outcome.policy));
  }
  CHECK(labels == std::set<std::string>{"SR", "Clockwork++", "AlpaServe", "Ours"});
  const auto findings = check_findings("s1", rows);  // runs the suite checks on these rows
  CHECK_FALSE(findings.empty());
  CHECK(max_x_above(rows, "cv_scale", "sr-greedy", 0.0) == 4);
}
