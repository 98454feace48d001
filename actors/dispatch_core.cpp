#include "actors/dispatch_core.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "net/tensor_wire.hpp"

namespace alpaserve::actors {

dispatch_core::dispatch_core(std::vector<served_group> groups,
                             std::vector<std::pair<std::string, double>> slos,
                             dispatch_settings settings)
    : settings_(settings), groups_(std::move(groups)) {
  for (auto& [name, slo] : slos) models_[name].slo_s = slo;
  clocks_.reserve(groups_.size());
  tables_.resize(groups_.size());
  batching_.assign(groups_.size(), false);
  std::unordered_map<std::string, int> model_ids;
  for (size_t slot = 0; slot < groups_.size(); ++slot) {
    const served_group& g = groups_[slot];
    const int stages = g.stage_latency.empty() ? 0 : static_cast<int>(g.stage_latency[0].size());
    clocks_.emplace_back(stages);
    flights_.emplace_back();
    outstanding_.push_back(0);
    alive_.push_back(true);
    slot_of_group_[g.group] = static_cast<int>(slot);
    tables_[slot].resize(g.models.size());
    for (size_t m = 0; m < g.models.size(); ++m) {
      // A model may be served without a configured SLO only in hand-built tables; keep it known.
      planner::dispatch_candidate c{static_cast<int>(slot), &g.stage_latency[m]};
      const int max_batch = m < g.max_batch.size() ? g.max_batch[m] : 1;
      if (settings_.batch_admission && max_batch > 1 && m < g.batch_latency.size()) {
        planner::batch_latency_table& t = tables_[slot][m];
        for (size_t s = 0; s < g.batch_latency[m].size() && s < planner::num_batch_slots; ++s)
          if (g.batch_latency[m][s].size() == g.stage_latency[m].size())
            t.by_slot[s] = &g.batch_latency[m][s];
        // Only where some batch size pays (planner::batch_no_later): otherwise the group's
        // manager never batches this model and admission predicts batch-1 service.
        if (t.by_slot[0] != nullptr && t.largest_paying_size() > 1) {
          c.batches = &t;
          c.max_batch = max_batch;
          c.model =
              model_ids.emplace(g.models[m], static_cast<int>(model_ids.size())).first->second;
          batching_[slot] = true;
        }
      }
      models_[g.models[m]].candidates.push_back(c);
    }
  }
}

int dispatch_core::slot_of(int group) const {
  auto it = slot_of_group_.find(group);
  return it == slot_of_group_.end() ? -1 : it->second;
}

bool dispatch_core::knows_model(std::string_view model) const {
  return models_.count(std::string(model)) > 0;
}

double dispatch_core::model_slo(std::string_view model) const {
  auto it = models_.find(std::string(model));
  return it == models_.end() ? 0.0 : it->second.slo_s;
}

int64_t dispatch_core::outstanding(int group) const {
  const int s = slot_of(group);
  return s < 0 ? 0 : outstanding_[s];
}

bool dispatch_core::group_alive(int group) const {
  const int s = slot_of(group);
  return s >= 0 && alive_[s];
}

const planner::group_clock* dispatch_core::clock(int group) const {
  const int s = slot_of(group);
  return s < 0 ? nullptr : &clocks_[s];
}

dispatch_result dispatch_core::decide(std::string_view model, std::string_view payload,
                                      double slo_s, double now) {
  dispatch_result r;
  auto it = models_.find(std::string(model));
  if (it == models_.end()) {
    ++rejected_unknown;
    r.outcome = dispatch_outcome::unknown_model;
    r.message = fmt::format("unknown model '{}'", model);
    return r;
  }
  if (payload.size() > settings_.max_payload_bytes) {
    ++rejected_bad_input;
    r.outcome = dispatch_outcome::bad_input;
    r.message = fmt::format("payload of {} bytes exceeds the limit of {} bytes", payload.size(),
                            settings_.max_payload_bytes);
    return r;
  }
  if (settings_.validate_payload) {
    std::string problem;
    if (!net::validate_tensor(payload, &problem)) {
      ++rejected_bad_input;
      r.outcome = dispatch_outcome::bad_input;
      r.message = "malformed payload: " + problem;
      return r;
    }
  }
  const model_entry& entry = it->second;
  const double slo = slo_s > 0 ? slo_s : entry.slo_s;
  r.deadline = slo > 0 ? now + slo : now + 1e9;
  if (entry.candidates.empty() && !entry.unavailable.empty()) {
    ++failed_no_group;
    r.outcome = dispatch_outcome::model_unavailable;
    r.message = fmt::format("model '{}' is unavailable: {}", model, entry.unavailable);
    return r;
  }
  if (entry.candidates.empty()) {  // a re-plan with more room may place it later
    ++rejected_not_placed;
    r.outcome = dispatch_outcome::not_placed;
    r.message = entry.switching.empty()
                    ? fmt::format("model '{}' is not placed on any group", model)
                    : fmt::format("model '{}' is being re-sharded ({}); retry shortly", model,
                                  entry.switching);
    return r;
  }
  live_.clear();
  for (const auto& c : entry.candidates)
    if (alive_[c.group]) live_.push_back(c);
  const bool any_alive = !live_.empty();
  // The same queue cap as the event simulator's, before the same admission rule.
  planner::drop_full_groups(
      live_.data(), live_.size(), settings_.max_queue_per_group,
      [this](int slot) { return outstanding_[static_cast<size_t>(slot)]; }, scratch_);
  if (!any_alive) {
    ++failed_no_group;
    r.outcome = dispatch_outcome::no_live_group;
    r.message = fmt::format("every group serving '{}' was lost", model);
    return r;
  }
  if (scratch_.empty()) {
    ++rejected_overloaded;
    r.outcome = dispatch_outcome::overloaded;
    r.message = fmt::format("every group serving '{}' has {} requests queued", model,
                            settings_.max_queue_per_group);
    return r;
  }
  const planner::dispatch_decision d =
      planner::admit_or_reject(now, r.deadline, scratch_.data(), scratch_.size(), clocks_,
                               settings_.overheads, settings_.strategy);
  r.group = d.group >= 0 ? groups_[d.group].group : -1;
  r.predicted_finish = d.predicted_finish;
  if (d.verdict == planner::dispatch_verdict::admitted) {
    ++admitted;
    ++outstanding_[d.group];
    r.outcome = dispatch_outcome::admitted;
    r.ticket = ++next_ticket_;
    const planner::group_clock& clock = clocks_[d.group];
    flight f;
    f.ticket = r.ticket;
    f.admitted_at = now;
    f.end = clock.free_at;  // admit_or_reject just committed this request's stage ends
    for (const auto& c : scratch_)
      if (c.group == d.group)
        for (size_t k = 0; k < c.stage_latency->size(); ++k)
          f.latency.push_back((*c.stage_latency)[k] * clock.latency_scale[k]);
    flights_[d.group].push_back(std::move(f));
    return r;
  }
  ++rejected_slo;
  r.outcome = dispatch_outcome::slo_unattainable;
  r.message = fmt::format("SLO unattainable: predicted latency {:.1f} ms > SLO {:.1f} ms",
                          (d.predicted_finish - now) * 1e3, slo * 1e3);
  return r;
}

void dispatch_core::on_finished(int group, uint64_t ticket, bool ok,
                                const std::vector<double>& stage_end,
                                const std::vector<double>& stage_run_s,
                                const std::vector<double>& stage_nominal_s) {
  if (ok) {
    ++completed;
  } else {
    ++failed;
  }
  const int s = slot_of(group);
  if (s < 0) return;  // a group retired by a re-plan: counted, nothing to correct
  if (outstanding_[s] > 0) --outstanding_[s];
  auto& queue = flights_[static_cast<size_t>(s)];
  size_t index = queue.size();
  for (size_t i = 0; i < queue.size() && ticket != 0; ++i)
    if (queue[i].ticket == ticket) index = i;
  if (!ok || !alive_[s]) {
    if (index < queue.size()) queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(index));
    return;
  }
  planner::group_clock& clock = clocks_[s];
  const size_t n = std::min({stage_end.size(), stage_run_s.size(), stage_nominal_s.size(),
                             static_cast<size_t>(clock.num_stages())});
  for (size_t k = 0; k < n; ++k) {
    planner::observe_stage_end(clock, static_cast<int>(k), stage_end[k], stage_run_s[k],
                               stage_nominal_s[k]);
  }
  if (index == queue.size()) return;
  bool late = false;
  for (size_t k = 0; k < n && k < queue[index].end.size(); ++k) {
    if (stage_end[k] > queue[index].end[k]) {
      queue[index].end[k] = stage_end[k];
      late = true;
    }
  }
  // Batched groups: the flights' batch-1 latencies would overstate the queue behind; the
  // mirror is corrected through observe_stage_end only, as in the event simulator.
  if (late && !batching_[static_cast<size_t>(s)]) push_back_queue(s, index);
  queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(index));
}

