#include "planner/sim/dispatch_rule.hpp"

#include <algorithm>
#include <limits>

namespace alpaserve::planner {

std::string_view to_string(dispatch_verdict v) noexcept {
  switch (v) {
    case dispatch_verdict::admitted:
      return "admitted";
    case dispatch_verdict::no_replica:
      return "no_replica";
    case dispatch_verdict::slo_unattainable:
      return "slo_unattainable";
  }
  return "unknown";
}

batch_latency_table batch_latency_table::of(const config_profile* profile) noexcept {
  batch_latency_table t;
  if (profile == nullptr) return t;
  for (int s = 0; s < num_batch_slots; ++s) {
    auto it = profile->latency.find(supported_batch_sizes[s]);
    if (it != profile->latency.end()) t.by_slot[static_cast<size_t>(s)] = &it->second;
  }
  return t;
}

int batch_latency_table::largest_size() const noexcept {
  for (int s = num_batch_slots; s-- > 0;)
    if (by_slot[static_cast<size_t>(s)] != nullptr) return supported_batch_sizes[s];
  return 0;
}

int batch_slot(int bs) noexcept {
  int slot = 0;
  while (slot + 1 < num_batch_slots && supported_batch_sizes[slot + 1] <= bs) ++slot;
  return slot;
}

const std::vector<double>* batch_latency_table::at_least(int bs) const noexcept {
  for (int s = 0; s < num_batch_slots; ++s)
    if (supported_batch_sizes[s] >= bs && by_slot[static_cast<size_t>(s)] != nullptr)
      return by_slot[static_cast<size_t>(s)];
  return nullptr;
}

int batch_latency_table::largest_paying_size() const noexcept {
  for (int s = num_batch_slots; s-- > 0;)
    if (by_slot[static_cast<size_t>(s)] != nullptr && pays(s)) return supported_batch_sizes[s];
  return 0;
}

int batch_latency_table::slot_at_least(int bs) const noexcept {
  for (int s = 0; s < num_batch_slots; ++s)
    if (supported_batch_sizes[s] >= bs && by_slot[static_cast<size_t>(s)] != nullptr) return s;
  return -1;
}

bool batch_latency_table::pays(int slot) const noexcept {
  if (slot <= 0 || slot >= num_batch_slots) return true;
  const std::vector<double>* b = by_slot[static_cast<size_t>(slot)];
  const std::vector<double>* one = by_slot[0];
  if (b == nullptr || one == nullptr) return true;
  return batch_no_later(*b, *one, supported_batch_sizes[slot]);
}

bool batch_no_later(const std::vector<double>& batch_latency,
                    const std::vector<double>& single_latency, int size) noexcept {
  if (size <= 1 || batch_latency.empty() || batch_latency.size() != single_latency.size())
    return true;
  double batch_end = 0, single_end = 0, single_max = 0;
  for (size_t k = 0; k < batch_latency.size(); ++k) {
    batch_end += batch_latency[k];
    single_end += single_latency[k];
    single_max = std::max(single_max, single_latency[k]);
    const double one_by_one = single_end + static_cast<double>(size - 1) * single_max;
    if (batch_end > one_by_one * (1 + 1e-12)) return false;
  }
  return true;
}

double predict_finish(double now, const group_clock& clock,
                      const std::vector<double>& stage_latency,
                      const dispatch_overheads& overheads) noexcept {
  double t = now + overheads.before_first_stage;
  const int n = clock.num_stages();
  for (int k = 0; k < n; ++k) {
    if (k > 0) t += overheads.per_stage_hop;
    t = std::max(t, clock.free_at[k]) + stage_latency[k] * clock.latency_scale[k];
  }
  return t + overheads.after_last_stage;
}

dispatch_decision choose_group(double now, double deadline, const dispatch_candidate* candidates,
                               size_t count, const std::vector<group_clock>& clocks,
                               const dispatch_overheads& overheads,
                               dispatch_strategy strategy) noexcept {
  dispatch_decision best;
  if (count == 0) return best;
  double best_key = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < count; ++i) {
    const group_clock& clock = clocks[candidates[i].group];
    const double join = predict_join(now, deadline, clock, candidates[i], overheads);
    const double finish =
        join >= 0 ? join : predict_finish(now, clock, *candidates[i].stage_latency, overheads);
    const double key =
        strategy == dispatch_strategy::min_last_stage_clock ? clock.free_at.back() : finish;
    if (best.group < 0 || key < best_key) {  // strict: ties keep the earliest candidate
      best_key = key;
      best.group = candidates[i].group;
      best.predicted_finish = finish;
    }
  }
  best.verdict = best.predicted_finish <= deadline ? dispatch_verdict::admitted
                                                   : dispatch_verdict::slo_unattainable;
  return best;
}

