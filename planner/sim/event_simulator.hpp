#pragma once
// Event-driven simulator of OUR runtime (DESIGN.md "One request, end to end"); the approximate
// simulator reproduces the reference instead. Model and rules: docs/event-simulator.md.
//
// A request travels: client -> dispatcher (client_to_dispatcher_s) -> admission and dispatch by
// planner::admit_or_reject on the dispatcher's own group_clock mirrors (the very function the
// runtime's dispatcher calls) -> group's stage-0 queue (overheads.before_first_stage) -> one FCFS
// server per pipeline stage of the group (models of a group share them), with
// overheads.per_stage_hop between stages -> reply (overheads.after_last_stage). Real stage times
// may differ from the profile (service_scale, seeded jitter); with feedback on, every measured
// stage end corrects the mirror through planner::observe_stage_end, as the group manager's
// reports do in the runtime.
//
// Concurrency: a pure function of its inputs; safe to run several simulations in parallel.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/sim/batch_rule.hpp"
#include "planner/sim/dispatch_rule.hpp"
#include "planner/sim/sim_stats.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

// The runtime's costs as measured by `alpaserve bench --overhead` (2-stage pipeline over two
// processes on loopback, sharing scheduler with 1 thread; docs/runtime.md "Overhead"): one CAF
// message between processes ~0.15 ms, between actors of one process a few tens of µs.
inline constexpr double default_hop_seconds = 0.00015;
[[nodiscard]] constexpr dispatch_overheads default_runtime_overheads() noexcept {
  return dispatch_overheads{
      0.0002,               // dispatcher -> group manager (local) -> stage-0 worker
      default_hop_seconds,  // stage k worker -> stage k+1 worker
      default_hop_seconds,  // last stage worker -> client (it answers the client directly)
  };
}

struct event_sim_options {
  dispatch_overheads overheads = default_runtime_overheads();
  double client_to_dispatcher_s = default_hop_seconds;  // also the way back for a rejection
  // Real stage time = profiled time * service_scale * noise, noise log-normal with mean 1 and
  // coefficient of variation jitter_cv (0 = none). The mirror predicts with the profile only.
  double jitter_cv = 0.0;
  double service_scale = 1.0;
  uint64_t seed = 0;  // jitter random stream
  // >1: stage 0 forms batches of same-model requests waiting in FIFO order (see
  // docs/event-simulator.md); 1 = no batching.
  int max_batch_size = 1;
  // Per model id (as in the models argument): a smaller cap for that model; 0 or absent = none.
  // The runtime's per-model `max_batch_size` (docs/config.md).
  std::vector<int> model_max_batch_size;
  // With batching: admission predicts the batch a request will join (planner::predict_join);
  // false = it predicts batch-1 service for every request (more conservative).
  bool batch_admission = true;
  // >0: a group with this many admitted, unfinished requests is not eligible; when every group
  // hosting the model is full the request is rejected as overloaded. 0 = unbounded.
  int max_queue_per_group = 0;
  dispatch_strategy strategy = dispatch_strategy::min_predicted_finish;
  bool feedback = true;  // measured stage ends correct the dispatcher's mirror
  // Time-segmented placements only: the workload's time t is t + window_clock_offset_s on the
  // schedule's clock (its window starts); 0 = the same clock.
  double window_clock_offset_s = 0;
};

enum class request_verdict : uint8_t {
  good,                 // served and answered by its deadline
  late,                 // served, answer after the deadline
  rejected_slo,         // the dispatcher predicted a miss on every hosting group
  rejected_unknown,     // model not registered, or hosted by no group
  rejected_overloaded,  // every hosting group at max_queue_per_group
};
inline constexpr int num_request_verdicts = 5;
[[nodiscard]] std::string_view to_string(request_verdict v) noexcept;
[[nodiscard]] constexpr bool is_served(request_verdict v) noexcept {
  return v == request_verdict::good || v == request_verdict::late;
}

struct model_summary {
  std::string name;
  size_t total = 0;
  size_t good = 0;
  size_t late = 0;
  size_t rejected = 0;    // any rejection
  double attainment = 0;  // good / total (0 when total == 0)
  latency_summary latency;
};

