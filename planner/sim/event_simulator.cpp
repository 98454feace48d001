#include "planner/sim/event_simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_map>

namespace alpaserve::planner {

std::string_view to_string(request_verdict v) noexcept {
  switch (v) {
    case request_verdict::good:
      return "good";
    case request_verdict::late:
      return "late";
    case request_verdict::rejected_slo:
      return "rejected_slo";
    case request_verdict::rejected_unknown:
      return "rejected_unknown";
    case request_verdict::rejected_overloaded:
      return "rejected_overloaded";
  }
  return "unknown";
}

namespace {

// Per (model, group): the profiled per-stage latency at each batch size (nullptr = unprofiled).
using route_costs = batch_latency_table;

// 32 bytes: a stage of a group finishes a batch of `count` consecutive admitted requests starting
// at ring position `pos` (kind stage_end), or one admitted request reaches stage 0 (kind arrive).
struct event {
  double time;
  uint64_t seq;  // scheduling order: equal times pop first-scheduled first
  uint32_t pos;
  float service;  // the stage time this batch really took (for the mirror's correction)
  uint16_t group;
  uint16_t count;
  uint8_t stage;
  uint8_t kind;
};
enum : uint8_t { kind_arrive_stage0 = 0, kind_stage_end = 1 };

struct later {
  bool operator()(const event& a, const event& b) const noexcept {
    return a.time > b.time || (a.time == b.time && a.seq > b.seq);
  }
};

// Requests admitted to one group, in admission order (= stage-0 FIFO order), in a ring that holds
// the ones not yet finished. Positions are absolute counters; pos & mask is the slot.
struct group_state {
  std::vector<uint32_t> ring;  // request ids
  uint32_t mask = 0;
  uint32_t admitted = 0;  // next position to fill
  uint32_t ready = 0;     // positions < ready have reached stage 0
  uint32_t started = 0;   // positions < started have entered stage 0
  uint32_t done = 0;      // positions < done have left the last stage
  bool stage0_busy = false;
  int num_stages = 0;
  std::vector<double> real_free;  // when each real stage server is free (stage 0: no batching)

  void push(uint32_t request) {
    if (admitted - done == ring.size()) grow();
    ring[admitted & mask] = request;
    ++admitted;
  }
  [[nodiscard]] uint32_t at(uint32_t pos) const noexcept { return ring[pos & mask]; }

