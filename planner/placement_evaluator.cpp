#include "planner/placement_evaluator.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "planner/sim_stats.hpp"

namespace alpaserve::planner {

double placement_stats::score() const noexcept {
  return placement_score(goodput(), latency_mean(), num_replicas);
}

namespace {

// Constants of the reference approximate simulator (section 4.2).
constexpr double fixed_overhead = 0.011;
constexpr double stage_penalty = 0.009;
constexpr double reference_inf = 1e100;

// Union-find over groups [0, G) and models [G, G + M).
struct disjoint_sets {
  std::vector<int> parent;
  explicit disjoint_sets(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

}  // namespace

struct placement_evaluator::component {
  std::vector<int> groups;   // global group indices, ascending
  std::vector<int> models;   // model ids, ascending
  std::vector<int32_t> key;  // exact content: per group op, pp, dp, count, sorted model ids
};

size_t placement_evaluator::key_hash::operator()(const std::vector<int32_t>& k) const noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t v : k) {
    h ^= static_cast<uint32_t>(v);
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return static_cast<size_t>(h);
}

placement_evaluator::placement_evaluator(const std::vector<model_data>& models,
                                         const workload& train, evaluator_options options)
    : models_(models), options_(options) {
  std::unordered_map<std::string, int> id_of;
  for (size_t i = 0; i < models_.size(); ++i) id_of.emplace(models_[i].name, static_cast<int>(i));
  std::vector<int> name_to_id(train.model_names.size(), -1);
  for (size_t j = 0; j < train.model_names.size(); ++j) {
    auto it = id_of.find(train.model_names[j]);
    if (it != id_of.end()) name_to_id[j] = it->second;
  }
  request_arrival_ = train.arrivals;
  request_model_.resize(train.size());
  model_requests_.assign(models_.size(), {});
  for (size_t i = 0; i < train.size(); ++i) {
    const int32_t j = train.model[i];
    const int m = (j >= 0 && static_cast<size_t>(j) < name_to_id.size()) ? name_to_id[j] : -1;
    request_model_[i] = m;
    if (m >= 0) model_requests_[m].push_back(static_cast<int32_t>(i));
  }
  for (const auto& m : models_)
    model_slo_.push_back(static_cast<double>(static_cast<float>(m.slo)));
  if (options_.threads > 1) pool_ = std::make_unique<thread_pool>(options_.threads);
}

placement_evaluator::~placement_evaluator() = default;

evaluator_counters placement_evaluator::counters() const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  return counters_;
}

const std::vector<double>& placement_evaluator::stage_latency(int model,
                                                              const parallel_config& c) const {
  std::lock_guard<std::mutex> lock(latency_mutex_);
  auto it = latency_table_.find(c);
  if (it == latency_table_.end()) {
    std::vector<std::vector<double>> table(models_.size());
    for (size_t m = 0; m < models_.size(); ++m) {
      const config_profile* prof = models_[m].profile.find(c);
      if (prof == nullptr || prof->latency.count(1) == 0) continue;
      for (double l : prof->stage_latency(1)) {
        // Penalised in float64, stored as float32, used as float64: as the reference does.
        const double penalised = l * (1.0 + stage_penalty * c.pp);
        table[m].push_back(static_cast<double>(static_cast<float>(penalised)));
      }
    }
    it = latency_table_.emplace(c, std::move(table)).first;
  }
  // unordered_map never moves its values on rehash, so the reference stays valid.
  return it->second[model];
}

void placement_evaluator::check(const placement& p) const {
  if (p.group_configs.size() != p.group_models.size())
    throw std::invalid_argument("placement: group_configs and group_models differ in length");
  for (const auto& g : p.group_models)
    for (int m : g)
      if (m < 0 || static_cast<size_t>(m) >= models_.size())
        throw std::invalid_argument("placement: model id " + std::to_string(m) + " out of range");
}

std::vector<placement_evaluator::component> placement_evaluator::decompose(
    const placement& p) const {
  const int num_groups = static_cast<int>(p.num_groups());
  std::vector<component> comps;
  if (!options_.decompose) {
    component all;
    std::vector<uint8_t> placed(models_.size(), 0);
    for (int g = 0; g < num_groups; ++g) {
      if (p.group_models[g].empty()) continue;
      all.groups.push_back(g);
      for (int m : p.group_models[g]) placed[m] = 1;
    }
    for (size_t m = 0; m < models_.size(); ++m)
      if (placed[m]) all.models.push_back(static_cast<int>(m));
    if (!all.groups.empty()) comps.push_back(std::move(all));
  } else {
    disjoint_sets sets(static_cast<size_t>(num_groups) + models_.size());
    for (int g = 0; g < num_groups; ++g)
      for (int m : p.group_models[g]) sets.unite(g, num_groups + m);
    std::vector<int> comp_of_root(static_cast<size_t>(num_groups) + models_.size(), -1);
    for (int g = 0; g < num_groups; ++g) {
      if (p.group_models[g].empty()) continue;
      const int root = sets.find(g);
      if (comp_of_root[root] < 0) {
        comp_of_root[root] = static_cast<int>(comps.size());
        comps.emplace_back();
      }
      comps[comp_of_root[root]].groups.push_back(g);
    }
    for (size_t m = 0; m < models_.size(); ++m) {
      const int root = sets.find(num_groups + static_cast<int>(m));
      if (comp_of_root[root] >= 0) comps[comp_of_root[root]].models.push_back(static_cast<int>(m));
    }
  }
  for (auto& c : comps) {
    for (int g : c.groups) {
      const auto& cfg = p.group_configs[g];
      c.key.push_back(cfg.op);
      c.key.push_back(cfg.pp);
      c.key.push_back(cfg.dp);
      const auto& ms = p.group_models[g];
      c.key.push_back(static_cast<int32_t>(ms.size()));
      const size_t at = c.key.size();
      c.key.insert(c.key.end(), ms.begin(), ms.end());
      std::sort(c.key.begin() + static_cast<std::ptrdiff_t>(at), c.key.end());
    }
  }
  return comps;
}

placement_evaluator::component_outcome placement_evaluator::simulate(
    const placement& p, const component& c, std::vector<uint8_t>* good,
    std::vector<double>* finish) const {
  const size_t num_local_groups = c.groups.size();
  // Stage clocks of every group of the component, flattened.
  std::vector<size_t> clock_offset(num_local_groups + 1, 0);
  std::vector<int> group_pp(num_local_groups);
  for (size_t lg = 0; lg < num_local_groups; ++lg) {
    group_pp[lg] = p.group_configs[c.groups[lg]].pp;
    clock_offset[lg + 1] = clock_offset[lg] + static_cast<size_t>(std::max(group_pp[lg], 1));
  }
  std::vector<double> clock(clock_offset.back(), 0.0);
  std::vector<double> stage_end(clock.size(), 0.0);

  // Per model of the component: its hosting groups (ascending) and stage latencies there.
  struct host {
    int local_group;
    const double* latency;  // null: not profiled for this config (infinite latency)
  };
  std::vector<int> local_model(models_.size(), -1);
  for (size_t i = 0; i < c.models.size(); ++i) local_model[c.models[i]] = static_cast<int>(i);
  std::vector<std::vector<host>> hosts(c.models.size());
  for (size_t lg = 0; lg < num_local_groups; ++lg) {
    const int g = c.groups[lg];
    for (int m : p.group_models[g]) {
      const auto& lat = stage_latency(m, p.group_configs[g]);
      const bool ok = static_cast<int>(lat.size()) == group_pp[lg];
      hosts[local_model[m]].push_back({static_cast<int>(lg), ok ? lat.data() : nullptr});
    }
  }

  // The component's requests in workload order.
  std::vector<int32_t> merged;
  const std::vector<int32_t>* requests = nullptr;
  size_t total = 0;
  for (int m : c.models) total += model_requests_[m].size();
  if (c.models.size() == 1) {
    requests = &model_requests_[c.models[0]];
  } else if (total * 8 >= request_model_.size()) {
    std::vector<uint8_t> in(models_.size(), 0);
    for (int m : c.models) in[m] = 1;
    merged.reserve(total);
    for (size_t i = 0; i < request_model_.size(); ++i)
      if (request_model_[i] >= 0 && in[request_model_[i]])
        merged.push_back(static_cast<int32_t>(i));
    requests = &merged;
  } else {
    using head = std::pair<int32_t, size_t>;  // (request index, list)
    std::priority_queue<head, std::vector<head>, std::greater<head>> heap;
    std::vector<size_t> pos(c.models.size(), 0);
    for (size_t i = 0; i < c.models.size(); ++i)
      if (!model_requests_[c.models[i]].empty()) heap.push({model_requests_[c.models[i]][0], i});
    merged.reserve(total);
    while (!heap.empty()) {
      auto [r, i] = heap.top();
      heap.pop();
      merged.push_back(r);
      const auto& list = model_requests_[c.models[i]];
      if (++pos[i] < list.size()) heap.push({list[pos[i]], i});
    }
    requests = &merged;
  }

  component_outcome out;
  out.models = c.models;
  out.model_num_good.assign(c.models.size(), 0);
  out.group_num_requests.assign(num_local_groups, 0);
  double latency_sum = 0;
  for (int32_t r : *requests) {
    const double arrival = request_arrival_[r];
    const int m = request_model_[r];
    const int lm = local_model[m];
    const auto& hs = hosts[lm];
    // Dispatch: the hosting group whose last stage frees first (strict <: lowest index wins).
    const host* best = nullptr;
    double best_clock = reference_inf;
    for (const host& h : hs) {
      const double last = clock[clock_offset[h.local_group + 1] - 1];
      if (last < best_clock) {
        best_clock = last;
        best = &h;
      }
    }
    if (best == nullptr) best = &hs.front();  // every clock >= 1e100 cannot happen; be safe
    const size_t off = clock_offset[best->local_group];
    const int pp = group_pp[best->local_group];
    double t = arrival;
    if (best->latency == nullptr) {
      t = std::numeric_limits<double>::infinity();
    } else {
      for (int k = 0; k < pp; ++k) {
        t = std::max(t, clock[off + k]) + best->latency[k];
        stage_end[off + k] = t;
      }
    }
    const double done = t + fixed_overhead;
    ++out.group_num_requests[best->local_group];
    if (done - arrival <= model_slo_[m]) {
      for (int k = 0; k < pp; ++k) clock[off + k] = stage_end[off + k];
      ++out.model_num_good[lm];
      ++out.num_good;
      latency_sum += done - arrival;
      if (good != nullptr) {
        (*good)[r] = 1;
        (*finish)[r] = done;
      }
    } else if (good != nullptr) {
      (*good)[r] = 0;
      (*finish)[r] = arrival;
    }
  }
  out.latency_sum = latency_sum;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    ++counters_.component_sims;
    counters_.requests_simulated += static_cast<int64_t>(requests->size());
  }
  return out;
}

