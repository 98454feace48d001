#pragma once
// Scores candidate placements on one train workload, fast: what every placement search calls in
// its inner loop (the reference's PlacementEvaluator with "fast_simulator";
// ../shared/reference/alpaserve.md sections 4.2, 4.4 and 5.0).
//
// Three things make it fast, none of which changes a result:
// * set-up once: requests are indexed per model and stage latencies (with the 0.9 %-per-stage
//   penalty, rounded to float32 as the reference stores them) are tabulated per config;
// * decomposition: models and groups form a bipartite graph (model m -- group g when g hosts m).
//   A request only ever touches groups hosting its model, so each connected component simulates
//   independently of the others. A component's outcome is memoised by its exact content (the
//   ordered list of (config, model ids) of its groups: order matters because dispatch ties go to
//   the lowest group index). When a search adds model m to group g, only the component that now
//   holds both is simulated again; every other component is a cache hit;
// * parallel scoring: scores() simulates the distinct uncached components of a candidate list on
//   a small thread pool (options.threads; 1 = inline, what the benchmarks use);
// * interleaving: on one thread, a call's uncached components run several at a time in one loop
//   (planner/sim/component_kernel.hpp), so stats_many() of many placements (a beam's candidates,
//   the greedy fills of planner/policy/greedy_replica_fill.hpp in lockstep) is much faster than one
//   by one.
// Whole placements are memoised as well (by normalized content), for single stats()/score() calls.
//
// Outcomes are per request identical to the reference approximate simulator (the same rule as
// planner/sim/approx_simulator.hpp, tested against it). The one difference: the latency sum is
// added per component and then across components, so it can differ from one sequential sum in the
// last bits (the reference's numpy mean uses pairwise summation, which differs again).
//
// Concurrency: all public methods are const and may be called from several threads at once; the
// caches are guarded by one mutex, simulations run outside it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "planner/core/thread_pool.hpp"
#include "planner/policy/placement.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

struct evaluator_options {
  int threads = 1;        // worker threads for scores(); 1 = run inline
  bool decompose = true;  // simulate connected components separately (false: one whole run)
  bool memoize = true;    // cache component and placement outcomes
  // One thread: simulate a call's independent components interleaved (false: one at a time).
  bool interleave = true;
  // Gather request streams from per-model request bitsets (false: a pass over the workload or a
  // merge of the per-model lists, as before; for tests).
  bool request_bitsets = true;
};

// The reference's fast_stats of one placement on the train workload.
struct placement_stats {
  std::vector<int64_t> model_num_requests;  // per model of the evaluator
  std::vector<int64_t> model_num_good;      // per model of the evaluator
  std::vector<int64_t> group_num_requests;  // per group: dispatched requests, rejected included
  int64_t num_requests = 0;                 // every request, unregistered models included
  int64_t num_good = 0;
  double latency_sum = 0;  // sum of finish - arrival (0 for rejected)
  int num_replicas = 0;

  [[nodiscard]] double goodput() const noexcept {
    return num_requests == 0 ? 0.0 : static_cast<double>(num_good) / num_requests;
  }
  [[nodiscard]] double latency_mean() const noexcept {
    return num_requests == 0 ? 0.0 : latency_sum / num_requests;
  }
  // goodput - latency_mean / 10000 + num_replicas / 1e6 (PlacementEvaluator).
  [[nodiscard]] double score() const noexcept;
  // Reference per-model goodput: good / (n + 1e-6).
  [[nodiscard]] double model_goodput(int m) const noexcept {
    return static_cast<double>(model_num_good[m]) /
           (static_cast<double>(model_num_requests[m]) + 1e-6);
  }
};

// Work counters, for benchmarks and tests.
struct evaluator_counters {
  int64_t evaluations = 0;         // stats()/score() calls, scores() entries
  int64_t placement_hits = 0;      // answered from the placement cache
  int64_t component_sims = 0;      // component simulations run
  int64_t component_hits = 0;      // components answered from the cache
  int64_t requests_simulated = 0;  // requests walked by the simulations
};

class placement_evaluator {
 public:
  // Requests of models not in `models` (by name) count as unregistered: rejected, latency 0.
  // `train` is copied into the evaluator's own indexes.
  placement_evaluator(const std::vector<model_data>& models, const workload& train,
                      evaluator_options options = {});
  ~placement_evaluator();
  placement_evaluator(const placement_evaluator&) = delete;
  placement_evaluator& operator=(const placement_evaluator&) = delete;

  // fast_stats of `p` (model ids index the evaluator's models). Throws std::invalid_argument for
  // a model id out of range or a group count mismatch.
  [[nodiscard]] placement_stats stats(const placement& p) const;
  [[nodiscard]] double score(const placement& p) const { return stats(p).score(); }
  // Scores of many candidates; uncached components are simulated on the pool.
  [[nodiscard]] std::vector<double> scores(const std::vector<placement>& candidates) const;
  [[nodiscard]] std::vector<placement_stats> stats_many(
      const std::vector<placement>& candidates) const;

