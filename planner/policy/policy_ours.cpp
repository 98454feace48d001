#include "planner/policy/policy_ours.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <unordered_map>

#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/group_config_enumeration.hpp"
#include "planner/policy/policy_mp_search.hpp"
#include "planner/workload/arrival_process.hpp"
#include "planner/workload/train_workload.hpp"

namespace alpaserve::planner {
namespace {

enum move_kind { swap_in = 0, exchange, reshape, split, merge, repartition, num_move_kinds };

struct candidate {
  placement p;
  move_kind kind;
};

// What one step knows about the current placement: memory, replica counts, model priority.
class step_view {
 public:
  step_view(const placement& p, const std::vector<model_data>& models, double budget,
            const placement_stats& s)
      : p_(p), models_(models), budget_(budget) {
    const size_t n = models.size();
    replicas_.assign(n, 0);
    for (const auto& g : p.group_models)
      for (int m : g) ++replicas_[m];
    unserved_.resize(n);
    for (size_t m = 0; m < n; ++m) unserved_[m] = s.model_num_requests[m] - s.model_num_good[m];
    requests_ = s.model_num_requests;
    // Priority: most unserved requests first, then most requests per replica (a model that
    // carries more traffic per replica gains most from one more replica during a burst).
    priority_.resize(n);
    std::iota(priority_.begin(), priority_.end(), 0);
    std::stable_sort(priority_.begin(), priority_.end(), [&](int a, int b) {
      if (unserved_[a] != unserved_[b]) return unserved_[a] > unserved_[b];
      return load_per_replica(a) > load_per_replica(b);
    });
    rank_.resize(n);
    for (size_t i = 0; i < n; ++i) rank_[priority_[i]] = static_cast<int>(i);
  }

  [[nodiscard]] double weight(int m, const parallel_config& c) const {
    return models_[m].profile.weight_per_device(c);
  }
  [[nodiscard]] double used(const std::vector<int>& g, const parallel_config& c) const {
    double u = 0;
    for (int m : g) u += weight(m, c);
    return u;
  }
  [[nodiscard]] bool fits(double used, int m, const parallel_config& c) const {
    const double w = weight(m, c);
    return std::isfinite(w) && used + w <= budget_;
  }
  [[nodiscard]] double load_per_replica(int m) const {
    return static_cast<double>(requests_[m]) / (1.0 + replicas_[m]);
  }
  [[nodiscard]] std::vector<int> by_priority(std::vector<int> ms) const {
    std::sort(ms.begin(), ms.end(), [&](int a, int b) { return rank_[a] < rank_[b]; });
    return ms;
  }
  // Keeps `keep` in priority order while it fits, then adds other models by priority.
  [[nodiscard]] std::vector<int> pack(const std::vector<int>& keep,
                                      const parallel_config& c) const {
    std::vector<int> out;
    double u = 0;
    for (int m : by_priority(keep))
      if (fits(u, m, c)) {
        out.push_back(m);
        u += weight(m, c);
      }
    fill(out, u, c);
    return out;
  }
  // Adds models by priority while they fit (skipping those that do not).
  void fill(std::vector<int>& g, double u, const parallel_config& c) const {
    for (int m : priority_) {
      if (std::find(g.begin(), g.end(), m) != g.end()) continue;
      if (fits(u, m, c)) {
        g.push_back(m);
        u += weight(m, c);
      }
    }
  }

  [[nodiscard]] const std::vector<int>& priority() const noexcept { return priority_; }
  [[nodiscard]] int64_t unserved(int m) const { return unserved_[m]; }
  [[nodiscard]] int replicas(int m) const { return replicas_[m]; }
  [[nodiscard]] int64_t requests(int m) const { return requests_[m]; }
  [[nodiscard]] double budget() const noexcept { return budget_; }

