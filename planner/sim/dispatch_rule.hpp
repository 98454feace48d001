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

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "planner/profile/profile.hpp"

namespace alpaserve::planner {

// Fixed costs outside the stages, in seconds, as the runtime measures them.
struct dispatch_overheads {
  double before_first_stage = 0.0;  // dispatcher -> group manager -> stage 0 worker
  double per_stage_hop = 0.0;       // activation hand-off between consecutive stages
  double after_last_stage = 0.0;    // last stage -> client reply
};

inline constexpr int num_batch_slots = 5;  // supported_batch_sizes: 1, 2, 4, 8, 16

// A model's profiled per-stage latencies on one group, per supported batch size.
struct batch_latency_table {
  std::array<const std::vector<double>*, num_batch_slots> by_slot{};  // nullptr = unprofiled

  // The table of `profile` (nullptr: empty).
  [[nodiscard]] static batch_latency_table of(const config_profile* profile) noexcept;
  // Largest profiled supported batch size (0 when nothing is profiled).
  [[nodiscard]] int largest_size() const noexcept;
  // Latencies of the smallest profiled size >= bs (nullptr when none).
  [[nodiscard]] const std::vector<double>* at_least(int bs) const noexcept;
  // Largest profiled supported size at which batching pays (1 when none above 1 does, 0 when
  // nothing is profiled): a model whose batches never pay is served as without batching.
  [[nodiscard]] int largest_paying_size() const noexcept;
  // Slot of the smallest profiled size >= bs (-1 when none).
  [[nodiscard]] int slot_at_least(int bs) const noexcept;
  // Whether a batch of the size of `slot` (profiled) frees no stage later than that many
  // requests sent one by one (batch_no_later with the batch-1 latencies). True for slot 0, and
  // when batch 1 is not profiled (nothing to compare with: the deadline alone decides).
  [[nodiscard]] bool pays(int slot) const noexcept;
};

// The "no later than one by one" test of the batch rule (docs/runtime.md "Batching"): true when
// a batch of `size` requests with per-stage latencies `batch_latency`, entering an idle pipeline,
// leaves every stage k no later than `size` requests sent one by one at batch 1 (`single_latency`)
// would: for every k, sum_{j<=k} batch_latency[j] <= sum_{j<=k} single_latency[j] +
// (size - 1) * max_{j<=k} single_latency[j] (the exact completion time of the size-th of identical
// jobs in a flow shop). Hops and the reply are the same on both sides and cancel. So neither the
// batch's last member nor anything queued behind the batch finishes later because of it; with a
// cost almost linear in the batch size on a pipeline of >= 2 stages this fails (the batch does not
// overlap its members across stages), with a strongly sublinear one it holds. Stage counts that
// differ (or are empty) compare as true.
[[nodiscard]] bool batch_no_later(const std::vector<double>& batch_latency,
                                  const std::vector<double>& single_latency, int size) noexcept;

// Slot of the largest supported batch size <= bs (bs < 1 counts as 1).
[[nodiscard]] int batch_slot(int bs) noexcept;

// Mirror of one group's pipeline: when each stage becomes free, and a per-stage correction
// factor learned from measured stage times (1 = the profile is right).
struct group_clock {
  std::vector<double> free_at;        // absolute seconds, one per stage
  std::vector<double> latency_scale;  // multiplies profiled stage latency, one per stage
  // Batch-aware admission (docs/runtime.md "Batching"): the last batch the mirror committed,
  // which a later request of the same model joins while it has not started at stage 0.
  int tail_model = -1;              // -1: none (or forgotten after a correction)
  int tail_count = 0;               // requests in it
  double tail_start = 0;            // predicted start at stage 0
  double tail_deadline = 0;         // earliest deadline among them
  std::vector<double> tail_before;  // free_at before it was committed

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
  // Batch-aware admission: the model's latencies per batch size on the group, its max batch
  // there and an id naming the model. null / max_batch 1: predict batch-1 service only.
  const batch_latency_table* batches = nullptr;
  int max_batch = 1;
  int model = -1;
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

// Batch-aware prediction: the finish of a request (deadline `deadline`) that joins the group's
// tail batch (same model, not started at stage 0 by the time it gets there, room under
// max_batch, a profiled size >= the new count at which batching pays (batch_latency_table::pays,
// the batch rule's own test, so admission predicts a batch only where choose_batch_size would
// form one), and no deadline of the batch missed), or a negative value when it cannot join; then
// predict_finish applies (a new batch of 1).
[[nodiscard]] double predict_join(double now, double deadline, const group_clock& clock,
                                  const dispatch_candidate& c,
                                  const dispatch_overheads& overheads) noexcept;

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
// With batch-aware candidates, a request that joins the tail batch re-times that batch at its new
// size; one that does not starts a new tail batch.
dispatch_decision admit_or_reject(double now, double deadline, const dispatch_candidate* candidates,
                                  size_t count, std::vector<group_clock>& clocks,
                                  const dispatch_overheads& overheads,
                                  dispatch_strategy strategy) noexcept;

// A measured completion of `stage` for one request: the stage was busy at least until
// actual_end (idempotent: it never pushes the clock twice for the same lateness; a push forgets
// the tail batch, whose prediction it invalidates), and the
// measured service time updates the stage's latency_scale (exponential average, clamped).
void observe_stage_end(group_clock& clock, int stage, double actual_end, double measured_seconds,
                       double profiled_seconds, double smoothing = 0.1) noexcept;

}  // namespace alpaserve::planner
