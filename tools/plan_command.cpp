// `alpaserve plan`: run a placement policy offline on profiles and a workload, print the groups
// and the predicted SLO attainment, and write the placement file `alpaserve simulate` reads.
// Syntax and examples: docs/cli.md (section "plan").

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "planner/core/input_error.hpp"
#include "planner/policy/placement_io.hpp"
#include "planner/policy/policy_ours.hpp"
#include "planner/policy/policy_registry.hpp"
#include "planner/profile/device_model.hpp"
#include "planner/profile/profile_io.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "planner/sim/approx_simulator.hpp"
#include "planner/workload/train_workload.hpp"
#include "planner/workload/workload_gen.hpp"
#include "planner/workload/workload_io.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

using namespace planner;

struct plan_options {
  std::string profiles = "zoo:v100";
  std::string models;
  int devices = 0;
  double mem_budget_gib = 13;
  std::string workload_file;
  double rate = 0;  // total requests/s; 0 = 2 per model
  double cv = 1;
  std::string rate_distribution = "power-law";
  double duration = 0;  // test workload seconds; 0 = the train duration
  double slo_scale = 5;
  std::string policy = "ours";
  std::string out;
  bool json = false;
  bool quiet = false;
  int threads = 1;
  long test_seed = -1;
  // Given on the command line (not defaults): with --workload, these nominal values are kept for
  // the models instead of the ones measured from the trace (the reference's synthetic cases).
  bool rate_given = false;  // --rate or --rate-distribution
  bool cv_given = false;    // --cv
  // --min-devices: search the fewest devices (1..devices) for which the policy's predicted
  // attainment reaches target_attainment, then plan on that many.
  bool min_devices = false;
  double target_attainment = 0;
  // Search budget of policy ours (0 / -1 = its defaults): wall-clock seconds, scored candidates
  // (default 500 per second of --time-budget, the default's ratio), restarts, rng seed.
  double time_budget = 0;
  int search_evals = 0;
  int restarts = 0;
  long search_seed = -1;
};

// Per-model rates: --rate (default 2 per model) split by --rate-distribution.
std::vector<double> nominal_rates(const plan_options& o, size_t num_models) {
  const double total = o.rate > 0 ? o.rate : 2.0 * static_cast<double>(num_models);
  if (o.rate_distribution == "power-law") return power_law_rates(num_models, total);
  if (o.rate_distribution == "uniform") return uniform_rates(num_models, total);
  throw input_error("--rate-distribution", o.rate_distribution, "expected power-law or uniform");
}

profile_db load_profiles(const std::string& spec) {
  if (spec.rfind("zoo:", 0) == 0) return zoo_profile_db(device_preset(spec.substr(4)));
  return read_profile_db(spec);
}

// "a,b,c x24" (or "a,b,c*24"): the list repeated 24 times, models named "<profile>-<set>";
// a readable file: one "profile [name]" per line, '#' comments.
std::vector<std::pair<std::string, std::string>> parse_model_spec(const std::string& spec) {
  std::vector<std::pair<std::string, std::string>> out;  // (name, profile)
  std::ifstream file(spec);
  if (file) {
    std::string line;
    int lineno = 0;
    while (std::getline(file, line)) {
      ++lineno;
      line = line.substr(0, line.find('#'));
      std::istringstream in(line);
      std::string profile, name, extra;
      if (!(in >> profile)) continue;
      if (!(in >> name)) name = profile;
      if (in >> extra)
        throw input_error(spec, "line " + std::to_string(lineno),
                          "expected 'profile [name]', found extra text '" + extra + "'");
      out.emplace_back(name, profile);
    }
    if (out.empty()) throw input_error(spec, "", "the model list file names no model");
    return out;
  }
  static const std::regex re(R"(^\s*([^\sx*][^\s*]*?)\s*(?:(?:\s+x|\*)\s*([0-9]+))?\s*$)");
  std::smatch m;
  if (!std::regex_match(spec, m, re))
    throw input_error("--models", spec, "expected 'name[,name...] [xN]' or a model list file");
  const int sets = m[2].matched ? std::stoi(m[2].str()) : 1;
  if (sets < 1) throw input_error("--models", spec, "the repeat count must be >= 1");
  std::vector<std::string> names;
  std::stringstream list(m[1].str());
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) names.push_back(item);
  if (names.empty()) throw input_error("--models", spec, "no model named");
  for (int s = 0; s < sets; ++s)
    for (const auto& n : names) out.emplace_back(m[2].matched ? n + "-" + std::to_string(s) : n, n);
  std::set<std::string> seen;
  for (auto& [name, profile] : out)
    if (!seen.insert(name).second) name += "#" + std::to_string(seen.size());
  return out;
}

