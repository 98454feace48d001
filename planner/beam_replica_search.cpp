#include "planner/beam_replica_search.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "planner/numpy_argsort.hpp"

namespace alpaserve::planner {
namespace {

// Visited placements by their normalized group_models, flattened (one allocation per key):
// per group its model count, then its models.
struct key_hash {
  size_t operator()(const std::vector<int32_t>& k) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (int32_t v : k) h = (h ^ static_cast<uint32_t>(v)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

std::vector<int32_t> flat_models(const placement& p) {
  size_t size = p.num_groups();
  for (const auto& g : p.group_models) size += g.size();
  std::vector<int32_t> key;
  key.reserve(size);
  for (const auto& g : p.group_models) {
    key.push_back(static_cast<int32_t>(g.size()));
    key.insert(key.end(), g.begin(), g.end());
  }
  return key;
}

}  // namespace

placement beam_replica_search(const placement& init, const placement_problem& problem,
                              int beam_size) {
  std::vector<placement> beam{init};
  placement best = init;
  double best_score = -1;
  std::unordered_set<std::vector<int32_t>, key_hash> visited;
  const int num_models = problem.num_models();
  for (;;) {
    std::vector<placement> candidates;
    size_t most = 0;  // reserved up front: a reallocation would move thousands of placements
    for (const placement& sol : beam) most += sol.num_groups() * static_cast<size_t>(num_models);
    candidates.reserve(most);
    for (const placement& sol : beam) {
      for (size_t g = 0; g < sol.num_groups(); ++g) {
        const auto& cfg = sol.group_configs[g];
        const auto& hosted = sol.group_models[g];
        double used = 0;
        for (int m : hosted) used += problem.weight(m, cfg);
        for (int m = 0; m < num_models; ++m) {
          if (!(used + problem.weight(m, cfg) < problem.mem_budget())) continue;
          if (std::find(hosted.begin(), hosted.end(), m) != hosted.end()) continue;
          placement next = sol.add_model(static_cast<int>(g), m);
          next.normalize();
          if (visited.insert(flat_models(next)).second) candidates.push_back(std::move(next));
        }
      }
    }
    if (candidates.empty()) return best;
    const std::vector<double> scores = problem.scores(candidates);
    const std::vector<int> order = numpy_argsort_descending(scores);
    const size_t keep = std::min(order.size(), static_cast<size_t>(std::max(beam_size, 1)));
    std::vector<placement> next_beam;
    for (size_t i = 0; i < keep; ++i) {
      const int c = order[i];
      if (scores[c] > best_score) {
        best_score = scores[c];
        best = candidates[c];
      }
      next_beam.push_back(std::move(candidates[c]));
    }
    beam = std::move(next_beam);
  }
}

}  // namespace alpaserve::planner