  [[nodiscard]] const std::vector<model_data>& models() const noexcept { return models_; }
  [[nodiscard]] size_t num_requests() const noexcept { return request_arrival_.size(); }
  [[nodiscard]] const evaluator_options& options() const noexcept { return options_; }
  [[nodiscard]] evaluator_counters counters() const;
  // Per-request outcome of a whole-placement simulation (no decomposition, no cache): the
  // reference kernel, for tests that compare paths. good[i] / finish[i] in workload order.
  void simulate_requests(const placement& p, std::vector<uint8_t>& good,
                         std::vector<double>& finish) const;

  // One connected component: its groups (in placement order) and the outcome of its requests.
  struct component_outcome {
    std::vector<int64_t> group_num_requests;  // per group of the component, in order
    std::vector<int> models;                  // model ids, ascending
    std::vector<int64_t> model_num_good;      // per entry of `models`
    int64_t num_good = 0;
    double latency_sum = 0;
  };

 private:
  struct component;      // groups and models of one component (defined in the .cpp)
  struct decomposition;  // the components of one placement
  // The requests of one set of models in workload order, laid out for the simulation loop.
  struct request_stream {
    std::unique_ptr<double[]> arrival;
    std::unique_ptr<int32_t[]> local_model;  // index into the (ascending) model set
    size_t size = 0;
  };
  struct key_hash {
    size_t operator()(const std::vector<int32_t>& k) const noexcept;
  };

  struct prepared_sim;  // one simulation laid out for the kernel (defined in the .cpp)

  // The connected components of p (whole: one of every placed group and model); scratch is
  // working memory a caller reuses across calls.
  void decompose(const placement& p, bool whole, std::vector<int>& scratch,
                 decomposition& out) const;
  // Lays out the simulation of component c; record: for per-request outcomes.
  void prepare(const placement& p, const component& c, bool record, prepared_sim& s) const;
  // Moves the kernel's totals into s.out and counts the simulation.
  void finish(prepared_sim& s) const;
  [[nodiscard]] component_outcome simulate(const placement& p, const component& c,
                                           std::vector<uint8_t>* good,
                                           std::vector<double>* finish) const;
  [[nodiscard]] const std::vector<double>& stage_latency(int model, const parallel_config& c) const;
  // The request stream of an ascending model set, built once and cached (a search re-simulates
  // the same set of linked models many times).
  [[nodiscard]] std::shared_ptr<const request_stream> stream_of(
      const std::vector<int>& models) const;
  // per_model: fill the per-model and per-group arrays too (scores need only the totals).
  [[nodiscard]] placement_stats assemble(const placement& p, const std::vector<component>& comps,
                                         const std::vector<const component_outcome*>& outs,
                                         bool per_model) const;
  [[nodiscard]] std::vector<placement_stats> evaluate(const std::vector<placement>& candidates,
                                                      bool per_model) const;
  void check(const placement& p) const;

  std::vector<model_data> models_;
  evaluator_options options_;
  std::vector<double> request_arrival_;               // per request, workload order
  std::vector<int32_t> request_model_;                // per request: model id or -1
  std::vector<std::vector<int32_t>> model_requests_;  // per model: its request indices, ascending
  // Per model: a bitset over the requests (bit i: request i is the model's), words_per_model_
  // words each; empty when too large. A model set's stream is the OR of its rows, walked by set
  // bit: half the cost of a pass over the whole workload.
  std::vector<uint64_t> model_bits_;
  size_t words_per_model_ = 0;
  std::vector<double> model_slo_;  // per model: SLO rounded through float32
  // Per config: per model, penalised stage latencies rounded through float32 (empty: unprofiled).
  mutable std::unordered_map<parallel_config, std::vector<std::vector<double>>> latency_table_;
  mutable std::mutex latency_mutex_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::vector<int32_t>, std::shared_ptr<const component_outcome>,
                             key_hash>
      component_cache_;
  mutable std::unordered_map<std::vector<int32_t>, std::shared_ptr<const placement_stats>, key_hash>
      placement_cache_;
  mutable evaluator_counters counters_;
  mutable std::mutex stream_mutex_;
  mutable std::unordered_map<std::vector<int32_t>, std::shared_ptr<const request_stream>, key_hash>
      stream_cache_;
  mutable size_t stream_cache_bytes_ = 0;
  std::unique_ptr<thread_pool> pool_;
  mutable std::mutex pool_busy_;  // the pool serves one caller at a time; others run inline
};

}  // namespace alpaserve::planner
