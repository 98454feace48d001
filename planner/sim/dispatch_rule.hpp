#pragma once
// The admission and dispatch rule, shared by the runtime's dispatcher actor and the event
// simulator, so that the simulator predicts what the runtime does.
//
// The dispatcher keeps, per group, a mirror of when each pipeline stage becomes free
// (group_clock). For a request it predicts each hosting group's finish time by walking the
// stages (t = max(t, free_at[k]) + latency[k]), picks a group, and rejects at once when even the
// chosen group would miss the deadline: a rejected request consumes no capacity.
// Measured stage completions correct the mirror (observe_stage_end).
//
// Concurrency: plain values; the dispatcher actor owns its clocks, the simulator owns its own.

#include <cstdint>
#include <string_view>
#include <vector>

namespace alpaserve::planner {

// Fixed costs outside the stages, in seconds, as the runtime measures them.
struct dispatch_overheads {
  double before_first_stage = 0.0;  // dispatcher -> group manager -> stage 0 worker
  double per_stage_hop = 0.0;       // activation hand-off between consecutive stages
  double after_last_stage = 0.0;    // last stage -> client reply
};

// Mirror of one group's pipeline: when each stage becomes free, and a per-stage correction
// factor learned from measured stage times (1 = the profile is right).
struct group_clock {
  std::vector<double> free_at;        // absolute seconds, one per stage
  std::vector<double> latency_scale;  // multiplies profiled stage latency, one per stage

  explicit group_clock(int num_stages = 0)
      : free_at(static_cast<size_t>(num_stages), 0.0),
        latency_scale(static_cast<size_t>(num_stages), 1.0) {}
  [[nodiscard]] int num_stages() const noexcept { return static_cast<int>(free_at.size()); }
};

enum class dispatch_strategy : uint8_t {
  min_predicted_finish,  // ours: the group that finishes this request first
  min_last_stage_clock,  // the reference approximate simulator's rule (ties -> lowest index)
};

enum class dispatch_verdict : uint8_t { admitted, no_replica, slo_unattainable };
[[nodiscard]] std::string_view to_string(dispatch_verdict v) noexcept;

// One group that hosts the requested model, with that model's profiled per-stage latency there.
struct dispatch_candidate {
  int group = -1;                                      // index into the clocks vector
  const std::vector<double>* stage_latency = nullptr;  // size == clocks[group].num_stages()
};

struct dispatch_decision {
  dispatch_verdict verdict = dispatch_verdict::no_replica;
  int group = -1;                 // chosen group (also set when rejected: the best one)
  double predicted_finish = 0.0;  // absolute seconds, including overheads
};

// Predicted finish time of a request entering `clock`'s group at `now` (no state change).
[[nodiscard]] double predict_finish(double now, const group_clock& clock,
                                    const std::vector<double>& stage_latency,
                                    const dispatch_overheads& overheads) noexcept;

// Chooses a group among the candidates and decides admission; does not change any clock.
[[nodiscard]] dispatch_decision choose_group(double now, double deadline,
                                             const dispatch_candidate* candidates, size_t count,
                                             const std::vector<group_clock>& clocks,
                                             const dispatch_overheads& overheads,
                                             dispatch_strategy strategy) noexcept;

// Reserves the chosen group's stages for the request (the commit half of admission).
// Writes each stage's predicted end into stage_ends when it is not null (size num_stages).
void commit_request(double now, group_clock& clock, const std::vector<double>& stage_latency,
                    const dispatch_overheads& overheads, double* stage_ends = nullptr) noexcept;

// The queue cap, applied before admit_or_reject by the runtime's dispatcher and by the event
// simulator alike: appends to `out` (cleared first) the candidates whose group holds fewer than
// max_queue admitted, unfinished requests (queued(group index)); max_queue <= 0 keeps all.
// An empty result means the request is rejected as overloaded without calling the rule.
template <class QueuedFn>
void drop_full_groups(const dispatch_candidate* candidates, size_t count, int max_queue,
                      const QueuedFn& queued, std::vector<dispatch_candidate>& out) {
  out.clear();
  for (size_t c = 0; c < count; ++c)
    if (max_queue <= 0 || queued(candidates[c].group) < max_queue) out.push_back(candidates[c]);
}

// choose_group + commit_request when admitted: the whole rule in one call.
dispatch_decision admit_or_reject(double now, double deadline, const dispatch_candidate* candidates,
                                  size_t count, std::vector<group_clock>& clocks,
                                  const dispatch_overheads& overheads,
                                  dispatch_strategy strategy) noexcept;

// A measured completion of `stage` for one request: the stage was busy at least until
// actual_end (idempotent: it never pushes the clock twice for the same lateness), and the
// measured service time updates the stage's latency_scale (exponential average, clamped).
void observe_stage_end(group_clock& clock, int stage, double actual_end, double measured_seconds,
                       double profiled_seconds, double smoothing = 0.1) noexcept;

}  // namespace alpaserve::planner