class progress_bar {
 public:
  explicit progress_bar(bool enabled) : enabled_(enabled) {}
  ~progress_bar() {
    if (enabled_ && drawn_) std::fputs("\n", stderr);
  }
  void update(size_t done, size_t total, const std::string& message) {
    if (!enabled_ || total == 0) return;
    const int width = 30;
    const int filled = static_cast<int>(width * std::min(done, total) / total);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu %-30.30s", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), done, total, message.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
};

struct attainment {
  std::vector<int64_t> requests, good;
  int64_t total = 0, total_good = 0;
  [[nodiscard]] double overall() const { return total ? double(total_good) / total : 0.0; }
};

attainment predict(const std::vector<model_data>& models, const workload& w,
                   const policy_result& r) {
  const approx_simulator sim(models, w);
  const sim_result res = r.has_replacement()
                             ? sim.run(std::get<placement_with_replacement>(r.solution))
                             : sim.run(std::get<placement>(r.solution));
  attainment a;
  a.requests = res.model_num_requests;
  a.good = res.model_num_good;
  a.total = static_cast<int64_t>(res.good.size());
  for (uint8_t g : res.good) a.total_good += g;
  return a;
}

// The held-out workload of --test-seed: model i's Gamma arrivals seeded test_seed + i.
workload test_workload(const plan_options& o, const std::vector<model_data>& models) {
  std::vector<std::string> names;
  std::vector<arrival_process_ptr> procs;
  for (const auto& m : models) {
    names.push_back(m.name);
    procs.push_back(std::make_unique<gamma_process>(m.rate, m.cv));
  }
  const double duration = o.duration > 0 ? o.duration : train_duration(models);
  return generate_workload(names, procs, 0, duration, static_cast<uint64_t>(o.test_seed));
}

// The predicted attainment of `policy` on `devices` devices: on the held-out workload when
// --test-seed is given, else on the train workload; 0 when some model fits no group.
double attainment_on(const plan_options& o, const placement_policy& policy,
                     const std::vector<model_data>& models, const workload& train, int devices) {
  const cluster_env cluster{devices, o.mem_budget_gib * gib};
  policy_result r;
  try {
    r = policy.solve(models, cluster, &train, {});
  } catch (const std::exception&) {
    return 0;  // no placement at all on this many devices (e.g. a model larger than them)
  }
  std::vector<parallel_config> configs;
  if (r.has_replacement())
    for (const auto& p : std::get<placement_with_replacement>(r.solution).placements)
      configs.insert(configs.end(), p.group_configs.begin(), p.group_configs.end());
  else
    configs = std::get<placement>(r.solution).group_configs;
  if (!models_fitting_nowhere(models, configs, cluster.mem_budget).empty()) return 0;
  if (o.test_seed < 0) return predict(models, train, r).overall();
  return predict(models, test_workload(o, models), r).overall();
}

// Binary search over 1..o.devices for the fewest devices reaching o.target_attainment
// (attainment grows with devices, up to the search noise of the policy; the table printed to
// stderr shows every count tried). Throws when even o.devices falls short.
int fewest_devices(const plan_options& o, const placement_policy& policy,
                   const std::vector<model_data>& models, const workload& train) {
  std::map<int, double> tried;
  auto at = [&](int n) {
    auto it = tried.find(n);
    if (it != tried.end()) return it->second;
    const double a = attainment_on(o, policy, models, train, n);
    if (!o.quiet) std::fprintf(stderr, "min-devices: %3d devices -> %.2f%%\n", n, 100 * a);
    return tried[n] = a;
  };
  const double target = o.target_attainment - 1e-12;
  if (at(o.devices) < target) {
    char why[256];
    std::snprintf(why, sizeof why,
                  "policy %s reaches %.2f%% on %d devices, below the target %.2f%%; give more "
                  "--devices",
                  o.policy.c_str(), 100 * tried[o.devices], o.devices, 100 * o.target_attainment);
    throw std::runtime_error(why);
  }
  int lo = 1, hi = o.devices;  // at(hi) reaches the target
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (at(mid) >= target)
      hi = mid;
    else
      lo = mid + 1;
  }
  // The policy's search is not exactly monotone in the device count: check the two counts
  // below the answer as well and take the smallest that reaches the target.
  int best = hi;
  for (int n = hi - 1; n >= std::max(1, hi - 2); --n)
    if (at(n) >= target) best = n;
  if (!o.quiet)
    std::fprintf(stderr, "min-devices: %d devices reach %.2f%% (target %.2f%%)\n", best,
                 100 * tried[best], 100 * o.target_attainment);
  return best;
}