 private:
  void grow() {
    std::vector<uint32_t> bigger(ring.empty() ? 64 : ring.size() * 2);
    const uint32_t new_mask = static_cast<uint32_t>(bigger.size() - 1);
    for (uint32_t p = done; p != admitted; ++p) bigger[p & new_mask] = ring[p & mask];
    ring.swap(bigger);
    mask = new_mask;
  }
};

class simulation {
 public:
  simulation(const std::vector<model_data>& models, const placement& p, const workload& w,
             const event_sim_options& o)
      : models_(models), w_(w), o_(o), rng_(o.seed) {
    const size_t num_groups = p.num_groups();
    const size_t num_models = models.size();
    routes_.resize(num_models * num_groups);
    candidates_.resize(num_models);
    mirrors_.reserve(num_groups);
    groups_.resize(num_groups);
    for (size_t g = 0; g < num_groups; ++g) {
      const parallel_config& c = p.group_configs[g];
      mirrors_.emplace_back(c.pp);
      groups_[g].num_stages = c.pp;
      groups_[g].real_free.assign(static_cast<size_t>(c.pp), 0.0);
      for (int m : p.group_models[g]) {
        if (m < 0 || static_cast<size_t>(m) >= num_models)
          throw std::invalid_argument("placement group " + std::to_string(g) + " names model id " +
                                      std::to_string(m) + " of " + std::to_string(num_models));
        const config_profile* prof = models[m].profile.find(c);
        if (prof == nullptr || prof->latency.count(1) == 0) continue;  // not a route
        route_costs& rc = routes_[m * num_groups + g];
        for (int s = 0; s < num_batch_slots; ++s) {
          auto it = prof->latency.find(supported_batch_sizes[s]);
          if (it == prof->latency.end()) continue;
          if (static_cast<int>(it->second.size()) != c.pp)
            throw std::invalid_argument("model " + models[m].name + " config " + c.to_string() +
                                        " has " + std::to_string(it->second.size()) +
                                        " stage latencies, expected " + std::to_string(c.pp));
          rc.by_slot[static_cast<size_t>(s)] = &it->second;
        }
        dispatch_candidate cand{static_cast<int>(g), rc.by_slot[0]};
        if (o.max_batch_size > 1 && o.batch_admission) {  // predict the batch it will join
          cand.batches = &rc;
          cand.max_batch = max_batch_of(m);
          cand.model = m;
        }
        candidates_[m].push_back(cand);
      }
    }
    num_groups_ = num_groups;
    scratch_.reserve(num_groups);

    std::unordered_map<std::string, int> by_name;
    for (size_t m = 0; m < num_models; ++m) by_name.emplace(models[m].name, static_cast<int>(m));
    name_to_model_.reserve(w.model_names.size());
    for (const std::string& n : w.model_names) {
      auto it = by_name.find(n);
      name_to_model_.push_back(it == by_name.end() ? -1 : it->second);
    }
    if (o.jitter_cv > 0) {
      const double sigma2 = std::log1p(o.jitter_cv * o.jitter_cv);
      jitter_sigma_ = std::sqrt(sigma2);
      jitter_mu_ = -0.5 * sigma2;
    }
  }

  event_sim_result run() {
    const size_t n = w_.size();
    event_sim_result r;
    r.finish.assign(n, 0.0);
    r.group.assign(n, -1);
    r.verdict.assign(n, request_verdict::rejected_unknown);
    r.batch_size.assign(n, 0);
    result_ = &r;
    r.stage_busy_s.resize(num_groups_);
    for (size_t g = 0; g < num_groups_; ++g)
      r.stage_busy_s[g].assign(static_cast<size_t>(groups_[g].num_stages), 0.0);
    heap_.reserve(1024);

    size_t next = 0;  // next request to reach the dispatcher
    double last = n > 0 ? w_.arrivals[0] : 0.0;
    while (next < n || !heap_.empty()) {
      // Arrivals are scheduled before anything they cause, so at equal times they go first.
      if (next < n) {
        const double t = w_.arrivals[next] + o_.client_to_dispatcher_s;
        if (heap_.empty() || t <= heap_.front().time) {
          dispatch(static_cast<uint32_t>(next), t);
          ++next;
          continue;
        }
      }
      std::pop_heap(heap_.begin(), heap_.end(), later{});
      const event e = heap_.back();
      heap_.pop_back();
      ++r.num_events;
      if (e.kind == kind_arrive_stage0) {
        group_state& gs = groups_[e.group];
        ++gs.ready;
        if (!gs.stage0_busy) start_stage0(e.group, e.time);
      } else {
        stage_end(e);
      }
    }
    for (size_t i = 0; i < n; ++i) last = std::max(last, r.finish[i]);
    r.first_arrival = n > 0 ? w_.arrivals[0] : 0.0;
    r.last_finish = last;
    return r;
  }

 private:
  void schedule(double time, uint8_t kind, uint16_t group, uint8_t stage, uint32_t pos,
                uint16_t count, double service) {
    heap_.push_back(
        event{time, seq_++, pos, static_cast<float>(service), group, count, stage, kind});
    std::push_heap(heap_.begin(), heap_.end(), later{});
  }

  double real_time(double profiled) {
    double t = profiled * o_.service_scale;
    if (jitter_sigma_ > 0) t *= std::exp(jitter_mu_ + jitter_sigma_ * normal_(rng_));
    return t;
  }

