#include "planner/sim/approx_simulator.hpp"

#include "planner/core/huge_pages.hpp"
#include "planner/sim/component_kernel.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace alpaserve::planner {
namespace {

constexpr float float_inf = std::numeric_limits<float>::infinity();
constexpr int num_batch_slots = 5;  // batch sizes 1, 2, 4, 8, 16 -> slot log2(bs)

// A group that hosts a model, with what the inner loop needs to serve the model there.
struct candidate {
  int32_t group;
  int32_t first_clock;  // index of the group's stage-0 clock in the flat clock array
  int32_t last_clock;   // index of its last-stage clock (the dispatch key)
  int32_t num_stages;
  int32_t lat_offset;  // into compiled_placement::stage_latency
};

// One placement flattened for the per-request loop. Every model has exactly `slots` candidates
// (ascending group index as the reference's m_id2g_id, padded with repeats of its last one,
// which cannot win a strict-< minimum; a model without a group gets candidates whose clock is a
// +inf sentinel, so it is never dispatched). Every group owns `stride` clocks and every
// candidate `stride` latencies. A group's pp real stages are the LAST pp of its stride slots;
// the padding stages in front have latency 0 (see padded_exact).
struct compiled_placement {
  std::vector<candidate> candidates;   // num_models * slots
  std::vector<float> stage_latency;    // per candidate: stride values
  std::vector<double> initial_clocks;  // num_groups * stride zeros, then the +inf sentinel
  int32_t slots = 1;
  int32_t stride = 1;
  // Walking `stride` stages for every group equals walking pp stages when no latency is
  // negative or NaN: a front padding stage's clock only ever holds the largest arrival admitted
  // to the group, which the first real stage's clock already covers (it ends after it starts),
  // and t + 0 == t. Padding in front rather than behind keeps it off the critical path: the
  // walk through padding depends only on the arrival, not on clocks the previous request wrote.
  bool padded_exact = true;
};

// The per-model groups in the reference's order: groups ascending, each group's list in order
// (a model listed twice in a group appears twice; harmless for a strict-< minimum).
std::vector<std::vector<int32_t>> groups_of_models(const placement& p, size_t num_models) {
  if (p.group_configs.size() != p.group_models.size())
    throw std::invalid_argument("placement: group_configs and group_models differ in length");
  std::vector<std::vector<int32_t>> out(num_models);
  for (size_t g = 0; g < p.group_models.size(); ++g) {
    for (int m : p.group_models[g]) {
      if (m < 0 || static_cast<size_t>(m) >= num_models)
        throw std::invalid_argument("placement: model id " + std::to_string(m) +
                                    " out of range in group " + std::to_string(g));
      out[m].push_back(static_cast<int32_t>(g));
    }
  }
  return out;
}

// Stage latency at batch size bs as the reference stores it: the profile value times
// (1 + 0.009 * number of batch-1 stages), computed in double, rounded to float32. +inf when the
// config, the batch size or a stage is not profiled.
float penalized_latency(const config_profile* prof, int bs, int k) {
  if (prof == nullptr) return float_inf;
  auto one = prof->latency.find(1);
  auto it = prof->latency.find(bs);
  if (one == prof->latency.end() || it == prof->latency.end()) return float_inf;
  if (k >= static_cast<int>(it->second.size())) return float_inf;
  const double penalty = approx_simulator::stage_penalty * static_cast<double>(one->second.size());
  return static_cast<float>(it->second[k] * (1 + penalty));
}

compiled_placement compile(const placement& p, const std::vector<model_data>& models) {
  compiled_placement cp;
  const auto hosts = groups_of_models(p, models.size());
  for (const auto& c : p.group_configs) cp.stride = std::max(cp.stride, c.pp);
  for (const auto& h : hosts) cp.slots = std::max(cp.slots, static_cast<int32_t>(h.size()));
  const auto num_groups = static_cast<int32_t>(p.num_groups());
  const int32_t sentinel = num_groups * cp.stride;
  cp.initial_clocks.assign(static_cast<size_t>(sentinel), 0.0);
  cp.initial_clocks.push_back(std::numeric_limits<double>::infinity());
  for (size_t m = 0; m < models.size(); ++m) {
    if (hosts[m].empty()) {
      for (int32_t j = 0; j < cp.slots; ++j) {
        cp.candidates.push_back({0, 0, sentinel, 0, static_cast<int32_t>(cp.stage_latency.size())});
        cp.stage_latency.insert(cp.stage_latency.end(), static_cast<size_t>(cp.stride), float_inf);
      }
      continue;
    }
    for (int32_t g : hosts[m]) {
      const parallel_config& c = p.group_configs[g];
      const config_profile* prof = models[m].profile.find(c);
      const int32_t first = g * cp.stride;
      const int32_t pad = cp.stride - c.pp;
      cp.candidates.push_back({g, first + pad, first + cp.stride - 1, c.pp,
                               static_cast<int32_t>(cp.stage_latency.size())});
      for (int k = 0; k < cp.stride; ++k) {
        const float l = k >= pad ? penalized_latency(prof, 1, k - pad) : 0.0f;
        if (!(l >= 0)) cp.padded_exact = false;
        cp.stage_latency.push_back(l);
      }
    }
    for (auto j = static_cast<int32_t>(hosts[m].size()); j < cp.slots; ++j) {
      candidate repeat = cp.candidates.back();
      const auto from = static_cast<size_t>(repeat.lat_offset);
      repeat.lat_offset = static_cast<int32_t>(cp.stage_latency.size());
      for (int k = 0; k < cp.stride; ++k) cp.stage_latency.push_back(cp.stage_latency[from + k]);
      cp.candidates.push_back(repeat);
    }
  }
  return cp;
}

// Records per-request outcomes in order (run).
struct record_sink {
  double* finish;
  uint8_t* good;
  static constexpr bool records = true;
  // A chunked segment wrote its own outcomes (planner/sim/chunked_simulation.hpp).
  void skip(size_t n) noexcept {
    finish += n;
    good += n;
  }
  void add_totals(int64_t /*num_good*/, double /*latency_sum*/) noexcept {}
  void accept(double /*arrival*/, double f) noexcept {
    *finish++ = f;
    *good++ = 1;
  }
  void reject(double arrival) noexcept {
    *finish++ = arrival;
    *good++ = 0;
  }
};

// Only the sums placement search needs (run_summary).
struct summary_sink {
  int64_t num_good = 0;
  double latency_sum = 0;
  static constexpr bool records = false;
  void skip(size_t /*n*/) noexcept {}
  void add_totals(int64_t good, double latency) noexcept {
    num_good += good;
    latency_sum += latency;
  }
  void accept(double arrival, double f) noexcept {
    ++num_good;
    latency_sum += f - arrival;
  }
  void reject(double /*arrival*/) noexcept {}
};

struct counters {
  int64_t* group_num_requests;
  int64_t* model_num_good;
};

// simulate_requests_mixed over requests [begin, end) from zero clocks. Stride > 0 walks exactly
// that many (padded) stages for every group, unrolled; Stride == 0 walks each group's pp.
// model_num_requests does not depend on the placement and is counted once at construction.
template <int Stride, class Sink>
void simulate_mixed(const compiled_placement& cp, const double* arrivals, const int32_t* model_of,
                    const double* model_slo, size_t begin, size_t end, counters cnt, Sink& sink) {
  std::vector<double> clocks = cp.initial_clocks;
  std::vector<double> stage_done(static_cast<size_t>(cp.stride), 0.0);
  double* const clock = clocks.data();
  double* const tmp = stage_done.data();
  const candidate* const cands = cp.candidates.data();
  const float* const lat = cp.stage_latency.data();
  const int32_t slots = cp.slots;

  for (size_t i = begin; i < end; ++i) {
    const double a = arrivals[i];
    const int32_t m = model_of[i];
    if (m < 0) {
      sink.reject(a);
      continue;
    }

    // Dispatch: smallest last-stage clock, strict < (ties -> lowest group index). GCC compiles
    // this to a predicted jump, which measured faster than integer-mask selects (16 vs 12
    // ns/request): a correct guess lets the stage walk start before the clocks are compared.
    // Selecting slot and group (not a pointer) lets the stage walk address its clocks and
    // latencies without first loading the winner's fields: candidate (m, j) has its latencies at
    // (m * slots + j) * stride and group g its clocks at g * stride.
    const size_t base = static_cast<size_t>(m) * static_cast<size_t>(slots);
    const candidate* c = cands + base;
    int32_t best_slot = -1;
    int32_t best_group = 0;
    double best_clock = approx_simulator::reference_inf;
    for (int32_t j = 0; j < slots; ++j, ++c) {
      const double v = clock[c->last_clock];
      const bool less = v < best_clock;
      best_slot = less ? j : best_slot;
      best_group = less ? c->group : best_group;
      best_clock = less ? v : best_clock;
    }
    if (best_slot < 0) {
      sink.reject(a);
      continue;
    }

    const size_t stride = Stride > 0 ? Stride : static_cast<size_t>(cp.stride);
    const int32_t n = Stride > 0 ? Stride : cands[base + best_slot].num_stages;
    const size_t skip = Stride > 0 ? 0 : stride - static_cast<size_t>(n);  // front padding
    double* const d = clock + static_cast<size_t>(best_group) * stride + skip;
    const float* const l = lat + (base + static_cast<size_t>(best_slot)) * stride + skip;
    double t = a;
    for (int32_t k = 0; k < n; ++k) {
      t = std::max(t, d[k]) + static_cast<double>(l[k]);
      tmp[k] = t;
    }
    const double finish = t + approx_simulator::fixed_overhead;
    ++cnt.group_num_requests[best_group];
    if (finish - a <= model_slo[m]) {
      for (int32_t k = 0; k < n; ++k) d[k] = tmp[k];
      ++cnt.model_num_good[m];
      sink.accept(a, finish);
    } else {
      sink.reject(a);  // no capacity consumed
    }
  }
}

// Picks the unrolled kernel for the placement's deepest pipeline.
template <class Sink>
void simulate_mixed_any(const compiled_placement& cp, const double* arrivals,
                        const int32_t* model_of, const double* model_slo, size_t begin, size_t end,
                        counters cnt, Sink& sink) {
  const int stride = cp.padded_exact ? cp.stride : 0;
  switch (stride) {
#define ALPASERVE_STRIDE_CASE(n)                                                 \
  case n:                                                                        \
    simulate_mixed<n>(cp, arrivals, model_of, model_slo, begin, end, cnt, sink); \
    break;
    ALPASERVE_STRIDE_CASE(1)
    ALPASERVE_STRIDE_CASE(2)
    ALPASERVE_STRIDE_CASE(3)
    ALPASERVE_STRIDE_CASE(4)
    ALPASERVE_STRIDE_CASE(8)
#undef ALPASERVE_STRIDE_CASE
    default:
      simulate_mixed<0>(cp, arrivals, model_of, model_slo, begin, end, cnt, sink);
  }
}

// Request ranges of the Clockwork++ segments: [bounds[s], bounds[s + 1]) uses placements[s].
std::vector<size_t> segment_bounds(const placement_with_replacement& p,
                                   const std::vector<double>& arrivals) {
  if (p.placements.empty())
    throw std::invalid_argument("placement_with_replacement: no placements");
  if (p.placements.size() != p.start_times.size())
    throw std::invalid_argument(
        "placement_with_replacement: start_times and placements differ in length");
  std::vector<double> change_times(p.start_times.begin() + 1, p.start_times.end());
  change_times.push_back(std::numeric_limits<double>::infinity());
  std::vector<size_t> bounds{0};
  size_t pt = 0;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    if (arrivals[i] > change_times[pt]) {  // at most one advance per arrival, as the reference
      bounds.push_back(i);
      ++pt;
    }
  }
  bounds.push_back(arrivals.size());
  return bounds;  // size = (segments used) + 1; the last segment runs to the end
}

