#pragma once
// The reference's approximate simulator (approximate_one_case / simulate_requests_mixed and the
// batching variant; ../shared/reference/alpaserve.md sections 4.2-4.3), reproduced exactly: for the
// same profiles, placement and arrivals every request gets the same good flag and finish time.
// It is our compatibility mode and the scorer inside placement search. Rules: docs/simulators.md.
//
// Concurrency: construction is not thread-safe with respect to the inputs; once built, every run
// method is const and allocates its own state, so one simulator may be shared by many threads.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/sim/chunked_simulation.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

// Per-request outcome of one simulation, in workload order.
struct sim_result {
  std::vector<double> finish;               // finish time; arrival time for rejected requests
  std::vector<uint8_t> good;                // 1 when served within the SLO
  std::vector<int64_t> group_num_requests;  // per group: dispatched requests, rejected included
  std::vector<int64_t> model_num_requests;  // per registered model: its requests
  std::vector<int64_t> model_num_good;      // per registered model: its good requests
};

// What placement search needs, without per-request arrays.
struct sim_summary {
  std::vector<int64_t> group_num_requests;
  std::vector<int64_t> model_num_requests;
  std::vector<int64_t> model_num_good;
  int64_t num_requests = 0;  // every request of the workload, unregistered models included
  int64_t num_good = 0;
  double latency_sum = 0;  // sum of (finish - arrival); 0 for rejected requests
  double first_arrival = 0;
  double last_arrival = 0;
  // How the run was cut (planner/sim/chunked_simulation.hpp): lanes over all segments, and chunks
  // whose guessed start clocks were wrong and ran again.
  int64_t chunks = 0;
  int64_t chunk_fixups = 0;

  [[nodiscard]] double goodput() const noexcept {
    return num_requests == 0 ? 0.0 : static_cast<double>(num_good) / num_requests;
  }
  [[nodiscard]] double latency_mean() const noexcept {
    return num_requests == 0 ? 0.0 : latency_sum / num_requests;
  }
};

class approx_simulator {
 public:
  // Fixed overhead the reference adds to every finish time (s).
  static constexpr double fixed_overhead = 0.011;
  // Per-stage latency penalty factor: latency * (1 + stage_penalty * pp).
  static constexpr double stage_penalty = 0.009;
  // The reference's "inf" (alpa_serve/util.py), the initial value of the dispatch minimum.
  static constexpr double reference_inf = 1e100;

  // Maps every request to a model id by name (models not in `models` -> -1) and stores each
  // model's SLO as float32, once; `w` must outlive the simulator (it is not copied).
  approx_simulator(const std::vector<model_data>& models, const workload& w);
  approx_simulator(const std::vector<model_data>& models, workload&& w) = delete;

  // The "mixed" per-stage kernel (section 4.2). Throws std::invalid_argument for a model id out
  // of range in the placement. Runs of at least chunking().min_requests requests are cut into
  // chunks that run interleaved, each verified to start from the true clocks (else re-run), so
  // every request's outcome equals that of one sequential run.
  [[nodiscard]] sim_result run(const placement& p) const;
  // Clockwork++: each segment simulated from fresh clocks; counters summed per group index.
  [[nodiscard]] sim_result run(const placement_with_replacement& p) const;
  // run() into a caller-owned result whose arrays are reused (no allocation when called again).
  void run_into(const placement& p, sim_result& out) const;
  void run_into(const placement_with_replacement& p, sim_result& out) const;
  // Same outcome as run(p), only the counters and sums. Like run(), a long run is cut into
  // chunks that run interleaved and are verified exact (planner/sim/chunked_simulation.hpp); its
  // latency sum is then added per chunk.
  [[nodiscard]] sim_summary run_summary(const placement& p) const;
  [[nodiscard]] sim_summary run_summary(const placement_with_replacement& p) const;
  // The batching kernel (section 4.3), batch sizes 1, 2, 4, 8, 16.
  [[nodiscard]] sim_result run_batching(const placement& p) const;

  [[nodiscard]] size_t num_requests() const noexcept { return request_model_.size(); }
  [[nodiscard]] const std::vector<int32_t>& request_model() const noexcept {
    return request_model_;
  }
  [[nodiscard]] const workload& requests() const noexcept { return *workload_; }
  [[nodiscard]] const std::vector<model_data>& models() const noexcept { return models_; }
  // How run_summary cuts long runs (tests force small chunks; min_requests = SIZE_MAX: never).
  void set_chunking(const chunking& c) noexcept { chunking_ = c; }

 private:
  // One placement over the request range [begin, end): a Clockwork++ segment.
  struct segment {
    const placement* layout;
    size_t begin;
    size_t end;
  };

  [[nodiscard]] std::vector<segment> segments_of(const placement_with_replacement& p) const;
  // Every segment from fresh clocks: a long one in verified interleaved chunks
  // (planner/sim/chunked_simulation.hpp), others in the sequential loop; counts lanes and re-runs.
  template <class Sink>
  void simulate(const std::vector<segment>& segments, size_t num_groups,
                std::vector<int64_t>& group_num_requests, std::vector<int64_t>& model_num_good,
                Sink& sink, int64_t* chunks, int64_t* fixups) const;
  void run_segments(const std::vector<segment>& segments, size_t num_groups, sim_result& out) const;
  [[nodiscard]] sim_summary summarize_segments(const std::vector<segment>& segments,
                                               size_t num_groups) const;

  std::vector<model_data> models_;
  const workload* workload_;
  std::vector<int32_t> request_model_;  // per request: model id, -1 when unregistered
  std::vector<int32_t> request_local_;  // the same with -1 -> models_.size() (a dummy)
  chunking chunking_;
  std::vector<float> model_slo_;              // per model: SLO as the reference stores it (float32)
  std::vector<double> model_slo_wide_;        // the same float32 values widened once for the loop
  std::vector<int64_t> model_request_count_;  // per model: its requests (placement-independent)
};

}  // namespace alpaserve::planner