void dispatch_core::push_back_queue(int slot, size_t index) {
  auto& queue = flights_[static_cast<size_t>(slot)];
  planner::group_clock& clock = clocks_[static_cast<size_t>(slot)];
  std::vector<double> prev = queue[index].end;  // the stage ends the next request waits for
  for (size_t j = index + 1; j < queue.size(); ++j) {
    flight& f = queue[j];
    double t = f.admitted_at + settings_.overheads.before_first_stage;
    bool moved = false;
    for (size_t k = 0; k < f.end.size() && k < prev.size() && k < f.latency.size(); ++k) {
      if (k > 0) t += settings_.overheads.per_stage_hop;
      t = std::max(t, prev[k]) + f.latency[k];
      if (t > f.end[k]) {
        f.end[k] = t;
        moved = true;
      }
      t = f.end[k];
      prev[k] = t;
    }
    if (!moved) return;  // the lateness was absorbed by idle time before this request
  }
  for (size_t k = 0; k < prev.size() && k < clock.free_at.size(); ++k)
    clock.free_at[k] = std::max(clock.free_at[k], prev[k]);
}

void dispatch_core::set_switching(const std::string& model, std::string reason) {
  auto it = models_.find(model);
  if (it != models_.end()) it->second.switching = std::move(reason);
}

void dispatch_core::set_unavailable(const std::string& model, std::string reason) {
  auto it = models_.find(model);
  if (it != models_.end()) it->second.unavailable = std::move(reason);
}

void dispatch_core::carry_counters_from(const dispatch_core& old) noexcept {
  admitted = old.admitted;
  rejected_slo = old.rejected_slo;
  rejected_overloaded = old.rejected_overloaded;
  rejected_unknown = old.rejected_unknown;
  rejected_bad_input = old.rejected_bad_input;
  failed_no_group = old.failed_no_group;
  rejected_not_placed = old.rejected_not_placed;
  completed = old.completed;
  failed = old.failed;
}

void dispatch_core::on_group_down(int group) {
  const int s = slot_of(group);
  if (s >= 0) flights_[static_cast<size_t>(s)].clear();
  if (s >= 0) alive_[s] = false;
}

}  // namespace alpaserve::actors
