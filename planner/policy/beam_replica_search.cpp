#include "planner/policy/beam_replica_search.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <unordered_set>

#include "planner/core/numpy_argsort.hpp"

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

// flat_models(normalize(sol.add_model(g, m))) for a normalized sol, built without copying sol
// (half the candidates a step generates were visited already). The other groups keep their
// order; g's new list goes where the stable sort puts it: before the first other group whose
// (list, index) is greater.
void child_key(const placement& sol, size_t g, int m, std::vector<int>& list,
               std::vector<int32_t>& key) {
  const auto& hosted = sol.group_models[g];
  list.assign(hosted.begin(), hosted.end());
  list.insert(std::upper_bound(list.begin(), list.end(), m), m);
  key.clear();
  auto emit = [&key](const std::vector<int>& models) {
    key.push_back(static_cast<int32_t>(models.size()));
    key.insert(key.end(), models.begin(), models.end());
  };
  bool placed = false;
  for (size_t h = 0; h < sol.num_groups(); ++h) {
    if (h == g) continue;
    const auto& other = sol.group_models[h];
    if (!placed && (list < other || (list == other && g < h))) {
      emit(list);
      placed = true;
    }
    emit(other);
  }
  if (!placed) emit(list);
}

bool is_normalized(const placement& p) {
  for (const auto& g : p.group_models)
    if (!std::is_sorted(g.begin(), g.end())) return false;
  return std::is_sorted(p.group_models.begin(), p.group_models.end());
}

}  // namespace

placement beam_replica_search(const placement& init, const placement_problem& problem,
                              int beam_size) {
  std::vector<placement> beam{init};
  placement best = init;
  double best_score = -1;
  std::unordered_set<std::vector<int32_t>, key_hash> visited;
  const int num_models = problem.num_models();
  // Candidate placements are copy-assigned into recycled ones: assignment reuses their group
  // vectors' buffers, where a fresh copy allocated every group of every candidate (a tenth of
  // sr-search's time went to malloc and free).
  std::vector<placement> spare;
  std::vector<placement> candidates;
  std::vector<int> list;
  std::vector<int32_t> key;
  for (;;) {
    for (placement& c : candidates) spare.push_back(std::move(c));
    candidates.clear();
    size_t most = 0;  // reserved up front: a reallocation would move thousands of placements
    for (const placement& sol : beam) most += sol.num_groups() * static_cast<size_t>(num_models);
    candidates.reserve(most);
    for (const placement& sol : beam) {
      const bool normalized = is_normalized(sol);
      for (size_t g = 0; g < sol.num_groups(); ++g) {
        const auto& cfg = sol.group_configs[g];
        const auto& hosted = sol.group_models[g];
        double used = 0;
        for (int m : hosted) used += problem.weight(m, cfg);
        for (int m = 0; m < num_models; ++m) {
          if (!(used + problem.weight(m, cfg) < problem.mem_budget())) continue;
          if (std::find(hosted.begin(), hosted.end(), m) != hosted.end()) continue;
          if (normalized) {
            child_key(sol, g, m, list, key);
            if (visited.count(key)) continue;
          }
          placement next;
          if (!spare.empty()) {
            next = std::move(spare.back());
            spare.pop_back();
          }
          next = sol;
          next.group_models[g].push_back(m);
          next.normalize();
          assert(!normalized || flat_models(next) == key);
          if (visited.insert(normalized ? key : flat_models(next)).second) {
            candidates.push_back(std::move(next));
          } else {
            spare.push_back(std::move(next));
          }
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