  [[nodiscard]] int model_of(uint32_t request) const noexcept {
    return name_to_model_[static_cast<size_t>(w_.model[request])];
  }
  [[nodiscard]] int max_batch_of(int m) const noexcept {
    const auto& caps = o_.model_max_batch_size;
    const int cap = static_cast<size_t>(m) < caps.size() ? caps[static_cast<size_t>(m)] : 0;
    return cap > 0 ? std::min(cap, o_.max_batch_size) : o_.max_batch_size;
  }
  [[nodiscard]] double deadline_of(uint32_t request, int m) const noexcept {
    return w_.arrivals[request] + models_[m].slo;
  }

  void dispatch(uint32_t i, double now) {
    event_sim_result& r = *result_;
    const int m = model_of(i);
    if (m < 0 || candidates_[m].empty()) {
      r.verdict[i] = request_verdict::rejected_unknown;
      r.finish[i] = now + o_.client_to_dispatcher_s;
      return;
    }
    const dispatch_candidate* cands = candidates_[m].data();
    size_t count = candidates_[m].size();
    if (o_.max_queue_per_group > 0) {
      drop_full_groups(
          cands, count, o_.max_queue_per_group,
          [this](int g) { return static_cast<int>(groups_[g].admitted - groups_[g].done); },
          scratch_);
      if (scratch_.empty()) {
        r.verdict[i] = request_verdict::rejected_overloaded;
        r.finish[i] = now + o_.client_to_dispatcher_s;
        return;
      }
      cands = scratch_.data();
      count = scratch_.size();
    }
    const dispatch_decision d =
        admit_or_reject(now, deadline_of(i, m), cands, count, mirrors_, o_.overheads, o_.strategy);
    r.group[i] = d.group;
    if (d.verdict != dispatch_verdict::admitted) {
      r.verdict[i] = request_verdict::rejected_slo;
      r.finish[i] = now + o_.client_to_dispatcher_s;
      return;
    }
    group_state& gs = groups_[d.group];
    gs.push(i);
    const double ready = now + o_.overheads.before_first_stage;
    if (o_.max_batch_size > 1) {
      schedule(ready, kind_arrive_stage0, static_cast<uint16_t>(d.group), 0, 0, 0, 0.0);
      return;
    }
    // Without batching stage 0 is a plain FCFS server fed in dispatch order (every request pays
    // the same overhead to reach it), so its start is known now: no arrival event needed.
    const route_costs& rc = routes_[static_cast<size_t>(m) * num_groups_ + d.group];
    double& free_at = gs.real_free[0];
    const double start = std::max(ready, free_at);
    const double service = real_time((*rc.by_slot[0])[0]);
    free_at = start + service;
    result_->stage_busy_s[d.group][0] += service;
    schedule(free_at, kind_stage_end, static_cast<uint16_t>(d.group), 0, gs.started, 1, service);
    ++gs.ready;
    ++gs.started;
  }

  // Stage 0 is free at `now` and requests wait: start the next batch (FIFO head first).
  void start_stage0(int g, double now) {
    group_state& gs = groups_[g];
    if (gs.started == gs.ready) return;
    const uint32_t head = gs.at(gs.started);
    const int m = model_of(head);
    const route_costs& rc = routes_[static_cast<size_t>(m) * num_groups_ + g];
    int count = 1;
    if (o_.max_batch_size > 1) {
      // The shared rule (planner/sim/batch_rule.hpp): the run of same-model requests directly
      // behind the head that have already arrived, then the largest profiled size that still lets
      // the head (earliest deadline) finish in time.
      const int run = fcfs_run(gs.ready - gs.started, max_batch_of(m), [&](size_t i) {
        return model_of(gs.at(gs.started + static_cast<uint32_t>(i))) == m;
      });
      count = choose_batch_size(now, run, deadline_of(head, m), rc, o_.overheads);
    }
    const double service = real_time((*rc.by_slot[static_cast<size_t>(batch_slot(count))])[0]);
    result_->stage_busy_s[g][0] += service;
    gs.stage0_busy = true;
    schedule(now + service, kind_stage_end, static_cast<uint16_t>(g), 0, gs.started,
             static_cast<uint16_t>(count), service);
    gs.started += static_cast<uint32_t>(count);
  }