// A compiled placement as planner/sim/component_kernel.hpp lanes take it (run_summary of long
// runs): every group gets `pp` stage clocks, its real stages first and zero-latency ones after
// (exact: such a stage's clock always equals the real last one, as the evaluator's padding);
// the dispatch key is the last clock. A model without a group, and the dummy model of
// unregistered requests (index num_models), get host entries on a +inf sentinel group (index
// num_groups), so they are rejected; that group's counter is dropped. pp == 0: not expressible
// (a latency that is negative or NaN, or more than 8 stages); the caller runs it sequentially.
struct chunk_layout {
  int pp = 0;
  size_t num_groups = 0;
  int32_t width = 1;
  std::vector<host_entry> hosts;  // (num_models + 1) * width
  std::vector<double> latency;    // per host entry: pp values
  std::vector<double> slo;        // num_models + 1
  std::vector<double> clock;      // (num_groups + 1) * pp: zeros, then the +inf sentinel group
};

chunk_layout lay_out_lanes(const compiled_placement& cp, size_t num_models,
                           const std::vector<double>& model_slo) {
  chunk_layout l;
  if (!cp.padded_exact || cp.stride > 8) return l;
  const int pp = cp.stride <= 1 ? 1 : cp.stride <= 2 ? 2 : cp.stride <= 4 ? 4 : 8;
  const auto groups = static_cast<int32_t>(cp.initial_clocks.size() - 1) / cp.stride;
  l.num_groups = static_cast<size_t>(groups);
  l.width = cp.slots;
  const int32_t sentinel = groups * pp;
  l.clock.assign(static_cast<size_t>(sentinel), 0.0);
  l.clock.resize(static_cast<size_t>(sentinel + pp), std::numeric_limits<double>::infinity());
  const size_t entries = (num_models + 1) * static_cast<size_t>(l.width);
  // A group's dispatch counter follows the num_models + 1 good counters in a lane's counts.
  const auto slots = static_cast<int32_t>(num_models + 1);
  l.latency.assign(entries * static_cast<size_t>(pp), 0.0);
  l.hosts.resize(entries);
  for (size_t e = 0; e < entries; ++e) {
    const size_t m = e / static_cast<size_t>(l.width);
    double* lat = l.latency.data() + e * static_cast<size_t>(pp);
    const candidate* c = m < num_models ? &cp.candidates[e] : nullptr;
    if (c == nullptr || c->last_clock == groups * cp.stride) {  // no group: the sentinel
      l.hosts[e] = {slots + groups, sentinel, sentinel + pp - 1, pp, lat, 0.0};
      continue;
    }
    const int32_t front = cp.stride - c->num_stages;  // compile() pads in front
    for (int32_t k = 0; k < c->num_stages; ++k)
      lat[k] =
          static_cast<double>(cp.stage_latency[static_cast<size_t>(c->lat_offset + front + k)]);
    l.hosts[e] = {slots + c->group, c->group * pp, c->group * pp + pp - 1, pp, lat, lat[0]};
  }
  l.slo.assign(model_slo.begin(), model_slo.end());
  l.slo.push_back(0.0);
  l.pp = pp;
  return l;
}

}  // namespace