 private:
  const placement& p_;
  const std::vector<model_data>& models_;
  double budget_;
  std::vector<int> replicas_;
  std::vector<int64_t> unserved_;
  std::vector<int64_t> requests_;
  std::vector<int> priority_;
  std::vector<int> rank_;
};

bool contains(const std::vector<int>& g, int m) {
  return std::find(g.begin(), g.end(), m) != g.end();
}

// Configs (dp 1) any model is profiled for, within the limits, by device count. A stage's op
// devices share a node, so op never exceeds the node size.
std::map<int, std::vector<parallel_config>> shapes_by_size(const std::vector<model_data>& models,
                                                           const ours_options& o,
                                                           int devices_per_node) {
  std::set<parallel_config> all;
  for (const auto& m : models)
    for (const auto& [c, prof] : m.profile.configs)
      if (c.dp == 1 && c.op <= o.max_op && c.op <= devices_per_node && c.pp <= o.max_pp)
        all.insert(c);
  std::map<int, std::vector<parallel_config>> out;
  for (const auto& c : all) out[c.num_devices()].push_back(c);
  return out;
}

placement with_groups(const placement& p, const std::vector<size_t>& drop,
                      const std::vector<std::pair<parallel_config, std::vector<int>>>& add) {
  placement out;
  for (size_t g = 0; g < p.num_groups(); ++g) {
    if (std::find(drop.begin(), drop.end(), g) != drop.end()) continue;
    out.group_configs.push_back(p.group_configs[g]);
    out.group_models.push_back(p.group_models[g]);
  }
  for (const auto& [c, ms] : add) {
    out.group_configs.push_back(c);
    out.group_models.push_back(ms);
  }
  out.normalize();
  return out;
}

// Remove replicas (surplus first) from group g until model b fits; false when it cannot.
bool make_room(std::vector<int>& g, const parallel_config& c, int b, const step_view& v) {
  double u = v.used(g, c);
  if (v.fits(u, b, c)) return true;
  std::vector<int> donors;
  for (int a : g)
    if (v.replicas(a) >= 2 || v.requests(a) == 0) donors.push_back(a);
  // Least unserved first, then most replicas: the replica whose loss costs least.
  std::sort(donors.begin(), donors.end(), [&](int x, int y) {
    if (v.unserved(x) != v.unserved(y)) return v.unserved(x) < v.unserved(y);
    return v.load_per_replica(x) < v.load_per_replica(y);
  });
  for (int a : donors) {
    g.erase(std::find(g.begin(), g.end(), a));
    u -= v.weight(a, c);
    if (v.fits(u, b, c)) return true;
  }
  return false;
}

std::vector<candidate> generate_moves(const placement& cur, const step_view& v,
                                      const std::map<int, std::vector<parallel_config>>& shapes,
                                      const ours_options& o, std::mt19937_64& rng) {
  std::vector<std::vector<candidate>> by_kind(num_move_kinds);
  const size_t G = cur.num_groups();

  // Swap in: give a model with unserved requests a replica, evicting surplus replicas.
  int needy = 0;
  for (int b : v.priority()) {
    if (needy >= o.needy_models || v.unserved(b) <= 0) break;
    ++needy;
    for (size_t g = 0; g < G; ++g) {
      if (contains(cur.group_models[g], b)) continue;
      std::vector<int> ms = cur.group_models[g];
      if (!make_room(ms, cur.group_configs[g], b, v)) continue;
      ms.push_back(b);
      by_kind[swap_in].push_back({with_groups(cur, {g}, {{cur.group_configs[g], ms}}), swap_in});
    }
  }

  // Exchange: two replicas trade groups (changes which models share a group's bursts).
  if (G >= 2) {
    std::uniform_int_distribution<size_t> pick_group(0, G - 1);
    for (int t = 0, tries = 0; t < o.random_exchanges && tries < 20 * o.random_exchanges; ++tries) {
      const size_t g = pick_group(rng), h = pick_group(rng);
      const auto &mg = cur.group_models[g], &mh = cur.group_models[h];
      if (g == h || mg.empty() || mh.empty()) continue;
      const int a = mg[std::uniform_int_distribution<size_t>(0, mg.size() - 1)(rng)];
      const int b = mh[std::uniform_int_distribution<size_t>(0, mh.size() - 1)(rng)];
      if (contains(mh, a) || contains(mg, b)) continue;
      std::vector<int> ng = mg, nh = mh;
      std::replace(ng.begin(), ng.end(), a, b);
      std::replace(nh.begin(), nh.end(), b, a);
      const auto &cg = cur.group_configs[g], &ch = cur.group_configs[h];
      if (v.used(ng, cg) > v.budget() || v.used(nh, ch) > v.budget()) continue;
      ++t;
      by_kind[exchange].push_back({with_groups(cur, {g, h}, {{cg, ng}, {ch, nh}}), exchange});
    }
  }

  for (size_t g = 0; g < G; ++g) {
    const parallel_config& c = cur.group_configs[g];
    const int size = c.num_devices();
    // Reshape: another (op, pp) of the same size.
    if (auto it = shapes.find(size); it != shapes.end())
      for (const auto& c2 : it->second)
        if (c2 != c)
          by_kind[reshape].push_back(
              {with_groups(cur, {g}, {{c2, v.pack(cur.group_models[g], c2)}}), reshape});
    // Split: two groups of half the size, models dealt alternately by priority.
    if (size >= 2)
      if (auto it = shapes.find(size / 2); it != shapes.end() && size % 2 == 0)
        for (const auto& half : it->second) {
          const std::vector<int> sorted = v.by_priority(cur.group_models[g]);
          std::vector<int> a, b;
          for (size_t i = 0; i < sorted.size(); ++i) (i % 2 == 0 ? a : b).push_back(sorted[i]);
          by_kind[split].push_back(
              {with_groups(cur, {g}, {{half, v.pack(a, half)}, {half, v.pack(b, half)}}), split});
        }
  }
  // Merge: two groups of the same size become one of twice the size (a partner per group).
  for (size_t g = 0; g < G; ++g) {
    const int size = cur.group_configs[g].num_devices();
    auto it = shapes.find(2 * size);
    if (it == shapes.end()) continue;
    std::vector<size_t> partners;
    for (size_t h = g + 1; h < G; ++h)
      if (cur.group_configs[h].num_devices() == size) partners.push_back(h);
    if (partners.empty()) continue;
    const size_t h = partners[std::uniform_int_distribution<size_t>(0, partners.size() - 1)(rng)];
    std::vector<int> ms = cur.group_models[g];
    for (int m : cur.group_models[h])
      if (!contains(ms, m)) ms.push_back(m);
    for (const auto& c2 : it->second)
      by_kind[merge].push_back({with_groups(cur, {g, h}, {{c2, v.pack(ms, c2)}}), merge});
  }

  // Interleave kinds so every kind gets tried early; shuffle inside a kind (swaps keep their
  // neediest-first order).
  for (int k = exchange; k < num_move_kinds; ++k)
    std::shuffle(by_kind[k].begin(), by_kind[k].end(), rng);
  std::vector<candidate> out;
  for (size_t i = 0;; ++i) {
    bool any = false;
    for (auto& kind : by_kind)
      if (i < kind.size()) {
        out.push_back(std::move(kind[i]));
        any = true;
      }
    if (!any) break;
  }
  return out;
}

// Per sample: good requests and score of a placement; the mean score is the objective.
struct scored {
  std::vector<int64_t> good;
  std::vector<double> score;
  double mean = 0;
};

scored summarize(const std::vector<placement_stats>& per_sample) {
  scored s;
  for (const auto& st : per_sample) {
    s.good.push_back(st.num_good);
    s.score.push_back(st.score());
    s.mean += st.score() / static_cast<double>(per_sample.size());
  }
  return s;
}

// Step 4's tests on the samples (mean score higher is checked by the caller, the held-out
// samples too): candidate `c` against the current placement `cur`.
bool passes_sample_tests(const scored& c, const scored& cur, const ours_options& o, bool pareto) {
  const size_t K = c.good.size();
  // Evidence of more served requests, not only lower latency: a latency-only gain on
  // the samples says nothing about attainment on other traffic.
  int64_t gain = 0;
  for (size_t k = 0; k < K; ++k) gain += c.good[k] - cur.good[k];
  if (o.require_goodput_gain && gain <= 0) return false;
  // The gain must be consistent across samples, not carried by one sample's bursts:
  // mean per-sample gain >= min_gain_t standard errors (a one-sided t statistic).
  if (o.min_gain_t > 0 && K > 1) {
    const double mean = static_cast<double>(gain) / static_cast<double>(K);
    double var = 0;
    for (size_t k = 0; k < K; ++k) {
      const double d = static_cast<double>(c.good[k] - cur.good[k]) - mean;
      var += d * d;
    }
    const double se = std::sqrt(var / static_cast<double>(K - 1) / static_cast<double>(K));
    if (se > 0 && mean < o.min_gain_t * se) return false;
  }
  if (o.require_train_not_worse && c.score[0] < cur.score[0]) return false;
  for (size_t k = 0; k < K && pareto; ++k)
    if (c.good[k] < cur.good[k]) return false;
  return true;
}

// A restart's start: `moves` random moves from `p` (any kind, no acceptance test), so the next
// search leaves the basin of the best placement.
placement perturb(const placement& p, const std::vector<model_data>& models,
                  const cluster_env& cluster, const placement_evaluator& eval,
                  const std::map<int, std::vector<parallel_config>>& shapes, const ours_options& o,
                  std::mt19937_64& rng, int moves) {
  placement cur = p;
  for (int i = 0; i < moves; ++i) {
    const step_view view(cur, models, cluster.mem_budget, eval.stats(cur));
    std::vector<candidate> cands = generate_moves(cur, view, shapes, o, rng);
    if (cands.empty()) break;
    cur = std::move(cands[std::uniform_int_distribution<size_t>(0, cands.size() - 1)(rng)].p);
  }
  return cur;
}

}  // namespace

const std::vector<std::string>& move_kind_names() {
  static const std::vector<std::string> names = {"swap-in", "exchange", "reshape",
                                                 "split",   "merge",    "repartition"};
  return names;
}

std::vector<workload> extra_train_samples(const std::vector<model_data>& models,
                                          const ours_options& options) {
  std::vector<std::string> names;
  std::vector<double> rates;
  for (const auto& m : models) names.push_back(m.name);
  const double duration = train_duration(models);
  std::vector<workload> out;
  for (int k = 0; k < options.extra_train_seeds; ++k) {
    const uint64_t base = options.extra_seed_base + 100'003ull * static_cast<uint64_t>(k);
    std::vector<std::pair<double, int32_t>> part;
    for (size_t i = 0; i < models.size(); ++i) {
      if (!(models[i].rate > 0)) continue;
      const gamma_process process(models[i].rate, models[i].cv);
      for (double t : process.generate_arrivals(0.0, duration, base + i))
        part.emplace_back(t, static_cast<int32_t>(i));
    }
    // Stable: equal times keep model order.
    std::stable_sort(part.begin(), part.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    workload w;
    w.model_names = names;
    for (const auto& [t, m] : part) {
      w.arrivals.push_back(t);
      w.model.push_back(m);
    }
    out.push_back(std::move(w));
  }
  return out;
}

local_search_report ours_local_search(const placement& start, const std::vector<model_data>& models,
                                      const cluster_env& cluster,
                                      const std::vector<const placement_evaluator*>& samples,
                                      const ours_options& options, const policy_progress& progress,
                                      const std::vector<placement>& alternatives,
                                      const std::vector<const placement_evaluator*>& validation) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto out_of_time = [&] {
    return std::chrono::duration<double>(clock::now() - t0).count() >= options.time_budget_s;
  };
  const auto shapes = shapes_by_size(models, options, cluster.devices_per_node);
  std::mt19937_64 rng(options.rng_seed);
  const size_t K = samples.size();

  local_search_report r;
  r.best = start;
  r.accepted_by_kind.assign(num_move_kinds, 0);
  std::vector<placement_stats> cur_stats;
  for (const auto* e : samples) cur_stats.push_back(e->stats(start));
  scored cur = summarize(cur_stats);
  std::vector<int64_t> cur_held;
  for (const auto* e : validation) cur_held.push_back(e->stats(start).num_good);
  // Priorities come from all samples pooled: unserved and request counts summed.
  auto pooled = [&](const std::vector<placement_stats>& st) {
    placement_stats p = st[0];
    for (size_t k = 1; k < st.size(); ++k)
      for (size_t m = 0; m < p.model_num_requests.size(); ++m) {
        p.model_num_requests[m] += st[k].model_num_requests[m];
        p.model_num_good[m] += st[k].model_num_good[m];
      }
    return p;
  };

  bool first_step = true;
  while (r.evaluations < options.max_evaluations && !out_of_time()) {
    const step_view view(r.best, models, cluster.mem_budget, pooled(cur_stats));
    std::vector<candidate> cands;
    if (first_step)  // whole alternative group lists first, in one chunk
      for (const auto& alt : alternatives) cands.push_back({alt, repartition});
    const size_t first_chunk = first_step && !alternatives.empty()
                                   ? alternatives.size()
                                   : static_cast<size_t>(options.chunk);
    first_step = false;
    for (auto& c : generate_moves(r.best, view, shapes, options, rng))
      cands.push_back(std::move(c));
    bool accepted = false;
    for (size_t begin = 0, size = first_chunk; begin < cands.size() && !accepted;
         begin += size, size = static_cast<size_t>(options.chunk)) {
      if (r.evaluations >= options.max_evaluations || out_of_time()) break;
      const size_t end = std::min(cands.size(), begin + size);
      std::vector<placement> chunk;
      for (size_t i = begin; i < end; ++i) chunk.push_back(cands[i].p);
      std::vector<std::vector<placement_stats>> by_sample;  // [k][candidate]
      for (const auto* e : samples) by_sample.push_back(e->stats_many(chunk));
      r.evaluations += static_cast<int>(chunk.size());
      std::vector<scored> sc;
      std::vector<std::vector<placement_stats>> per_candidate(chunk.size());
      for (size_t i = 0; i < chunk.size(); ++i) {
        for (size_t k = 0; k < K; ++k) per_candidate[i].push_back(by_sample[k][i]);
        sc.push_back(summarize(per_candidate[i]));
      }
      std::vector<size_t> order(chunk.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t x, size_t y) { return sc[x].mean > sc[y].mean; });
      for (size_t i : order) {
        if (!(sc[i].mean > cur.mean)) break;
        if (!passes_sample_tests(sc[i], cur, options, options.require_pareto)) continue;
        // Winner's curse: the best of many candidates looks better on the samples that chose
        // it than it is. Held-out samples must confirm the gain.
        std::vector<int64_t> held_good;
        if (!validation.empty()) {
          int64_t held_gain = 0;
          for (size_t k = 0; k < validation.size(); ++k) {
            held_good.push_back(validation[k]->stats(chunk[i]).num_good);
            held_gain += held_good[k] - cur_held[k];
          }
          if (held_gain <= 0) {
            ++r.rejected_by_validation;
            continue;
          }
        }
        cur_held = std::move(held_good);
        r.best = std::move(chunk[i]);
        cur = sc[i];
        cur_stats = std::move(per_candidate[i]);
        ++r.accepted_by_kind[cands[begin + i].kind];
        ++r.steps;
        accepted = true;
        break;
      }
      report(progress, static_cast<size_t>(r.evaluations),
             static_cast<size_t>(options.max_evaluations), "local search");
    }
    if (!accepted) {
      // Every move was tried (not cut short by the budget): a local optimum.
      r.local_optimum = r.evaluations < options.max_evaluations && !out_of_time();
      break;
    }
  }
  r.robust_score = cur.mean;
  r.train_score = cur.score[0];
  return r;
}