  void stage_end(const event& e) {
    const int g = e.group;
    const int k = e.stage;
    group_state& gs = groups_[g];
    const int m = model_of(gs.at(e.pos));
    const route_costs& rc = routes_[static_cast<size_t>(m) * num_groups_ + g];
    const std::vector<double>& lat = *rc.by_slot[static_cast<size_t>(batch_slot(e.count))];
    if (o_.feedback) observe_stage_end(mirrors_[g], k, e.time, e.service, lat[k]);

    if (k == 0 && o_.max_batch_size > 1) {
      gs.stage0_busy = false;
      start_stage0(g, e.time);
    }
    if (k + 1 < gs.num_stages) {
      // Stage k+1 is fed only by stage k, whose ends pop in FCFS order: its start is known now.
      const double arrive = e.time + o_.overheads.per_stage_hop;
      double& free_at = gs.real_free[static_cast<size_t>(k + 1)];
      const double start = std::max(arrive, free_at);
      const double service = real_time(lat[k + 1]);
      free_at = start + service;
      result_->stage_busy_s[g][k + 1] += service;
      schedule(free_at, kind_stage_end, e.group, static_cast<uint8_t>(k + 1), e.pos, e.count,
               service);
      return;
    }
    event_sim_result& r = *result_;
    const double finish = e.time + o_.overheads.after_last_stage;
    for (uint32_t p = e.pos; p != e.pos + e.count; ++p) {
      const uint32_t i = gs.at(p);
      r.finish[i] = finish;
      r.batch_size[i] = e.count;
      r.verdict[i] = finish <= deadline_of(i, m) ? request_verdict::good : request_verdict::late;
    }
    gs.done += e.count;
  }