approx_simulator::approx_simulator(const std::vector<model_data>& models, const workload& w)
    : models_(models), workload_(&w) {
  if (w.model.size() != w.arrivals.size())
    throw std::invalid_argument("workload: arrivals and model arrays differ in length");
  std::unordered_map<std::string, int32_t> id_of;
  for (size_t m = 0; m < models_.size(); ++m)
    id_of.emplace(models_[m].name, static_cast<int32_t>(m));  // first registration wins
  std::vector<int32_t> id_of_name(w.model_names.size(), -1);
  for (size_t n = 0; n < w.model_names.size(); ++n) {
    auto it = id_of.find(w.model_names[n]);
    if (it != id_of.end()) id_of_name[n] = it->second;
  }
  request_model_.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const int32_t name = w.model[i];
    request_model_[i] =
        (name >= 0 && static_cast<size_t>(name) < id_of_name.size()) ? id_of_name[name] : -1;
  }
  model_request_count_.assign(models_.size(), 0);
  for (int32_t m : request_model_)
    if (m >= 0) ++model_request_count_[m];
  request_local_.resize(request_model_.size());
  const auto dummy = static_cast<int32_t>(models_.size());
  for (size_t i = 0; i < request_model_.size(); ++i)
    request_local_[i] = request_model_[i] >= 0 ? request_model_[i] : dummy;
  for (const auto& m : models_) {
    model_slo_.push_back(static_cast<float>(m.slo));
    model_slo_wide_.push_back(static_cast<double>(model_slo_.back()));
  }
}

