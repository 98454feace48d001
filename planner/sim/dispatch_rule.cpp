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
    const double key = strategy == dispatch_strategy::min_last_stage_clock
                           ? clock.free_at.back()
                           : predict_finish(now, clock, *candidates[i].stage_latency, overheads);
    if (best.group < 0 || key < best_key) {  // strict: ties keep the earliest candidate
      best_key = key;
      best.group = candidates[i].group;
      best.predicted_finish =
          strategy == dispatch_strategy::min_last_stage_clock
              ? predict_finish(now, clock, *candidates[i].stage_latency, overheads)
              : key;
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

dispatch_decision admit_or_reject(double now, double deadline, const dispatch_candidate* candidates,
                                  size_t count, std::vector<group_clock>& clocks,
                                  const dispatch_overheads& overheads,
                                  dispatch_strategy strategy) noexcept {
  dispatch_decision d = choose_group(now, deadline, candidates, count, clocks, overheads, strategy);
  if (d.verdict != dispatch_verdict::admitted) return d;
  for (size_t i = 0; i < count; ++i) {
    if (candidates[i].group == d.group) {
      commit_request(now, clocks[d.group], *candidates[i].stage_latency, overheads);
      break;
    }
  }
  return d;
}

void observe_stage_end(group_clock& clock, int stage, double actual_end, double measured_seconds,
                       double profiled_seconds, double smoothing) noexcept {
  if (stage < 0 || stage >= clock.num_stages()) return;
  clock.free_at[stage] = std::max(clock.free_at[stage], actual_end);
  if (profiled_seconds > 0 && measured_seconds > 0) {
    const double ratio = std::clamp(measured_seconds / profiled_seconds, 0.25, 4.0);
    double& s = clock.latency_scale[stage];
    s = std::clamp((1.0 - smoothing) * s + smoothing * ratio, 0.5, 2.0);
  }
}

}  // namespace alpaserve::planner