placement_stats placement_evaluator::assemble(
    const placement& p, const std::vector<component>& comps,
    const std::vector<const component_outcome*>& outs) const {
  placement_stats s;
  s.model_num_requests.resize(models_.size());
  for (size_t m = 0; m < models_.size(); ++m)
    s.model_num_requests[m] = static_cast<int64_t>(model_requests_[m].size());
  s.model_num_good.assign(models_.size(), 0);
  s.group_num_requests.assign(p.num_groups(), 0);
  s.num_requests = static_cast<int64_t>(request_arrival_.size());
  for (size_t i = 0; i < comps.size(); ++i) {
    const component_outcome& o = *outs[i];
    for (size_t lg = 0; lg < comps[i].groups.size(); ++lg)
      s.group_num_requests[comps[i].groups[lg]] = o.group_num_requests[lg];
    for (size_t j = 0; j < o.models.size(); ++j)
      s.model_num_good[o.models[j]] = o.model_num_good[j];
    s.num_good += o.num_good;
    s.latency_sum += o.latency_sum;
  }
  s.num_replicas = p.num_replicas();
  return s;
}

std::vector<placement_stats> placement_evaluator::stats_many(
    const std::vector<placement>& candidates) const {
  for (const auto& p : candidates) check(p);
  const size_t n = candidates.size();
  std::vector<placement_stats> result(n);
  std::vector<std::vector<int32_t>> placement_keys(n);
  std::vector<uint8_t> done(n, 0);
  std::vector<std::vector<component>> comps(n);
  // Distinct uncached components, each simulated once.
  struct job {
    size_t candidate;
    size_t component;
  };
  std::vector<job> jobs;
  std::unordered_map<std::vector<int32_t>, size_t, key_hash> job_of_key;
  std::vector<std::vector<std::shared_ptr<const component_outcome>>> outs(n);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    counters_.evaluations += static_cast<int64_t>(n);
  }
  for (size_t i = 0; i < n; ++i) {
    const placement& p = candidates[i];
    if (options_.memoize) {
      auto& key = placement_keys[i];
      for (size_t g = 0; g < p.num_groups(); ++g) {
        key.push_back(p.group_configs[g].op);
        key.push_back(p.group_configs[g].pp);
        key.push_back(p.group_configs[g].dp);
        key.push_back(static_cast<int32_t>(p.group_models[g].size()));
        key.insert(key.end(), p.group_models[g].begin(), p.group_models[g].end());
      }
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = placement_cache_.find(key);
      if (it != placement_cache_.end()) {
        result[i] = *it->second;
        done[i] = 1;
        ++counters_.placement_hits;
        continue;
      }
    }
    comps[i] = decompose(p);
    outs[i].resize(comps[i].size());
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (size_t c = 0; c < comps[i].size(); ++c) {
      if (options_.memoize) {
        auto it = component_cache_.find(comps[i][c].key);
        if (it != component_cache_.end()) {
          outs[i][c] = it->second;
          ++counters_.component_hits;
          continue;
        }
        if (job_of_key.count(comps[i][c].key)) continue;  // filled after the jobs run
        job_of_key.emplace(comps[i][c].key, jobs.size());
      }
      jobs.push_back({i, c});
    }
  }
  std::vector<std::shared_ptr<const component_outcome>> job_out(jobs.size());
  auto run_job = [&](size_t j) {
    const job& jb = jobs[j];
    job_out[j] = std::make_shared<const component_outcome>(
        simulate(candidates[jb.candidate], comps[jb.candidate][jb.component], nullptr, nullptr));
  };
  std::unique_lock<std::mutex> pool_lock(pool_busy_, std::defer_lock);
  if (pool_ && jobs.size() > 1 && pool_lock.try_lock()) {
    pool_->parallel_for(jobs.size(), run_job);
  } else {
    for (size_t j = 0; j < jobs.size(); ++j) run_job(j);
  }
  if (options_.memoize) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (size_t j = 0; j < jobs.size(); ++j)
      component_cache_.emplace(comps[jobs[j].candidate][jobs[j].component].key, job_out[j]);
  } else {
    for (size_t j = 0; j < jobs.size(); ++j)
      outs[jobs[j].candidate][jobs[j].component] = job_out[j];
  }
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    std::vector<const component_outcome*> ptrs(comps[i].size());
    for (size_t c = 0; c < comps[i].size(); ++c) {
      if (!outs[i][c]) outs[i][c] = job_out[job_of_key.at(comps[i][c].key)];
      ptrs[c] = outs[i][c].get();
    }
    result[i] = assemble(candidates[i], comps[i], ptrs);
    if (options_.memoize) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      placement_cache_.emplace(std::move(placement_keys[i]),
                               std::make_shared<const placement_stats>(result[i]));
    }
  }
  return result;
}

placement_stats placement_evaluator::stats(const placement& p) const {
  return std::move(stats_many({p}).front());
}

std::vector<double> placement_evaluator::scores(const std::vector<placement>& candidates) const {
  std::vector<double> out;
  out.reserve(candidates.size());
  for (const auto& s : stats_many(candidates)) out.push_back(s.score());
  return out;
}

void placement_evaluator::simulate_requests(const placement& p, std::vector<uint8_t>& good,
                                            std::vector<double>& finish) const {
  check(p);
  good.assign(request_arrival_.size(), 0);
  finish = request_arrival_;
  component all;
  std::vector<uint8_t> placed(models_.size(), 0);
  for (size_t g = 0; g < p.num_groups(); ++g) {
    if (p.group_models[g].empty()) continue;
    all.groups.push_back(static_cast<int>(g));
    for (int m : p.group_models[g]) placed[m] = 1;
  }
  for (size_t m = 0; m < models_.size(); ++m)
    if (placed[m]) all.models.push_back(static_cast<int>(m));
  if (all.groups.empty()) return;
  (void)simulate(p, all, &good, &finish);
}

}  // namespace alpaserve::planner