policy_result policy_ours::solve(const std::vector<model_data>& models, const cluster_env& cluster,
                                 const workload* train, const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  const workload given_train = train_or_generate(models, train);
  const policy_mp_search start_policy(true, options_);
  auto sub_progress = [&](size_t done, size_t total, const std::string& message) {
    report(progress, done, 2 * total, "mp-search-sep: " + message);
  };
  const policy_result base = start_policy.solve(models, cluster, &given_train, sub_progress);
  auto search_progress = [&](size_t done, size_t total, const std::string& message) {
    report(progress, total + done, 2 * total, message);
  };
  return solve_from(base, models, cluster, &given_train, search_progress);
}

policy_result policy_ours::solve_from(const policy_result& base,
                                      const std::vector<model_data>& models,
                                      const cluster_env& cluster, const workload* train,
                                      const policy_progress& progress) const {
  check_solvable(name(), models, cluster);
  const workload given_train = train_or_generate(models, train);
  const placement start = base.first_placement();

  const std::vector<workload> extra = extra_train_samples(models, ours_);
  ours_options held_options = ours_;
  held_options.extra_train_seeds = ours_.validation_seeds;
  held_options.extra_seed_base = ours_.extra_seed_base + 50'000'017ull;
  const std::vector<workload> held = extra_train_samples(models, held_options);
  std::vector<std::unique_ptr<placement_evaluator>> held_evaluators;
  std::vector<const placement_evaluator*> validation;
  for (const auto& w : held) {
    held_evaluators.push_back(std::make_unique<placement_evaluator>(models, w, options_.evaluator));
    validation.push_back(held_evaluators.back().get());
  }
  std::vector<std::unique_ptr<placement_evaluator>> evaluators;
  evaluators.push_back(
      std::make_unique<placement_evaluator>(models, given_train, options_.evaluator));
  size_t extra_requests = 0;
  for (const auto& w : extra) {
    evaluators.push_back(std::make_unique<placement_evaluator>(models, w, options_.evaluator));
    extra_requests += w.size();
  }
  std::vector<const placement_evaluator*> samples;
  for (const auto& e : evaluators) samples.push_back(e.get());
  const double start_train = samples[0]->score(start);
  // Group lists the reference does not try (op up to max_op, pp up to max_pp) and the ones it
  // does, each filled by the reference greedy on the train workload: ranked on every sample.
  const placement_problem problem(models, cluster.mem_budget, *samples[0]);
  std::vector<placement> alternatives;
  for (const auto& configs :
       enumerate_group_configs_uneven(cluster, {ours_.max_pp, ours_.max_op})) {
    bool profiled = false;  // skip shapes no model can use
    for (const auto& m : models)
      for (const auto& c : configs) profiled = profiled || m.profile.find(c) != nullptr;
    if (profiled) alternatives.push_back(greedy_replica_fill(empty_placement(configs), problem));
  }
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  local_search_report rep =
      ours_local_search(start, models, cluster, samples, ours_, progress, alternatives, validation);

  // Step 6: restarts from perturbed copies of the best, on what is left of both budgets.
  int restarts_run = 0, restarts_kept = 0, evaluations = rep.evaluations;
  if (ours_.restarts > 0) {
    const auto shapes = shapes_by_size(models, ours_, cluster.devices_per_node);
    auto score_on_samples = [&](const placement& p) {
      std::vector<placement_stats> st;
      for (const auto* e : samples) st.push_back(e->stats(p));
      return summarize(st);
    };
    auto held_good = [&](const placement& p) {
      int64_t good = 0;
      for (const auto* e : validation) good += e->stats(p).num_good;
      return good;
    };
    scored best = score_on_samples(rep.best);
    int64_t best_held = held_good(rep.best);
    for (int k = 1; k <= ours_.restarts; ++k) {
      const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
      if (elapsed >= ours_.time_budget_s || evaluations >= ours_.max_evaluations) break;
      ours_options o = ours_;
      o.rng_seed = ours_.rng_seed + static_cast<uint64_t>(k);
      o.max_evaluations = ours_.max_evaluations - evaluations;
      o.time_budget_s = ours_.time_budget_s - elapsed;
      std::mt19937_64 rng(o.rng_seed);
      const int moves = ours_.perturb_moves << ((k - 1) % 3);
      const placement from = perturb(rep.best, models, cluster, *samples[0], shapes, o, rng, moves);
      const local_search_report rk =
          ours_local_search(from, models, cluster, samples, o, {}, {}, validation);
      evaluations += rk.evaluations;
      ++restarts_run;
      const scored s = score_on_samples(rk.best);
      // The train score must not drop whatever the options say: a longer search is never
      // worse than the default on the given train workload.
      if (!(s.mean > best.mean) || s.score[0] < best.score[0] ||
          !passes_sample_tests(s, best, ours_, false))
        continue;
      const int64_t h = held_good(rk.best);
      if (!validation.empty() && h <= best_held) continue;
      rep.best = rk.best;
      rep.robust_score = s.mean;
      rep.train_score = s.score[0];
      best = s;
      best_held = h;
      ++restarts_kept;
    }
  }

  policy_result r;
  r.train_score = rep.train_score;
  r.debug = base.debug;
  r.debug += "ours: start (mp-search-sep) train score " + std::to_string(start_train) + "\n";
  r.debug += "ours: scored on the train workload (" + std::to_string(given_train.size()) +
             " requests) and " + std::to_string(extra.size()) + " gamma samples (" +
             std::to_string(extra_requests) + " requests)\n";
  r.debug += "ours: " + std::to_string(rep.steps) + " moves accepted of " +
             std::to_string(rep.evaluations) + " scored;";
  for (size_t k = 0; k < rep.accepted_by_kind.size(); ++k)
    r.debug += " " + move_kind_names()[k] + " " + std::to_string(rep.accepted_by_kind[k]);
  r.debug += rep.local_optimum ? "; local optimum" : "; budget reached";
  r.debug += "; " + std::to_string(rep.rejected_by_validation) + " rejected by " +
             std::to_string(held.size()) + " held-out samples\n";
  if (ours_.restarts > 0)
    r.debug += "ours: " + std::to_string(restarts_run) + " restarts, " +
               std::to_string(restarts_kept) + " improved the best; " +
               std::to_string(evaluations) + " candidates scored in all\n";
  r.debug += "ours: final train score " + std::to_string(rep.train_score) + ", mean sample score " +
             std::to_string(rep.robust_score) + "\n";
  r.solution = rep.best;
  return r;
}

}  // namespace alpaserve::planner