struct event_sim_summary {
  size_t total = 0;                              // requests counted (after warm-up trimming)
  size_t by_verdict[num_request_verdicts] = {};  // indexed by request_verdict
  double attainment = 0;                         // good / total
  latency_summary latency;                       // over served (good + late) requests
  std::vector<model_summary> per_model;          // one per model of the input, in its order
  std::vector<std::vector<double>> utilization;  // [group][stage] busy time / makespan
  // [group]: requests routed to it over the whole run, rejected_slo ones (its best group)
  // included, as the approximate simulator's group_num_requests counts them.
  std::vector<size_t> group_requests;
  double makespan = 0;  // first arrival to last answer (s), the whole run
};

struct event_sim_result {
  // Per request, parallel to the workload.
  std::vector<double> finish;  // when the client has its answer or rejection (s)
  std::vector<int32_t> group;  // serving (or, for rejected_slo, best) group; -1 if none
  std::vector<request_verdict> verdict;
  std::vector<uint16_t> batch_size;  // batch the request ran in at stage 0; 0 if not served
  // Whole run.
  std::vector<std::vector<double>> stage_busy_s;  // [group][stage] seconds busy
  double first_arrival = 0;
  double last_finish = 0;
  uint64_t num_events = 0;  // events popped from the queue (not counting arrivals)
  // Time-segmented placements: [window] the number of window s's group 0 (its group g is
  // window_first_group[s] + g in `group` and `stage_busy_s`). Empty for one placement.
  std::vector<int32_t> window_first_group;
};

// Simulates the workload against the placement. Workload model names are matched to models[i].name
// (unregistered names -> rejected_unknown). A (model, group) pair whose group config the model has
// no profile for is not a route. Throws std::invalid_argument when the placement names a model id
// out of range or a profile's stage count differs from the group's pp.
[[nodiscard]] event_sim_result simulate_events(const std::vector<model_data>& models,
                                               const placement& p, const workload& w,
                                               const event_sim_options& options = {});

// Simulates a time-segmented placement (Clockwork++) as the runtime runs it (docs/runtime.md
// "Time windows (Clockwork++)"): a request is dispatched among the groups of the window in force
// at its arrival (planner::window_at on arrival + options.window_clock_offset_s). Every window's
// groups are new groups: their stages and the dispatcher's mirror of them start empty, and a
// group of an earlier window finishes what it admitted (make before break, then drain), with no
// contention between the windows' groups (emulated devices). Jitter: window s draws from seed +
// s. Throws std::invalid_argument as above and for a schedule with problems.
[[nodiscard]] event_sim_result simulate_events(const std::vector<model_data>& models,
                                               const placement_with_replacement& schedule,
                                               const workload& w,
                                               const event_sim_options& options = {});

// Which requests a summary counts (docs/simulators.md "Warm-up").
struct counted_requests {
  // Ours: only requests arriving at or after the first arrival + warmup_s.
  double warmup_s = 0.0;
  // The reference's compute_stats: not the first and last skip_each_end requests in arrival
  // order (reference_warmup_skip in sim_stats.hpp computes it from its warm-up seconds).
  size_t skip_each_end = 0;
};

// Statistics over the counted requests. Latency figures (as summarize_latencies:
// sorted[min(n-1, int(q*n))]) are over served requests' finish - arrival. Makespan, utilization
// and group_requests cover the whole run.
[[nodiscard]] event_sim_summary summarize(const std::vector<model_data>& models, const workload& w,
                                          const event_sim_result& r,
                                          const counted_requests& counted);
[[nodiscard]] inline event_sim_summary summarize(const std::vector<model_data>& models,
                                                 const workload& w, const event_sim_result& r,
                                                 double warmup_s = 0.0) {
  return summarize(models, w, r, counted_requests{warmup_s, 0});
}

// One window of a time-segmented placement: the requests that arrived in it (by the same rule
// as the simulation, counted as `summarize` counts) and how they fared.
struct window_summary {
  size_t window = 0;
  double from = 0, to = 0;  // on the workload's clock; `to` is +infinity for the last window
  size_t total = 0, good = 0, late = 0, rejected = 0;
  double attainment = 0;  // good / total (0 when total == 0)
};
[[nodiscard]] std::vector<window_summary> summarize_windows(const std::vector<double>& starts,
                                                            const workload& w,
                                                            const event_sim_result& r,
                                                            const counted_requests& counted,
                                                            double window_clock_offset_s = 0);

}  // namespace alpaserve::planner
