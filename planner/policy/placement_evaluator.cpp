#include "planner/policy/placement_evaluator.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "planner/sim/component_kernel.hpp"
#include "planner/sim/sim_stats.hpp"

namespace alpaserve::planner {

double placement_stats::score() const noexcept {
  return placement_score(goodput(), latency_mean(), num_replicas);
}

namespace {

// Constants of the reference approximate simulator (section 4.2).
constexpr double fixed_overhead = 0.011;
constexpr double stage_penalty = 0.009;
constexpr double reference_inf = 1e100;

}  // namespace

namespace {

// A read-only run of values (the evaluator's component views).
template <typename T>
struct view {
  const T* first = nullptr;
  size_t count = 0;
  [[nodiscard]] const T* begin() const noexcept { return first; }
  [[nodiscard]] const T* end() const noexcept { return first + count; }
  [[nodiscard]] size_t size() const noexcept { return count; }
  [[nodiscard]] const T& operator[](size_t i) const noexcept { return first[i]; }
};

}  // namespace

// One connected component: views into its decomposition's arrays.
struct placement_evaluator::component {
  view<int> groups;   // global group indices, ascending
  view<int> models;   // model ids, ascending
  view<int32_t> key;  // exact content: per group op, pp, dp, count, sorted model ids
};

// All components of one placement in four allocations (candidates are decomposed by the
// hundred thousand, and per-component vectors made allocation a fifth of sr-search).
struct placement_evaluator::decomposition {
  std::vector<int> groups;  // per component, one after another
  std::vector<int> models;
  std::vector<int32_t> keys;
  std::vector<component> comps;
  // Working memory of decompose(), kept with the decomposition so it is reused.
  std::vector<int32_t> group_count;
  std::vector<int32_t> model_count;
  std::vector<size_t> group_at;
  std::vector<size_t> model_at;
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
  words_per_model_ = (request_model_.size() + 63) / 64;
  constexpr size_t max_bitset_bytes = size_t{64} << 20;
  if (options_.request_bitsets &&
      models_.size() * words_per_model_ * sizeof(uint64_t) <= max_bitset_bytes) {
    model_bits_.assign(models_.size() * words_per_model_, 0);
    for (size_t i = 0; i < request_model_.size(); ++i)
      if (request_model_[i] >= 0)
        model_bits_[static_cast<size_t>(request_model_[i]) * words_per_model_ + i / 64] |=
            uint64_t{1} << (i % 64);
  }
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
        // The kernels rely on stage ends never preceding their clocks (component_kernel.cpp).
        if (!(l >= 0))
          throw std::invalid_argument("negative or NaN stage latency: " + models_[m].name);
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

void placement_evaluator::decompose(const placement& p, bool whole, std::vector<int>& scratch,
                                    decomposition& out) const {
  const int num_groups = static_cast<int>(p.num_groups());
  const int num_models = static_cast<int>(models_.size());
  // scratch: union-find parents, then per root its component, per group and model its component.
  scratch.assign(2 * static_cast<size_t>(num_groups + num_models), -1);
  int* const parent = scratch.data();
  int* const comp_of = scratch.data() + num_groups + num_models;
  auto find = [parent](int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  auto unite = [&](int a, int b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  };
  for (int x = 0; x < num_groups + num_models; ++x) parent[x] = x;
  for (int g = 0; g < num_groups; ++g)
    for (int m : p.group_models[g]) {
      unite(g, num_groups + m);
      if (whole) unite(g, 0);  // one component of every placed group and model
    }
  // Components in order of their first group; groups and models ascending within each.
  std::vector<int32_t>& group_count = out.group_count;
  std::vector<int32_t>& model_count = out.model_count;
  group_count.clear();
  for (int g = 0; g < num_groups; ++g) {
    if (p.group_models[g].empty()) continue;
    const int root = find(g);
    if (comp_of[root] < 0) {
      comp_of[root] = static_cast<int>(group_count.size());
      group_count.push_back(0);
    }
    ++group_count[comp_of[root]];
  }
  const size_t num_comps = group_count.size();
  model_count.assign(num_comps, 0);
  size_t placed_groups = 0;
  size_t placed_models = 0;
  size_t key_size = 0;
  for (int g = 0; g < num_groups; ++g) {
    if (p.group_models[g].empty()) continue;
    ++placed_groups;
    key_size += 4 + p.group_models[g].size();
  }
  for (int m = 0; m < num_models; ++m) {
    const int c = comp_of[find(num_groups + m)];
    if (c >= 0) {
      ++model_count[c];
      ++placed_models;
    }
  }
  out.groups.resize(placed_groups);
  out.models.resize(placed_models);
  out.keys.resize(key_size);
  out.comps.resize(num_comps);
  std::vector<size_t>& group_at = out.group_at;
  std::vector<size_t>& model_at = out.model_at;
  group_at.resize(num_comps);
  model_at.resize(num_comps);
  size_t ga = 0;
  size_t ma = 0;
  for (size_t c = 0; c < num_comps; ++c) {
    group_at[c] = ga;
    model_at[c] = ma;
    out.comps[c].groups = {out.groups.data() + ga, static_cast<size_t>(group_count[c])};
    out.comps[c].models = {out.models.data() + ma, static_cast<size_t>(model_count[c])};
    ga += static_cast<size_t>(group_count[c]);
    ma += static_cast<size_t>(model_count[c]);
  }
  for (int g = 0; g < num_groups; ++g)
    if (!p.group_models[g].empty()) out.groups[group_at[comp_of[find(g)]]++] = g;
  for (int m = 0; m < num_models; ++m) {
    const int c = comp_of[find(num_groups + m)];
    if (c >= 0) out.models[model_at[c]++] = m;
  }
  size_t at = 0;
  for (auto& c : out.comps) {
    const size_t first = at;
    for (int g : c.groups) {
      const auto& cfg = p.group_configs[g];
      const auto& ms = p.group_models[g];
      out.keys[at++] = cfg.op;
      out.keys[at++] = cfg.pp;
      out.keys[at++] = cfg.dp;
      out.keys[at++] = static_cast<int32_t>(ms.size());
      std::copy(ms.begin(), ms.end(), out.keys.begin() + static_cast<std::ptrdiff_t>(at));
      std::sort(out.keys.begin() + static_cast<std::ptrdiff_t>(at),
                out.keys.begin() + static_cast<std::ptrdiff_t>(at + ms.size()));
      at += ms.size();
    }
    c.key = {out.keys.data() + first, at - first};
  }
}

std::shared_ptr<const placement_evaluator::request_stream> placement_evaluator::stream_of(
    const std::vector<int>& models) const {
  {
    std::lock_guard<std::mutex> lock(stream_mutex_);
    auto it = stream_cache_.find(models);
    if (it != stream_cache_.end()) return it->second;
  }
  auto stream = std::make_shared<request_stream>();
  size_t total = 0;
  for (int m : models) total += model_requests_[m].size();
  // Uninitialised buffers: every slot is written below (zero-filling them costs more than the
  // gathering itself). One slot more for the dense pass.
  stream->size = total;
  stream->arrival.reset(new double[total + 1]);
  stream->local_model.reset(new int32_t[total + 1]);
  double* const arrival = stream->arrival.get();
  int32_t* const local_model = stream->local_model.get();
  if (models.size() == 1) {
    size_t at = 0;
    for (int32_t r : model_requests_[models[0]]) {
      arrival[at] = request_arrival_[r];
      local_model[at++] = 0;
    }
  } else if (!model_bits_.empty()) {
    // The OR of the members' bitsets, walked by set bit: requests in workload order.
    std::vector<int32_t> local(models_.size(), -1);
    for (size_t i = 0; i < models.size(); ++i) local[models[i]] = static_cast<int32_t>(i);
    std::vector<uint64_t> bits(
        model_bits_.begin() + static_cast<std::ptrdiff_t>(models[0] * words_per_model_),
        model_bits_.begin() + static_cast<std::ptrdiff_t>((models[0] + 1) * words_per_model_));
    for (size_t i = 1; i < models.size(); ++i) {
      const uint64_t* row = model_bits_.data() + models[i] * words_per_model_;
      for (size_t w = 0; w < words_per_model_; ++w) bits[w] |= row[w];
    }
    size_t at = 0;
    for (size_t w = 0; w < words_per_model_; ++w) {
      for (uint64_t x = bits[w]; x != 0; x &= x - 1) {
        const size_t r = w * 64 + static_cast<size_t>(__builtin_ctzll(x));
        arrival[at] = request_arrival_[r];
        local_model[at++] = local[request_model_[r]];
      }
    }
  } else if (total * 8 >= request_model_.size()) {
    // Dense set: one pass over the workload with a membership table.
    // Branch-free: every request is written at the next slot, which advances only for members
    // (whether a request belongs is unpredictable). Slot [total] takes the last non-member writes.
    std::vector<int32_t> local(models_.size() + 1, -1);  // [0] for unregistered (-1) requests
    for (size_t i = 0; i < models.size(); ++i) local[models[i] + 1] = static_cast<int32_t>(i);
    size_t next = 0;
    for (size_t i = 0; i < request_model_.size(); ++i) {
      const int32_t lm = local[request_model_[i] + 1];
      arrival[next] = request_arrival_[i];
      local_model[next] = lm;
      next += lm >= 0 ? 1 : 0;
    }
  } else {
    // Sparse set: k-way merge of the per-model lists.
    using head = std::pair<int32_t, int32_t>;  // (request index, local model)
    std::priority_queue<head, std::vector<head>, std::greater<head>> heap;
    std::vector<size_t> pos(models.size(), 0);
    for (size_t i = 0; i < models.size(); ++i)
      if (!model_requests_[models[i]].empty())
        heap.push({model_requests_[models[i]][0], static_cast<int32_t>(i)});
    size_t at = 0;
    while (!heap.empty()) {
      const auto [r, lm] = heap.top();
      heap.pop();
      arrival[at] = request_arrival_[r];
      local_model[at++] = lm;
      const auto& list = model_requests_[models[lm]];
      if (++pos[lm] < list.size()) heap.push({list[pos[lm]], lm});
    }
  }
  const size_t bytes = total * (sizeof(double) + sizeof(int32_t));
  std::lock_guard<std::mutex> lock(stream_mutex_);
  // Bounded: a search only revisits a handful of model sets at a time.
  const size_t limit = std::max<size_t>(size_t{256} << 20, 4 * bytes);
  if (stream_cache_bytes_ + bytes > limit) {
    stream_cache_.clear();
    stream_cache_bytes_ = 0;
  }
  auto [it, inserted] = stream_cache_.emplace(models, std::move(stream));
  if (inserted) stream_cache_bytes_ += bytes;
  return it->second;
}

// A component simulation laid out for the kernel; the lane points into the vectors.
struct placement_evaluator::prepared_sim {
  std::shared_ptr<const request_stream> stream;
  std::vector<double> clock;
  std::vector<double> stage_end;
  std::vector<double> infinite;  // latencies of unprofiled configs: +inf, always rejected
  std::vector<double> padded;    // stage latencies padded to the kernel's stage count
  std::vector<double> slo;
  std::vector<host_entry> hosts;
  std::vector<int64_t> counts;  // the lane's counters: per model accepted, per group dispatched
  component_outcome out;
  component_lane lane;
  int pp = 0;  // the kernel: 1, 2, 4 or 8 stages everywhere, 0 for any mix
  // Working memory of prepare().
  std::vector<int32_t> clock_offset;
  std::vector<int32_t> local_model;
  std::vector<int32_t> host_count;
  std::vector<int32_t> fill;
};

void placement_evaluator::prepare(const placement& p, const component& c, bool record,
                                  prepared_sim& s) const {
  const size_t num_local_groups = c.groups.size();
  int uniform_pp = -1;
  int max_pp = 1;
  for (int g : c.groups) {
    const int pp = std::max(p.group_configs[g].pp, 1);
    uniform_pp = (uniform_pp == -1 || uniform_pp == pp) ? pp : 0;
    max_pp = std::max(max_pp, pp);
  }
  // Without per-request records, a mix of stage counts runs as max_pp stages: shorter groups get
  // trailing stages of latency 0, which is exact. Such a stage's clock always equals the group's
  // last real clock (committed together), and t = max(t_last, that clock) + 0 = t_last since
  // t_last >= the last real clock; so every t, dispatch clock and outcome is unchanged, and the
  // fixed-stage kernels (no branches on the stage count) apply.
  const bool pad = !record && uniform_pp == 0 && (max_pp == 2 || max_pp == 4 || max_pp == 8);
  if (pad) uniform_pp = max_pp;
  // The kernel: fixed-stage for 1, 2, 4 or 8 stages everywhere, else the general one (0).
  const bool fixed = uniform_pp == 1 || uniform_pp == 2 || uniform_pp == 4 || uniform_pp == 8;
  s.pp = record || !fixed ? 0 : uniform_pp;
  // Stage clocks of every group of the component, flattened.
  std::vector<int32_t>& clock_offset = s.clock_offset;
  clock_offset.assign(num_local_groups + 1, 0);
  for (size_t lg = 0; lg < num_local_groups; ++lg) {
    const int pp = pad ? max_pp : std::max(p.group_configs[c.groups[lg]].pp, 1);
    clock_offset[lg + 1] = clock_offset[lg] + pp;
  }
  s.clock.assign(static_cast<size_t>(clock_offset.back()), 0.0);
  s.stage_end.assign(s.clock.size(), 0.0);
  s.infinite.assign(static_cast<size_t>(std::max(clock_offset.back(), 1)),
                    std::numeric_limits<double>::infinity());

  // Per model of the component: its hosting groups, ascending.
  std::vector<int32_t>& local_model = s.local_model;
  local_model.assign(models_.size(), -1);
  for (size_t i = 0; i < c.models.size(); ++i) local_model[c.models[i]] = static_cast<int32_t>(i);
  // Host lists padded to one length per component so the dispatch loop has a fixed trip count
  // (a predictable branch); padding points at a clock slot holding +inf, which never wins.
  std::vector<int32_t>& host_count = s.host_count;
  host_count.assign(c.models.size(), 0);
  for (int g : c.groups)
    for (int m : p.group_models[g]) ++host_count[local_model[m]];
  const int32_t width =
      host_count.empty() ? 1 : *std::max_element(host_count.begin(), host_count.end());
  const int32_t never = clock_offset.back();  // the +inf clock slot
  s.clock.push_back(std::numeric_limits<double>::infinity());
  s.stage_end.push_back(0.0);
  s.hosts.assign(
      c.models.size() * static_cast<size_t>(width),
      host_entry{0, never, never, 1, s.infinite.data(), std::numeric_limits<double>::infinity()});
  std::vector<int32_t>& fill = s.fill;
  fill.resize(c.models.size());
  for (size_t i = 0; i < c.models.size(); ++i) fill[i] = static_cast<int32_t>(i) * width;
  // Padded latencies (pad only): per host entry max_pp values, the real ones then zeros.
  s.padded.assign(pad ? s.hosts.size() * static_cast<size_t>(max_pp) : 0, 0.0);
  for (size_t lg = 0; lg < num_local_groups; ++lg) {
    const int g = c.groups[lg];
    const int pp = clock_offset[lg + 1] - clock_offset[lg];
    for (int m : p.group_models[g]) {
      const auto& lat = stage_latency(m, p.group_configs[g]);
      const bool ok = static_cast<int>(lat.size()) == p.group_configs[g].pp;
      const int32_t slot = fill[local_model[m]]++;
      const double* stage = ok ? lat.data() : s.infinite.data();
      if (pad && ok) {
        double* dst = s.padded.data() + static_cast<size_t>(slot) * static_cast<size_t>(max_pp);
        std::copy(lat.begin(), lat.end(), dst);
        stage = dst;
      }
      s.hosts[static_cast<size_t>(slot)] = {static_cast<int32_t>(c.models.size() + lg),
                                            clock_offset[lg],
                                            clock_offset[lg + 1] - 1,
                                            pp,
                                            stage,
                                            ok ? lat[0] : std::numeric_limits<double>::infinity()};
    }
  }
  s.slo.resize(c.models.size());
  for (size_t i = 0; i < c.models.size(); ++i) s.slo[i] = model_slo_[c.models[i]];

  s.out.models.assign(c.models.begin(), c.models.end());
  s.stream = stream_of(s.out.models);
  s.counts.assign(c.models.size() + num_local_groups, 0);
  component_lane& lane = s.lane;
  lane = component_lane{};  // a reused layout starts its counters at 0 again
  lane.arrival = s.stream->arrival.get();
  lane.local_model = s.stream->local_model.get();
  lane.n = s.stream->size;
  lane.hosts = s.hosts.data();
  lane.width = width;
  lane.slo = s.slo.data();
  lane.clock = s.clock.data();
  lane.stage_end = s.stage_end.data();
  lane.counts = s.counts.data();
}

void placement_evaluator::finish(prepared_sim& s) const {
  const size_t num_models = s.out.models.size();
  s.out.model_num_good.assign(s.counts.begin(),
                              s.counts.begin() + static_cast<std::ptrdiff_t>(num_models));
  s.out.group_num_requests.assign(s.counts.begin() + static_cast<std::ptrdiff_t>(num_models),
                                  s.counts.end());
  s.out.num_good =
      std::accumulate(s.out.model_num_good.begin(), s.out.model_num_good.end(), int64_t{0});
  s.out.latency_sum = s.lane.latency_sum;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  ++counters_.component_sims;
  counters_.requests_simulated += static_cast<int64_t>(s.lane.n);
}

placement_evaluator::component_outcome placement_evaluator::simulate(
    const placement& p, const component& c, std::vector<uint8_t>* good,
    std::vector<double>* finish_out) const {
  prepared_sim s;
  prepare(p, c, good != nullptr, s);
  // Per-request records need each stream entry's workload index: the requests of the model set
  // in workload order, as the stream holds them.
  std::vector<int32_t> index;
  if (good != nullptr) {
    std::vector<uint8_t> member(models_.size() + 1, 0);
    for (int m : c.models) member[m + 1] = 1;
    for (size_t i = 0; i < request_model_.size(); ++i)
      if (member[request_model_[i] + 1]) index.push_back(static_cast<int32_t>(i));
  }
  run_component(s.lane, s.pp, index.data(), good != nullptr ? good->data() : nullptr,
                finish_out != nullptr ? finish_out->data() : nullptr);
  finish(s);
  return std::move(s.out);
}

placement_stats placement_evaluator::assemble(const placement& p,
                                              const std::vector<component>& comps,
                                              const std::vector<const component_outcome*>& outs,
                                              bool per_model) const {
  placement_stats s;
  if (per_model) {
    s.model_num_requests.resize(models_.size());
    for (size_t m = 0; m < models_.size(); ++m)
      s.model_num_requests[m] = static_cast<int64_t>(model_requests_[m].size());
    s.model_num_good.assign(models_.size(), 0);
    s.group_num_requests.assign(p.num_groups(), 0);
  }
  s.num_requests = static_cast<int64_t>(request_arrival_.size());
  for (size_t i = 0; i < comps.size(); ++i) {
    const component_outcome& o = *outs[i];
    if (per_model) {
      for (size_t lg = 0; lg < comps[i].groups.size(); ++lg)
        s.group_num_requests[comps[i].groups[lg]] = o.group_num_requests[lg];
      for (size_t j = 0; j < o.models.size(); ++j)
        s.model_num_good[o.models[j]] = o.model_num_good[j];
    }
    s.num_good += o.num_good;
    s.latency_sum += o.latency_sum;
  }
  s.num_replicas = p.num_replicas();
  return s;
}

std::vector<placement_stats> placement_evaluator::stats_many(
    const std::vector<placement>& candidates) const {
  return evaluate(candidates, true);
}

std::vector<placement_stats> placement_evaluator::evaluate(const std::vector<placement>& candidates,
                                                           bool per_model) const {
  for (const auto& p : candidates) check(p);
  const size_t n = candidates.size();
  per_model = per_model || n == 1;  // single calls fill the placement cache
  std::vector<placement_stats> result(n);
  std::vector<std::vector<int32_t>> placement_keys(n);
  std::vector<uint8_t> done(n, 0);
  // Decompositions and outcome lists are kept per thread: their buffers are reused from call to
  // call (the lockstep fills call once per round with ~1000 candidates).
  // Named through references: pool workers run lambdas that must see this thread's buffers.
  thread_local std::vector<decomposition> decs_buffer;
  thread_local std::vector<std::vector<std::shared_ptr<const component_outcome>>> outs_buffer;
  std::vector<decomposition>& decs = decs_buffer;
  std::vector<std::vector<std::shared_ptr<const component_outcome>>>& outs = outs_buffer;
  if (decs.size() < n) decs.resize(n);
  if (outs.size() < n) outs.resize(n);
  std::vector<int> scratch;
  std::vector<int32_t> probe;  // a component's key as the caches' key type, without allocating
  auto probe_of = [&probe](const component& c) -> const std::vector<int32_t>& {
    probe.assign(c.key.begin(), c.key.end());
    return probe;
  };
  // Distinct uncached components, each simulated once.
  struct job {
    size_t candidate;
    size_t component;
  };
  std::vector<job> jobs;
  std::unordered_map<std::vector<int32_t>, size_t, key_hash> job_of_key;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    counters_.evaluations += static_cast<int64_t>(n);
  }
  // Whole placements are memoised for single calls (a search re-scoring its result) only: the
  // candidates of one scores() call are distinct by construction in every search, and keying,
  // copying and storing their stats cost a fifth of sr-search. Components stay memoised.
  const bool memoize_placements = options_.memoize && n == 1;
  for (size_t i = 0; i < n; ++i) {
    const placement& p = candidates[i];
    if (memoize_placements) {
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
    decompose(p, !options_.decompose, scratch, decs[i]);
    const std::vector<component>& comps = decs[i].comps;
    outs[i].assign(comps.size(), nullptr);
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (size_t c = 0; c < comps.size(); ++c) {
      if (options_.memoize) {
        const std::vector<int32_t>& key = probe_of(comps[c]);
        auto it = component_cache_.find(key);
        if (it != component_cache_.end()) {
          outs[i][c] = it->second;
          ++counters_.component_hits;
          continue;
        }
        if (job_of_key.count(key)) continue;  // filled after the jobs run
        job_of_key.emplace(key, jobs.size());
      }
      jobs.push_back({i, c});
    }
  }
  std::vector<std::shared_ptr<const component_outcome>> job_out(jobs.size());
  auto run_job = [&](size_t j) {
    const job& jb = jobs[j];
    job_out[j] = std::make_shared<const component_outcome>(simulate(
        candidates[jb.candidate], decs[jb.candidate].comps[jb.component], nullptr, nullptr));
  };
  std::unique_lock<std::mutex> pool_lock(pool_busy_, std::defer_lock);
  if (pool_ && jobs.size() > 1 && pool_lock.try_lock()) {
    pool_->parallel_for(jobs.size(), run_job);
  } else if (jobs.size() > 1 && options_.interleave) {
    // One thread: the kernels interleave independent simulations of the same stage count.
    // Their layouts are kept per thread, so the buffers are reused from call to call.
    thread_local std::vector<prepared_sim> sims;
    if (sims.size() < jobs.size()) sims.resize(jobs.size());
    for (size_t j = 0; j < jobs.size(); ++j)
      prepare(candidates[jobs[j].candidate], decs[jobs[j].candidate].comps[jobs[j].component],
              false, sims[j]);
    // By kernel; every job has exactly one (prepare() gives 0, 1, 2, 4 or 8).
    std::vector<component_lane*> lanes;
    size_t ran = 0;
    for (int pp : {0, 1, 2, 4, 8}) {
      lanes.clear();
      for (size_t j = 0; j < jobs.size(); ++j)
        if (sims[j].pp == pp) lanes.push_back(&sims[j].lane);
      if (!lanes.empty()) run_components(lanes.data(), lanes.size(), pp);
      ran += lanes.size();
    }
    if (ran != jobs.size()) throw std::logic_error("placement_evaluator: a simulation did not run");
    for (size_t j = 0; j < jobs.size(); ++j) {
      finish(sims[j]);
      job_out[j] = std::make_shared<const component_outcome>(std::move(sims[j].out));
      sims[j].out = {};
      sims[j].stream.reset();  // do not pin streams the cache has dropped
    }
  } else {
    for (size_t j = 0; j < jobs.size(); ++j) run_job(j);
  }
  if (options_.memoize) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (size_t j = 0; j < jobs.size(); ++j)
      component_cache_.emplace(probe_of(decs[jobs[j].candidate].comps[jobs[j].component]),
                               job_out[j]);
  } else {
    for (size_t j = 0; j < jobs.size(); ++j)
      outs[jobs[j].candidate][jobs[j].component] = job_out[j];
  }
  std::vector<const component_outcome*> ptrs;
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    const std::vector<component>& comps = decs[i].comps;
    ptrs.resize(comps.size());
    for (size_t c = 0; c < comps.size(); ++c) {
      if (!outs[i][c]) outs[i][c] = job_out[job_of_key.at(probe_of(comps[c]))];
      ptrs[c] = outs[i][c].get();
    }
    result[i] = assemble(candidates[i], comps, ptrs, per_model);
    outs[i].clear();  // do not pin outcomes the cache may drop
    if (memoize_placements) {
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
  for (const auto& s : evaluate(candidates, false)) out.push_back(s.score());
  return out;
}

void placement_evaluator::simulate_requests(const placement& p, std::vector<uint8_t>& good,
                                            std::vector<double>& finish) const {
  check(p);
  good.assign(request_arrival_.size(), 0);
  finish = request_arrival_;
  decomposition all;
  std::vector<int> scratch;
  decompose(p, true, scratch, all);
  if (all.comps.empty()) return;
  (void)simulate(p, all.comps.front(), &good, &finish);
}

}  // namespace alpaserve::planner