std::vector<approx_simulator::segment> approx_simulator::segments_of(
    const placement_with_replacement& p) const {
  const auto bounds = segment_bounds(p, workload_->arrivals);
  std::vector<segment> out;
  for (size_t s = 0; s + 1 < bounds.size(); ++s)
    out.push_back({&p.placements[s], bounds[s], bounds[s + 1]});
  return out;
}

template <class Sink>
void approx_simulator::simulate(const std::vector<segment>& segments, size_t num_groups,
                                std::vector<int64_t>& group_num_requests,
                                std::vector<int64_t>& model_num_good, Sink& sink, int64_t* chunks,
                                int64_t* fixups) const {
  group_num_requests.assign(num_groups, 0);
  model_num_good.assign(models_.size(), 0);
  for (const segment& seg : segments) {
    const compiled_placement cp = compile(*seg.layout, models_);  // fresh clocks per segment
    const size_t n = seg.end - seg.begin;
    const chunk_layout layout = n >= chunking_.min_requests
                                    ? lay_out_lanes(cp, models_.size(), model_slo_wide_)
                                    : chunk_layout{};
    if (layout.pp == 0) {  // short, or stage counts the fixed-stage lanes do not take
      simulate_mixed_any(cp, workload_->arrivals.data(), request_model_.data(),
                         model_slo_wide_.data(), seg.begin, seg.end,
                         {group_num_requests.data(), model_num_good.data()}, sink);
      ++*chunks;
      continue;
    }
    component_lane lane;
    lane.arrival = workload_->arrivals.data() + seg.begin;
    lane.local_model = request_local_.data() + seg.begin;
    lane.hosts = layout.hosts.data();
    lane.width = layout.width;
    lane.slo = layout.slo.data();
    uint8_t* good = nullptr;
    double* finish = nullptr;
    if constexpr (Sink::records) {
      good = sink.good;
      finish = sink.finish;
    }
    const chunked_totals t = run_chunked(lane, n, layout.clock, layout.num_groups + 1,
                                         models_.size() + 1, layout.pp, chunking_, good, finish);
    for (size_t g = 0; g < layout.num_groups; ++g) group_num_requests[g] += t.group_num_requests[g];
    for (size_t m = 0; m < models_.size(); ++m) model_num_good[m] += t.model_num_good[m];
    sink.add_totals(t.num_good, t.latency_sum);
    sink.skip(n);
    *chunks += t.chunks;
    *fixups += t.fixups;
  }
}