  const std::vector<model_data>& models_;
  const workload& w_;
  const event_sim_options& o_;
  size_t num_groups_ = 0;
  std::vector<route_costs> routes_;                          // [model * num_groups + group]
  std::vector<std::vector<dispatch_candidate>> candidates_;  // per model, ascending group
  std::vector<dispatch_candidate> scratch_;                  // eligible groups under the cap
  std::vector<group_clock> mirrors_;                         // the dispatcher's view
  std::vector<group_state> groups_;                          // the real groups
  std::vector<int> name_to_model_;                           // workload name -> model id
  std::vector<event> heap_;
  uint64_t seq_ = 0;
  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_;
  double jitter_mu_ = 0, jitter_sigma_ = 0;
  event_sim_result* result_ = nullptr;
};

// summarize_latencies' figures (same order statistics sorted[min(n-1, int(q*n))]) by selection
// instead of a full sort: a summary of millions of requests stays a small part of a run.
latency_summary latency_figures(std::vector<double>& values) {
  latency_summary s;
  const size_t n = values.size();
  if (n == 0) return s;
  s.count = n;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(n);
  double sq = 0;
  for (double v : values) sq += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(sq / static_cast<double>(n));
  const double qs[] = {0.5, 0.9, 0.99, 0.999};
  double* out[] = {&s.p50, &s.p90, &s.p99, &s.p999};
  auto from = values.begin();
  for (int q = 0; q < 4; ++q) {
    const size_t idx = std::min(n - 1, static_cast<size_t>(qs[q] * static_cast<double>(n)));
    auto nth = values.begin() + static_cast<std::ptrdiff_t>(idx);
    std::nth_element(from, nth, values.end());  // increasing quantiles: only the right part
    from = nth;
    *out[q] = *nth;
  }
  s.max = *std::max_element(from, values.end());
  return s;
}

}  // namespace

event_sim_result simulate_events(const std::vector<model_data>& models, const placement& p,
                                 const workload& w, const event_sim_options& options) {
  if (options.max_batch_size < 1) throw std::invalid_argument("max_batch_size must be >= 1");
  if (options.max_queue_per_group < 0)
    throw std::invalid_argument("max_queue_per_group must be >= 0");
  if (w.model.size() != w.arrivals.size())
    throw std::invalid_argument("workload arrays differ in length");
  if (p.group_models.size() != p.group_configs.size())
    throw std::invalid_argument("placement has configs and model lists of different lengths");
  if (p.num_groups() > 65535) throw std::invalid_argument("more than 65535 groups");
  for (size_t i = 1; i < w.arrivals.size(); ++i)
    if (w.arrivals[i] < w.arrivals[i - 1])
      throw std::invalid_argument("workload arrivals are not sorted at request " +
                                  std::to_string(i));
  for (int32_t id : w.model)
    if (id < 0 || static_cast<size_t>(id) >= w.model_names.size())
      throw std::invalid_argument("workload names model index " + std::to_string(id));
  simulation sim(models, p, w, options);
  return sim.run();
}

event_sim_result simulate_events(const std::vector<model_data>& models,
                                 const placement_with_replacement& schedule, const workload& w,
                                 const event_sim_options& options) {
  if (const auto problems = schedule_problems(schedule); !problems.empty())
    throw std::invalid_argument(problems.front());
  if (w.model.size() != w.arrivals.size())
    throw std::invalid_argument("workload arrays differ in length");
  // Arrivals are sorted (simulate_events checks each slice and the order across them is kept):
  // the windows' requests are consecutive runs.
  const size_t n = w.size();
  event_sim_result r;
  r.finish.reserve(n);
  r.group.reserve(n);
  r.verdict.reserve(n);
  r.batch_size.reserve(n);
  r.first_arrival = n > 0 ? w.arrivals[0] : 0.0;
  size_t begin = 0;
  int32_t first_group = 0;
  for (size_t s = 0; s < schedule.placements.size(); ++s) {
    size_t end = begin;
    while (end < n &&
           window_at(schedule.start_times, w.arrivals[end] + options.window_clock_offset_s) <= s)
      ++end;
    workload slice;
    slice.model_names = w.model_names;
    slice.arrivals.assign(w.arrivals.begin() + static_cast<std::ptrdiff_t>(begin),
                          w.arrivals.begin() + static_cast<std::ptrdiff_t>(end));
    slice.model.assign(w.model.begin() + static_cast<std::ptrdiff_t>(begin),
                       w.model.begin() + static_cast<std::ptrdiff_t>(end));
    event_sim_options o = options;
    o.seed = options.seed + s;
    const placement& p = schedule.placements[s];
    event_sim_result part = simulate_events(models, p, slice, o);
    r.window_first_group.push_back(first_group);
    r.finish.insert(r.finish.end(), part.finish.begin(), part.finish.end());
    for (int32_t g : part.group) r.group.push_back(g < 0 ? g : g + first_group);
    r.verdict.insert(r.verdict.end(), part.verdict.begin(), part.verdict.end());
    r.batch_size.insert(r.batch_size.end(), part.batch_size.begin(), part.batch_size.end());
    for (auto& busy : part.stage_busy_s) r.stage_busy_s.push_back(std::move(busy));
    if (!slice.empty()) r.last_finish = std::max(r.last_finish, part.last_finish);
    r.num_events += part.num_events;
    first_group += static_cast<int32_t>(p.num_groups());
    begin = end;
  }
  if (begin != n) throw std::logic_error("segmented simulation left requests out");
  return r;
}

std::vector<window_summary> summarize_windows(const std::vector<double>& starts, const workload& w,
                                              const event_sim_result& r,
                                              const counted_requests& counted,
                                              double window_clock_offset_s) {
  const size_t windows = std::max<size_t>(starts.size(), 1);
  std::vector<window_summary> out(windows);
  for (size_t s = 0; s < windows; ++s) {
    out[s].window = s;
    out[s].from = s == 0 || starts.empty() ? -std::numeric_limits<double>::infinity()
                                           : starts[s] - window_clock_offset_s;
    out[s].to = s + 1 < starts.size() ? starts[s + 1] - window_clock_offset_s
                                      : std::numeric_limits<double>::infinity();
  }
  const size_t n = w.size();
  const double first = n > 0 ? w.arrivals[0] : 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (i < counted.skip_each_end || i + counted.skip_each_end >= n) continue;
    if (w.arrivals[i] < first + counted.warmup_s) continue;
    auto& ws = out[window_at(starts, w.arrivals[i] + window_clock_offset_s)];
    ++ws.total;
    const request_verdict v = r.verdict.at(i);
    if (v == request_verdict::good)
      ++ws.good;
    else if (v == request_verdict::late)
      ++ws.late;
    else
      ++ws.rejected;
  }
  for (auto& ws : out)
    ws.attainment =
        ws.total == 0 ? 0 : static_cast<double>(ws.good) / static_cast<double>(ws.total);
  return out;
}

