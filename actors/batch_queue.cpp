#include "actors/batch_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace alpaserve::actors {

batch_queue::batch_queue(std::vector<batch_model> models, planner::dispatch_overheads overheads)
    : models_(std::move(models)), overheads_(overheads) {
  costs_.resize(models_.size());
  for (size_t m = 0; m < models_.size(); ++m) {
    const batch_model& bm = models_[m];
    model_costs& c = costs_[m];
    for (size_t s = 0; s < bm.latency.size() && s < planner::num_batch_slots; ++s)
      if (!bm.latency[s].empty()) c.table.by_slot[s] = &bm.latency[s];
    // The largest profiled size at which batching pays bounds the batch (the rule picks only
    // such sizes): a model whose batches never pay is not held, as without batching.
    c.max_batch = c.table.by_slot[0] == nullptr
                      ? 1
                      : std::clamp(bm.max_batch, 1, std::max(1, c.table.largest_paying_size()));
    holds_ = holds_ || c.max_batch > 1;
    by_name_[bm.name] = static_cast<int>(m);
  }
}

void batch_queue::push(uint64_t id, const std::string& model, std::string key, double deadline) {
  auto it = by_name_.find(model);
  waiting_.push_back({id, it == by_name_.end() ? -1 : it->second, std::move(key), deadline});
}

bool batch_queue::remove(uint64_t id) {
  auto it =
      std::find_if(waiting_.begin(), waiting_.end(), [id](const entry& e) { return e.id == id; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

std::vector<uint64_t> batch_queue::next(double now) {
  std::vector<uint64_t> out;
  if (waiting_.empty() || (holds_ && busy_)) return out;
  const entry& head = waiting_.front();
  int count = 1;
  if (head.model >= 0) {
    const model_costs& c = costs_[static_cast<size_t>(head.model)];
    if (c.max_batch > 1) {
      const int run = planner::fcfs_run(waiting_.size(), c.max_batch, [&](size_t i) {
        return waiting_[i].model == head.model && waiting_[i].key == head.key;
      });
      // Requests may carry their own SLO: the earliest deadline of the candidate batch counts.
      count = planner::choose_batch_size(now, run, c.table, overheads_, [&](int size) {
        double d = head.deadline;
        for (int i = 1; i < size; ++i) d = std::min(d, waiting_[static_cast<size_t>(i)].deadline);
        return d;
      });
    }
  }
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    out.push_back(waiting_.front().id);
    waiting_.pop_front();
  }
  busy_ = holds_;
  ++batches_;
  batched_requests_ += out.size();
  return out;
}

std::vector<uint64_t> batch_queue::take_all() {
  std::vector<uint64_t> out;
  for (const entry& e : waiting_) out.push_back(e.id);
  waiting_.clear();
  return out;
}

}  // namespace alpaserve::actors