void approx_simulator::run_segments(const std::vector<segment>& segments, size_t num_groups,
                                    sim_result& out) const {
  // Every element is overwritten below. A reused result keeps its pages; a fresh one gets huge
  // pages (planner/core/huge_pages.hpp), else its first-touch faults cost as much as the run.
  resize_for_overwrite(out.finish, num_requests());
  resize_for_overwrite(out.good, num_requests());
  record_sink sink{out.finish.data(), out.good.data()};
  int64_t chunks = 0, fixups = 0;
  simulate(segments, num_groups, out.group_num_requests, out.model_num_good, sink, &chunks,
           &fixups);
  out.model_num_requests = model_request_count_;
}

sim_summary approx_simulator::summarize_segments(const std::vector<segment>& segments,
                                                 size_t num_groups) const {
  sim_summary s;
  summary_sink sink;
  simulate(segments, num_groups, s.group_num_requests, s.model_num_good, sink, &s.chunks,
           &s.chunk_fixups);
  s.model_num_requests = model_request_count_;
  s.num_requests = static_cast<int64_t>(num_requests());
  s.num_good = sink.num_good;
  s.latency_sum = sink.latency_sum;
  if (num_requests() > 0) {
    s.first_arrival = workload_->arrivals.front();
    s.last_arrival = workload_->arrivals.back();
  }
  return s;
}

namespace {
size_t max_groups(const placement_with_replacement& p) {
  size_t n = 0;
  for (const auto& pl : p.placements) n = std::max(n, pl.num_groups());
  return n;
}
}  // namespace

sim_result approx_simulator::run(const placement& p) const {
  sim_result r;
  run_into(p, r);
  return r;
}

sim_result approx_simulator::run(const placement_with_replacement& p) const {
  sim_result r;
  run_into(p, r);
  return r;
}

void approx_simulator::run_into(const placement& p, sim_result& out) const {
  run_segments({{&p, 0, num_requests()}}, p.num_groups(), out);
}

void approx_simulator::run_into(const placement_with_replacement& p, sim_result& out) const {
  run_segments(segments_of(p), max_groups(p), out);
}

sim_summary approx_simulator::run_summary(const placement& p) const {
  return summarize_segments({{&p, 0, num_requests()}}, p.num_groups());
}

sim_summary approx_simulator::run_summary(const placement_with_replacement& p) const {
  return summarize_segments(segments_of(p), max_groups(p));
}

// ---- batching kernel (simulate_requests_mixed_batching) ----------------------------------------