event_sim_summary summarize(const std::vector<model_data>& models, const workload& w,
                            const event_sim_result& r, const counted_requests& counted) {
  event_sim_summary s;
  const size_t n = w.size();
  s.makespan = n > 0 ? r.last_finish - r.first_arrival : 0.0;
  s.utilization = r.stage_busy_s;
  for (auto& stages : s.utilization)
    for (double& u : stages) u = s.makespan > 0 ? u / s.makespan : 0.0;
  s.group_requests.assign(r.stage_busy_s.size(), 0);
  for (int32_t g : r.group)
    if (g >= 0 && static_cast<size_t>(g) < s.group_requests.size())
      ++s.group_requests[static_cast<size_t>(g)];

  std::unordered_map<std::string, int> by_name;
  for (size_t m = 0; m < models.size(); ++m) by_name.emplace(models[m].name, static_cast<int>(m));
  std::vector<int> name_to_model;
  for (const std::string& name : w.model_names) {
    auto it = by_name.find(name);
    name_to_model.push_back(it == by_name.end() ? -1 : it->second);
  }
  s.per_model.resize(models.size());
  for (size_t m = 0; m < models.size(); ++m) s.per_model[m].name = models[m].name;

  const double from = n > 0 ? w.arrivals[0] + counted.warmup_s : 0.0;
  const size_t end = n > counted.skip_each_end ? n - counted.skip_each_end : 0;
  std::vector<double> all;
  std::vector<std::vector<double>> per_model(models.size());
  all.reserve(n);
  for (size_t i = counted.skip_each_end; i < end; ++i) {
    if (w.arrivals[i] < from) continue;
    ++s.total;
    const request_verdict v = r.verdict[i];
    ++s.by_verdict[static_cast<int>(v)];
    const int m = name_to_model[static_cast<size_t>(w.model[i])];
    model_summary* ms = m >= 0 ? &s.per_model[static_cast<size_t>(m)] : nullptr;
    if (ms != nullptr) {
      ++ms->total;
      if (v == request_verdict::good)
        ++ms->good;
      else if (v == request_verdict::late)
        ++ms->late;
      else
        ++ms->rejected;
    }
    if (is_served(v)) {
      const double latency = r.finish[i] - w.arrivals[i];
      all.push_back(latency);
      if (m >= 0) per_model[static_cast<size_t>(m)].push_back(latency);
    }
  }
  const size_t good = s.by_verdict[static_cast<int>(request_verdict::good)];
  s.attainment = s.total > 0 ? static_cast<double>(good) / static_cast<double>(s.total) : 0.0;
  s.latency = latency_figures(all);
  for (size_t m = 0; m < models.size(); ++m) {
    model_summary& ms = s.per_model[m];
    ms.attainment = ms.total > 0 ? static_cast<double>(ms.good) / static_cast<double>(ms.total) : 0;
    ms.latency = latency_figures(per_model[m]);
  }
  return s;
}

}  // namespace alpaserve::planner
