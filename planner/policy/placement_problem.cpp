#include "planner/policy/placement_problem.hpp"

#include <algorithm>

namespace alpaserve::planner {

placement_problem::placement_problem(std::vector<model_data> models, double mem_budget,
                                     const placement_evaluator& evaluator,
                                     std::vector<int> global_ids)
    : models_(std::move(models)),
      mem_budget_(mem_budget),
      evaluator_(&evaluator),
      global_ids_(std::move(global_ids)) {
  for (const auto& m : models_)
    for (const auto& entry : m.profile.configs) {
      const parallel_config& c = entry.first;
      bool known = false;
      for (const auto& w : weights_) known = known || w.first == c;
      if (known) continue;
      std::vector<double> weights;
      weights.reserve(models_.size());
      for (const auto& other : models_) weights.push_back(other.profile.weight_per_device(c));
      weights_.emplace_back(c, std::move(weights));
    }
}

placement placement_problem::to_global(const placement& local) const {
  if (global_ids_.empty()) return local;
  placement out = local;
  for (auto& g : out.group_models)
    for (int& m : g) m = global_ids_.at(static_cast<size_t>(m));
  return out;
}

void placement_problem::to_global(const placement& local, placement& out) const {
  out.group_configs.assign(local.group_configs.begin(), local.group_configs.end());
  out.group_models.resize(local.group_models.size());
  for (size_t g = 0; g < local.group_models.size(); ++g) {
    const std::vector<int>& from = local.group_models[g];
    std::vector<int>& to = out.group_models[g];
    to.resize(from.size());
    for (size_t i = 0; i < from.size(); ++i)
      to[i] = global_ids_.empty() ? from[i] : global_ids_.at(static_cast<size_t>(from[i]));
  }
}

placement_stats placement_problem::stats(const placement& local) const {
  return localize(evaluator_->stats(to_global(local)));
}

placement_stats placement_problem::localize(placement_stats s) const {
  if (global_ids_.empty()) return s;
  // Strictly ascending ids (every bucket) re-index in place: entry i reads global_ids_[i] >= i,
  // which no earlier entry has overwritten.
  const bool ascending =
      global_ids_.front() >= 0 &&
      std::adjacent_find(global_ids_.begin(), global_ids_.end(),
                         [](int a, int b) { return a >= b; }) == global_ids_.end();
  if (ascending) {
    for (size_t i = 0; i < models_.size(); ++i) {
      s.model_num_requests[i] = s.model_num_requests[global_ids_[i]];
      s.model_num_good[i] = s.model_num_good[global_ids_[i]];
    }
    s.model_num_requests.resize(models_.size());
    s.model_num_good.resize(models_.size());
    return s;
  }
  std::vector<int64_t> n(models_.size()), good(models_.size());
  for (size_t i = 0; i < models_.size(); ++i) {
    n[i] = s.model_num_requests[global_ids_[i]];
    good[i] = s.model_num_good[global_ids_[i]];
  }
  s.model_num_requests = std::move(n);
  s.model_num_good = std::move(good);
  return s;
}

std::vector<double> placement_problem::scores(const std::vector<placement>& local) const {
  if (global_ids_.empty()) return evaluator_->scores(local);
  std::vector<placement> global;
  global.reserve(local.size());
  for (const auto& p : local) global.push_back(to_global(p));
  return evaluator_->scores(global);
}

double placement_problem::score(const placement& local) const {
  return evaluator_->score(to_global(local));
}

}  // namespace alpaserve::planner