namespace {

class batching_run {
 public:
  batching_run(const placement& p, const std::vector<model_data>& models,
               const std::vector<float>& model_slo, const double* arrivals, const int32_t* model_of,
               size_t n, sim_result& out)
      : arrivals_(arrivals),
        model_of_(model_of),
        num_requests_(n),
        model_slo_(model_slo),
        out_(out),
        num_models_(models.size()),
        num_groups_(p.num_groups()) {
    hosts_ = groups_of_models(p, num_models_);
    // g_id2m_id: models ascending, each once per listing.
    group_models_.resize(num_groups_);
    for (size_t m = 0; m < num_models_; ++m)
      for (int32_t g : hosts_[m]) group_models_[g].push_back(static_cast<int32_t>(m));
    for (const auto& c : p.group_configs) {
      first_clock_.push_back(num_clocks_);
      stages_.push_back(c.pp);
      num_clocks_ += c.pp;
      max_stages_ = std::max(max_stages_, c.pp);
    }
    // Dense over every (model, group) pair, hosted or not, like the reference's table.
    lat_offset_.resize(num_models_ * num_groups_);
    for (size_t m = 0; m < num_models_; ++m) {
      for (size_t g = 0; g < num_groups_; ++g) {
        const parallel_config& c = p.group_configs[g];
        const config_profile* prof = models[m].profile.find(c);
        lat_offset_[m * num_groups_ + g] = lat_.size();
        for (int k = 0; k < c.pp; ++k)
          for (int slot = 0; slot < num_batch_slots; ++slot)
            lat_.push_back(penalized_latency(prof, 1 << slot, k));
      }
    }
    clocks_.assign(static_cast<size_t>(num_clocks_), 0.0);
    tmp_.assign(static_cast<size_t>(std::max(max_stages_, 1)), 0.0);
    idle_.assign(num_groups_, 0.0);
    queues_.resize(num_models_);
    out_.finish.assign(n, 0.0);
    out_.good.assign(n, 0);
    out_.group_num_requests.assign(num_groups_, 0);
    out_.model_num_requests.assign(num_models_, 0);
    out_.model_num_good.assign(num_models_, 0);
  }

  void run() {
    for (size_t i = 0; i < num_requests_; ++i) {
      const double a = arrivals_[i];
      while (!events_.empty() && events_.top().first <= a) {
        const auto [idle_time, g] = events_.top();
        events_.pop();
        const int32_t m = select_model(g);
        if (m == -1) break;  // reference quirk: stops handling idle events for this arrival
        serve(idle_time, m, g);
      }
      const int32_t m = model_of_[i];
      if (m < 0 || hosts_[m].empty()) {
        reject(i);
        continue;
      }
      int32_t g = -1;
      double best = approx_simulator::reference_inf;
      for (int32_t h : hosts_[m]) {
        const double v = clocks_[first_clock_[h] + stages_[h] - 1];
        if (v < best) {
          best = v;
          g = h;
        }
      }
      // Only reachable with infinite clocks; Python's index -1 means the last group.
      if (g < 0) g = static_cast<int32_t>(num_groups_) - 1;
      queues_[m].push_back(static_cast<int64_t>(i));
      ++out_.model_num_requests[m];
      if (a >= idle_[g]) serve(a, m, g);
    }
    while (!events_.empty()) {
      const auto [idle_time, g] = events_.top();
      events_.pop();
      const int32_t m = select_model(g);
      if (m == -1) continue;
      serve(idle_time, m, g);
    }
    // The reference asserts every queue is empty here; should one not be (arrivals before 0),
    // its requests count as rejected.
    for (auto& q : queues_)
      for (int64_t r : q) reject(static_cast<size_t>(r));
  }

 private:
  const float* latency(int32_t m, int32_t g) const {
    return lat_.data() + lat_offset_[static_cast<size_t>(m) * num_groups_ + g];
  }

  void reject(size_t i) {
    out_.finish[i] = arrivals_[i];
    out_.good[i] = 0;
  }

  // The model on g whose queue head arrived first (strict <, ties -> lowest model id).
  int32_t select_model(int32_t g) const {
    double min_arrival = approx_simulator::reference_inf;
    int32_t selected = -1;
    for (int32_t m : group_models_[g]) {
      if (!queues_[m].empty() && arrivals_[queues_[m].front()] < min_arrival) {
        min_arrival = arrivals_[queues_[m].front()];
        selected = m;
      }
    }
    return selected;
  }