int run_plan(plan_options o) {
  if (o.devices <= 0)
    throw input_error("--devices", std::to_string(o.devices), "at least one device is needed");
  if (!(o.mem_budget_gib > 0))
    throw input_error("--mem-budget-gib", std::to_string(o.mem_budget_gib), "must be > 0");
  if (o.models.empty()) throw input_error("--models", "", "no model given");
  if (!(o.slo_scale > 0))
    throw input_error("--slo-scale", std::to_string(o.slo_scale), "must be > 0");
  policy_options popts;
  popts.evaluator.threads = std::max(1, o.threads);
  const bool search_given =
      o.time_budget > 0 || o.search_evals > 0 || o.restarts > 0 || o.search_seed >= 0;
  if (search_given && o.policy != "ours")
    throw input_error("--policy", o.policy,
                      "--time-budget, --search-evals, --restarts and --search-seed are options of "
                      "policy ours");
  if (o.time_budget < 0 || o.search_evals < 0 || o.restarts < 0)
    throw input_error("--time-budget/--search-evals/--restarts", "", "must be >= 0");
  std::unique_ptr<placement_policy> policy;
  if (o.policy == "ours") {
    ours_options ours;
    if (o.time_budget > 0) {
      // The evaluation budget grows with the time budget, so a longer run is a longer search
      // and not only a longer wait (the default is 2500 candidates per 5 s).
      ours.max_evaluations =
          static_cast<int>(std::lround(ours.max_evaluations * o.time_budget / ours.time_budget_s));
      ours.time_budget_s = o.time_budget;
    }
    if (o.search_evals > 0) ours.max_evaluations = o.search_evals;
    ours.restarts = o.restarts;
    if (o.search_seed >= 0) ours.rng_seed = static_cast<uint64_t>(o.search_seed);
    policy = std::make_unique<policy_ours>(popts, ours);
  } else {
    policy = make_policy(o.policy, popts);  // unknown names fail before any work
  }
  const profile_db db = load_profiles(o.profiles);
  cluster_env cluster{o.devices, o.mem_budget_gib * gib};

  std::vector<model_data> models;
  for (const auto& [name, profile_name] : parse_model_spec(o.models)) {
    const model_profile* p = db.find(profile_name);
    if (p == nullptr)
      throw input_error(o.profiles, "model " + profile_name, "no such profile in the database");
    if (p->find(parallel_config{1, 1, 1}) == nullptr)
      throw input_error(o.profiles, "model " + profile_name,
                        "has no (1,1,1) profile, needed to define its SLO");
    model_data m{name, o.slo_scale * p->single_device_latency(), 0, o.cv, *p};
    m.profile.name = profile_name;
    models.push_back(std::move(m));
  }

  if (!(o.cv > 0)) throw input_error("--cv", std::to_string(o.cv), "must be > 0");
  workload train;
  // Where each model's rate and CV (read by model bucketing and ours) come from.
  std::string rate_source = "nominal", cv_source = "nominal";
  if (!o.workload_file.empty()) {
    train = read_workload_csv(o.workload_file);
    const auto stats = per_model_stats(train);
    const std::vector<double> rates = nominal_rates(o, models.size());
    for (size_t i = 0; i < models.size(); ++i) {
      model_data& m = models[i];
      const auto it = std::find(train.model_names.begin(), train.model_names.end(), m.name);
      const workload_stats* s = it == train.model_names.end()
                                    ? nullptr
                                    : &stats[static_cast<size_t>(it - train.model_names.begin())];
      m.rate = o.rate_given ? rates[i] : (s != nullptr ? s->rate : 0.0);
      m.cv = o.cv_given ? o.cv : (s != nullptr && s->cv > 0 ? s->cv : 1.0);
    }
    if (!o.rate_given) rate_source = "measured from " + o.workload_file;
    if (!o.cv_given) cv_source = "measured from " + o.workload_file;
  } else {
    const std::vector<double> rates = nominal_rates(o, models.size());
    for (size_t i = 0; i < models.size(); ++i) models[i].rate = rates[i];
    train = gen_train_workload(models);
  }

  if (o.min_devices) {
    if (!(o.target_attainment > 0 && o.target_attainment <= 1))
      throw input_error("--target-attainment", std::to_string(o.target_attainment),
                        "must be in (0, 1]");
    o.devices = fewest_devices(o, *policy, models, train);
    cluster.num_devices = o.devices;
  }

  progress_bar bar(!o.quiet && !o.json && isatty(2));
  const auto solve_start = std::chrono::steady_clock::now();
  const policy_result r =
      policy->solve(models, cluster, &train,
                    [&bar](size_t d, size_t t, const std::string& msg) { bar.update(d, t, msg); });
  // Wall time of the policy alone (no profile loading, train workload or prediction).
  const double solve_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - solve_start).count();

  // Every model must be placeable on the chosen groups, or the plan is not a plan.
  std::vector<parallel_config> configs;
  if (r.has_replacement())
    for (const auto& p : std::get<placement_with_replacement>(r.solution).placements)
      configs.insert(configs.end(), p.group_configs.begin(), p.group_configs.end());
  else
    configs = std::get<placement>(r.solution).group_configs;
  for (int m : models_fitting_nowhere(models, configs, cluster.mem_budget)) {
    double smallest = infinite_memory;
    for (const auto& [c, prof] : models[m].profile.configs)
      if (c.num_devices() <= o.devices) smallest = std::min(smallest, prof.max_stage_weight());
    throw input_error(
        "--models", models[m].name,
        "needs " + (std::isfinite(smallest) ? std::to_string(smallest / gib) : "inf") +
            " GiB per device even in its most split config on " + std::to_string(o.devices) +
            " devices, and fits no group policy " + o.policy + " built; the budget is " +
            std::to_string(o.mem_budget_gib) + " GiB");
  }

  const attainment on_train = predict(models, train, r);
  std::unique_ptr<attainment> on_test;
  if (o.test_seed >= 0)
    on_test = std::make_unique<attainment>(predict(models, test_workload(o, models), r));

  const placement& shown = r.first_placement();
  nlohmann::json out;
  out["policy"] = o.policy;
  out["train_score"] = r.train_score;
  out["solve_seconds"] = solve_seconds;
  out["train_requests"] = train.size();
  out["debug"] = r.debug;  // the policy's own account (ours: moves, restarts, budget)
  out["rate_source"] = rate_source;
  out["cv_source"] = cv_source;
  int device = 0;
  for (size_t g = 0; g < shown.num_groups(); ++g) {
    nlohmann::json jg;
    const auto& c = shown.group_configs[g];
    jg["op"] = c.op;
    jg["pp"] = c.pp;
    jg["devices"] = {device, device + c.num_devices() - 1};
    device += c.num_devices();
    for (int m : shown.group_models[g]) jg["models"].push_back(models[m].name);
    if (shown.group_models[g].empty()) jg["models"] = nlohmann::json::array();
    jg["memory_gib_per_device"] = group_memory(shown, static_cast<int>(g), models) / gib;
    out["groups"].push_back(jg);
  }
  for (size_t m = 0; m < models.size(); ++m) {
    nlohmann::json jm;
    jm["name"] = models[m].name;
    jm["rate"] = models[m].rate;
    jm["cv"] = models[m].cv;
    jm["slo"] = models[m].slo;
    jm["train_attainment"] =
        on_train.requests[m] ? double(on_train.good[m]) / on_train.requests[m] : 1.0;
    if (on_test)
      jm["test_attainment"] =
          on_test->requests[m] ? double(on_test->good[m]) / on_test->requests[m] : 1.0;
    out["models"].push_back(jm);
  }
  out["train_attainment"] = on_train.overall();
  if (o.min_devices) {
    out["min_devices"] = o.devices;
    out["target_attainment"] = o.target_attainment;
  }
  if (on_test) out["test_attainment"] = on_test->overall();
  if (r.has_replacement())
    out["segments"] = std::get<placement_with_replacement>(r.solution).placements.size();

  if (!o.out.empty()) {
    placement_file f;
    f.cluster = cluster;
    f.models = models;
    f.layout = r.solution;
    write_placement_file(o.out, f);
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("policy %s on %d devices, %.1f GiB each, %zu models; solved in %.3f s\n",
              o.policy.c_str(), o.devices, o.mem_budget_gib, models.size(), solve_seconds);
  std::printf("train workload: %zu requests (%s); rates %s, CVs %s\n", train.size(),
              o.workload_file.empty() ? "gen_train_workload" : o.workload_file.c_str(),
              rate_source.c_str(), cv_source.c_str());
  if (r.has_replacement())
    std::printf("(%zu time segments; the first is shown)\n",
                std::get<placement_with_replacement>(r.solution).placements.size());
  std::printf("%5s %4s %4s %-9s %9s  %s\n", "group", "op", "pp", "devices", "GiB/dev", "models");
  for (size_t g = 0; g < out["groups"].size(); ++g) {
    const auto& jg = out["groups"][g];
    std::string names;
    for (const auto& n : jg["models"]) names += (names.empty() ? "" : " ") + n.get<std::string>();
    const std::string range = std::to_string(jg["devices"][0].get<int>()) + "-" +
                              std::to_string(jg["devices"][1].get<int>());
    std::printf("%5zu %4d %4d %-9s %9.2f  %s\n", g, jg["op"].get<int>(), jg["pp"].get<int>(),
                range.c_str(), jg["memory_gib_per_device"].get<double>(), names.c_str());
  }
  std::printf("\n%-20s %8s %6s %8s %10s%s\n", "model", "rate", "cv", "slo(s)", "train",
              on_test ? "       test" : "");
  for (const auto& jm : out["models"]) {
    std::printf("%-20s %8.3f %6.2f %8.3f %9.1f%%", jm["name"].get<std::string>().c_str(),
                jm["rate"].get<double>(), jm["cv"].get<double>(), jm["slo"].get<double>(),
                100 * jm["train_attainment"].get<double>());
    if (on_test) std::printf(" %9.1f%%", 100 * jm["test_attainment"].get<double>());
    std::printf("\n");
  }
  std::printf("\nSLO attainment: train %.2f%%", 100 * on_train.overall());
  if (on_test) std::printf(", test (seed %ld) %.2f%%", o.test_seed, 100 * on_test->overall());
  std::printf("; placement score %.6f\n", r.train_score);
  if (!o.out.empty()) std::printf("placement written to %s\n", o.out.c_str());
  return 0;
}