void commit_request(double now, group_clock& clock, const std::vector<double>& stage_latency,
                    const dispatch_overheads& overheads, double* stage_ends) noexcept {
  double t = now + overheads.before_first_stage;
  const int n = clock.num_stages();
  for (int k = 0; k < n; ++k) {
    if (k > 0) t += overheads.per_stage_hop;
    t = std::max(t, clock.free_at[k]) + stage_latency[k] * clock.latency_scale[k];
    clock.free_at[k] = t;
    if (stage_ends != nullptr) stage_ends[k] = t;
  }
}

double predict_join(double now, double deadline, const group_clock& clock,
                    const dispatch_candidate& c, const dispatch_overheads& overheads) noexcept {
  if (c.batches == nullptr || c.max_batch <= 1 || c.model < 0 || clock.tail_model != c.model)
    return -1;
  if (clock.tail_count >= c.max_batch || clock.tail_start <= now + overheads.before_first_stage)
    return -1;
  const int slot = c.batches->slot_at_least(clock.tail_count + 1);
  if (slot < 0 || !c.batches->pays(slot)) return -1;
  const std::vector<double>* lat = c.batches->by_slot[static_cast<size_t>(slot)];
  const int n = clock.num_stages();
  if (lat == nullptr || static_cast<int>(lat->size()) != n ||
      static_cast<int>(clock.tail_before.size()) != n)
    return -1;
  double t = clock.tail_start;
  for (int k = 0; k < n; ++k) {
    if (k > 0) t = std::max(t + overheads.per_stage_hop, clock.tail_before[k]);
    t += (*lat)[k] * clock.latency_scale[k];
  }
  t += overheads.after_last_stage;
  return t <= std::min(deadline, clock.tail_deadline) ? t : -1;
}

dispatch_decision admit_or_reject(double now, double deadline, const dispatch_candidate* candidates,
                                  size_t count, std::vector<group_clock>& clocks,
                                  const dispatch_overheads& overheads,
                                  dispatch_strategy strategy) noexcept {
  dispatch_decision d = choose_group(now, deadline, candidates, count, clocks, overheads, strategy);
  if (d.verdict != dispatch_verdict::admitted) return d;
  for (size_t i = 0; i < count; ++i) {
    const dispatch_candidate& c = candidates[i];
    if (c.group != d.group) continue;
    group_clock& clock = clocks[d.group];
    if (predict_join(now, deadline, clock, c, overheads) >= 0) {  // re-time the tail batch
      const std::vector<double>& lat = *c.batches->at_least(clock.tail_count + 1);
      double t = clock.tail_start;
      for (int k = 0; k < clock.num_stages(); ++k) {
        if (k > 0) t = std::max(t + overheads.per_stage_hop, clock.tail_before[k]);
        t += lat[k] * clock.latency_scale[k];
        clock.free_at[k] = t;
      }
      ++clock.tail_count;
      clock.tail_deadline = std::min(clock.tail_deadline, deadline);
      break;
    }
    const bool batches = c.batches != nullptr && c.max_batch > 1 && c.model >= 0;
    if (batches) {
      clock.tail_before = clock.free_at;
      clock.tail_start = std::max(now + overheads.before_first_stage, clock.free_at[0]);
    }
    commit_request(now, clock, *c.stage_latency, overheads);
    clock.tail_model = batches ? c.model : -1;
    clock.tail_count = 1;
    clock.tail_deadline = deadline;
    break;
  }
  return d;
}

void observe_stage_end(group_clock& clock, int stage, double actual_end, double measured_seconds,
                       double profiled_seconds, double smoothing) noexcept {
  if (stage < 0 || stage >= clock.num_stages()) return;
  if (actual_end > clock.free_at[stage]) clock.tail_model = -1;  // its prediction is stale
  clock.free_at[stage] = std::max(clock.free_at[stage], actual_end);
  if (profiled_seconds > 0 && measured_seconds > 0) {
    const double ratio = std::clamp(measured_seconds / profiled_seconds, 0.25, 4.0);
    double& s = clock.latency_scale[stage];
    s = std::clamp((1.0 - smoothing) * s + smoothing * ratio, 0.5, 2.0);
  }
}

}  // namespace alpaserve::planner