  bool meets_deadline(double t, int32_t g, const float* lat, int slot, double deadline) const {
    const double* d = clocks_.data() + first_clock_[g];
    for (int32_t k = 0; k < stages_[g]; ++k)
      t = std::max(d[k], t) + static_cast<double>(lat[k * num_batch_slots + slot]);
    return t + approx_simulator::fixed_overhead <= deadline;
  }

  // Pops infeasible heads (rejected on g), then grows the batch of the first feasible head.
  void take_batch(double t, int32_t m, int32_t g, std::vector<int64_t>& batch) {
    batch.clear();
    auto& q = queues_[m];
    const float* lat = latency(m, g);
    while (!q.empty()) {
      const int64_t head = q.front();
      q.pop_front();
      const double deadline = arrivals_[head] + static_cast<double>(model_slo_[m]);
      if (meets_deadline(t, g, lat, 0, deadline)) {
        batch.push_back(head);
        break;
      }
      ++out_.group_num_requests[g];
      reject(static_cast<size_t>(head));
    }
    if (batch.empty()) return;
    const double deadline = arrivals_[batch[0]] + static_cast<double>(model_slo_[m]);
    size_t chosen = 1;
    for (int slot = 1; slot < num_batch_slots; ++slot) {
      const size_t bs = size_t{1} << slot;
      if (bs - 1 > q.size()) break;  // no padding
      if (!meets_deadline(t, g, lat, slot, deadline)) break;
      chosen = bs;
    }
    for (size_t j = 1; j < chosen; ++j) {
      batch.push_back(q.front());
      q.pop_front();
    }
  }

  // handle_batched_requests: when every queued request of m is infeasible, the next model with
  // the earliest head is tried (the reference recurses; this loops).
  void serve(double t, int32_t m, int32_t g) {
    for (;;) {
      take_batch(t, m, g, batch_);
      if (!batch_.empty()) break;
      m = select_model(g);
      if (m == -1) return;
    }
    const size_t bs = batch_.size();
    int slot = 0;
    while ((size_t{1} << slot) < bs) ++slot;
    const float* lat = latency(m, g);
    double* d = clocks_.data() + first_clock_[g];
    double finish = t + approx_simulator::fixed_overhead;
    for (int32_t k = 0; k < stages_[g]; ++k) {
      finish = std::max(finish, d[k]) + static_cast<double>(lat[k * num_batch_slots + slot]);
      tmp_[k] = finish;
    }
    for (int64_t r : batch_) {
      out_.finish[r] = finish;
      out_.good[r] = 1;
    }
    for (int32_t k = 0; k < stages_[g]; ++k) d[k] = tmp_[k];
    idle_[g] = tmp_[0];
    events_.emplace(tmp_[0], g);
    out_.group_num_requests[g] += static_cast<int64_t>(bs);
    out_.model_num_good[m] += static_cast<int64_t>(bs);
  }

  const double* arrivals_;
  const int32_t* model_of_;
  size_t num_requests_;
  const std::vector<float>& model_slo_;
  sim_result& out_;
  size_t num_models_;
  size_t num_groups_;
  std::vector<std::vector<int32_t>> hosts_;         // m_id2g_id
  std::vector<std::vector<int32_t>> group_models_;  // g_id2m_id
  std::vector<int32_t> first_clock_;
  std::vector<int32_t> stages_;
  int32_t num_clocks_ = 0;
  int32_t max_stages_ = 0;
  std::vector<size_t> lat_offset_;  // (m, g) -> [stage][slot] block in lat_
  std::vector<float> lat_;
  std::vector<double> clocks_;  // D[g][k]
  std::vector<double> tmp_;
  std::vector<double> idle_;                 // when stage 0 of g becomes free
  std::vector<std::deque<int64_t>> queues_;  // per model FIFO, shared by its groups
  // (idle time, group), smallest first; ties by group id as Python's tuple heap.
  std::priority_queue<std::pair<double, int32_t>, std::vector<std::pair<double, int32_t>>,
                      std::greater<>>
      events_;
  std::vector<int64_t> batch_;
};

}  // namespace

sim_result approx_simulator::run_batching(const placement& p) const {
  sim_result r;
  batching_run run(p, models_, model_slo_, workload_->arrivals.data(), request_model_.data(),
                   num_requests(), r);
  run.run();
  return r;
}

}  // namespace alpaserve::planner
