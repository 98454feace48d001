#pragma once
// "ours", the default placement policy: mp-search-sep (the paper's AlpaServe) followed by a
// simulator-guided local search over a larger space than the reference explores. Design and
// rationale: docs/policy-ours.md.
//
// 1. Start: mp-search-sep's answer on the given train workload (so never worse on it).
// 2. Robust objective: candidates are scored on the given train workload and on
//    `extra_train_seeds` independent Gamma samples of the models' expected traffic (rate, cv).
//    A single train sample rewards placements tuned to its particular bursts; several samples
//    reward what holds across bursts, which is what a test workload with other seeds sees.
// 3. Restarts: every group list of the reference enumeration widened to op <= 8 and pp <= 16,
//    greedily filled on the train workload, is tried as a first move.
//    Moves (each scored by the approximate simulator, only changed components re-simulated):
//    swap a surplus replica for a model with unserved requests, exchange two replicas between
//    groups, reshape a group to another (op, pp) of the same size (op up to 8, pp up to 16),
//    merge two groups of equal size into one, split a group into two halves. Shapes are per group,
//    so group sizes and shapes need not be uniform, and each latency bucket keeps its own.
// 4. Acceptance: a candidate replaces the current placement only when its mean score over the
//    samples is strictly higher, it serves more requests within the SLO summed over the
//    samples (not only a lower latency) with a mean per-sample gain of at least `min_gain_t`
//    standard errors (consistent, not one sample's luck), `validation_seeds` held-out samples
//    (not used to choose it) confirm the gain (against the winner's curse), its attainment is not
//    lower on ANY sample (a Pareto step: a move that wins on one sample's bursts and loses on
//    another's is noise, not progress), and its score on the given train workload is not lower, so
//    the answer is never worse than mp-search-sep's on the inputs the policy was given.
// 5. Budget: stops at a local optimum, after `max_evaluations` scored candidates or after
//    `time_budget_s` seconds, whichever comes first (the evaluation budget keeps runs
//    deterministic; the time budget bounds re-planning online).
// 6. Restarts (off by default; `restarts` > 0, e.g. `plan --time-budget 50 --restarts 100`): once
//    the search stops with budget left, it starts again from the best placement perturbed by a few
//    random moves (2, 4 or 8, cycling; rng seed rng_seed + k for restart k) and keeps the result
//    only when it passes the acceptance test of step 4 against the best so far (Pareto not
//    required: a restart is a long jump). The first run is the default search unchanged, so a
//    larger budget never returns a lower train score than the default.

#include <cstdint>
#include <string>
#include <vector>

#include "planner/policy/placement_policy.hpp"

namespace alpaserve::planner {

struct ours_options {
  int extra_train_seeds = 10;  // Gamma samples added to the train workload
  int validation_seeds = 5;    // held-out samples (seed base + 50'000'017 + ...) that confirm moves
  uint64_t extra_seed_base = 7'000'003;  // sample k uses model seeds base + 100'003 k + i
  double time_budget_s = 5.0;            // wall-clock limit of the local search (restarts included)
  int max_evaluations = 2500;            // candidate placements scored (restarts included)
  int restarts = 0;                      // perturbed restarts after the first search stops
  int perturb_moves = 2;                 // random moves of restart 1; doubles up to 4x, cycling
  int max_op = 8;                        // largest intra-op degree a reshaped group may use
  int max_pp = 16;                       // largest pipeline degree a reshaped group may use
  int needy_models = 12;                 // models with unserved requests a step tries to help
  int random_exchanges = 12;             // random replica exchanges tried per step
  int chunk = 16;                        // candidates scored before the best improving one is taken
  uint64_t rng_seed = 1;                 // order of exchanges (deterministic per seed)
  bool require_train_not_worse = true;   // demand score(given train) >= current
  bool require_pareto = true;            // demand attainment >= current on every sample
  bool require_goodput_gain = true;      // demand more good requests summed over the samples
  double min_gain_t = 2.0;  // per-sample gains: mean >= this many standard errors (0 = off)
};

// `options.extra_train_seeds` independent Gamma(rate_i, cv_i) samples of the models' expected
// traffic, train_duration(models) seconds each (model i of sample k uses seed
// extra_seed_base + 100'003 k + i). Models with rate 0 add no request.
[[nodiscard]] std::vector<workload> extra_train_samples(const std::vector<model_data>& models,
                                                        const ours_options& options);

// What the local search did.
struct local_search_report {
  placement best;
  double robust_score = 0;            // mean score over the samples
  double train_score = 0;             // score on samples[0], the given train workload
  int steps = 0;                      // accepted moves
  int evaluations = 0;                // candidates scored
  std::vector<int> accepted_by_kind;  // per move kind (move_kind_names order)
  bool local_optimum = false;         // stopped because no move improved
  int rejected_by_validation = 0;     // moves the held-out samples did not confirm
};

// Names of the move kinds, in the order of local_search_report::accepted_by_kind.
[[nodiscard]] const std::vector<std::string>& move_kind_names();

// The local search of steps 3-5 from `start` (model ids index `models`). samples[0] scores the
// given train workload, the others the extra samples (evaluators built for `models`).
// `alternatives` (whole placements, e.g. other group lists) are tried first, as one move each.
// `validation` (held-out samples) must confirm every accepted move with more good requests.
[[nodiscard]] local_search_report ours_local_search(
    const placement& start, const std::vector<model_data>& models, const cluster_env& cluster,
    const std::vector<const placement_evaluator*>& samples, const ours_options& options,
    const policy_progress& progress, const std::vector<placement>& alternatives = {},
    const std::vector<const placement_evaluator*>& validation = {});

class policy_ours final : public placement_policy {
 public:
  explicit policy_ours(policy_options options = {}, ours_options ours = {})
      : options_(options), ours_(ours) {}
  [[nodiscard]] std::string name() const override { return "ours"; }
  [[nodiscard]] policy_result solve(const std::vector<model_data>& models,
                                    const cluster_env& cluster, const workload* train,
                                    const policy_progress& progress) const override;
  // The same search from a given start: `start` must be mp-search-sep's answer on the same
  // inputs for solve()'s guarantee (experiments use it to share one mp-search-sep run).
  [[nodiscard]] policy_result solve_from(const policy_result& start,
                                         const std::vector<model_data>& models,
                                         const cluster_env& cluster, const workload* train,
                                         const policy_progress& progress) const;
  [[nodiscard]] const ours_options& settings() const noexcept { return ours_; }

 private:
  policy_options options_;
  ours_options ours_;
};

}  // namespace alpaserve::planner