void add_plan(CLI::App& app, run_fn& run) {
  auto o = std::make_shared<plan_options>();
  auto* sub = app.add_subcommand(
      "plan", "Place models on a cluster with a placement policy and predict SLO attainment");
  sub->add_option("--profiles", o->profiles,
                  "profile database JSON, or zoo:<device> for the built-in zoo (default zoo:v100)");
  sub->add_option("--models", o->models,
                  "'bert-6.7b,bert-2.6b,bert-1.3b x24' (list repeated 24 times, named "
                  "<profile>-<set>) or a file with one 'profile [name]' per line")
      ->required();
  sub->add_option("--devices", o->devices, "number of devices")->required();
  sub->add_option("--mem-budget-gib", o->mem_budget_gib, "weight memory per device in GiB (13)");
  sub->add_option("--workload", o->workload_file,
                  "train workload CSV (arrival,model); model rates and CVs are measured from it "
                  "unless --rate/--rate-distribution or --cv are given too");
  auto* rate =
      sub->add_option("--rate", o->rate, "total request rate in r/s (default 2 per model)");
  auto* cv = sub->add_option("--cv", o->cv, "Gamma CV of each model's inter-arrival gaps (1)");
  auto* dist = sub->add_option("--rate-distribution", o->rate_distribution,
                               "power-law (default) or uniform");
  sub->add_option("--duration", o->duration,
                  "test workload seconds for --test-seed (default: the train duration)");
  sub->add_option("--slo-scale", o->slo_scale, "SLO = scale x single-device latency (5)");
  sub->add_option("--policy", o->policy,
                  "sr-greedy, sr-search, sr-replace-<s>, mp-greedy-<k>, mp-round-robin, "
                  "mp-equal-<pp>-<op>, mp-search, mp-search-sep, ours (default)");
  sub->add_option("--out", o->out, "write the placement JSON here (read by alpaserve simulate)");
  sub->add_option("--test-seed", o->test_seed,
                  "also predict attainment on a held-out workload seeded seed+i per model");
  sub->add_option("--threads", o->threads, "threads for scoring candidates (1)");
  sub->add_flag("--min-devices", o->min_devices,
                "find the fewest devices (up to --devices) whose predicted attainment reaches "
                "--target-attainment, and plan on that many");
  sub->add_option("--target-attainment", o->target_attainment,
                  "with --min-devices: the attainment to reach, in (0, 1], e.g. 0.99 (on the "
                  "--test-seed workload when given, else on the train workload)");
  sub->add_option("--time-budget", o->time_budget,
                  "policy ours: seconds of search after mp-search-sep (5); also scales the "
                  "candidate budget (500 per second)");
  sub->add_option("--search-evals", o->search_evals,
                  "policy ours: candidates scored in all (2500, or 500 per --time-budget second)");
  sub->add_option("--restarts", o->restarts,
                  "policy ours: perturbed restarts while budget is left (0)");
  sub->add_option("--search-seed", o->search_seed, "policy ours: rng seed of the search (1)");
  sub->add_flag("--json", o->json, "print the result as JSON");
  sub->add_flag("--quiet", o->quiet, "no progress bar");
  sub->callback([o, &run, rate, cv, dist] {
    o->rate_given = rate->count() > 0 || dist->count() > 0;
    o->cv_given = cv->count() > 0;
    run = [o] { return run_plan(*o); };
  });
}

const command_registration registration{"plan", 30, &add_plan};

}  // namespace
}  // namespace alpaserve::tools
