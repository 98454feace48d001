#pragma once
// The dispatcher's decisions without CAF: admission and group choice for each request (through
// the planner's shared dispatch rule, so the event simulator predicts what the runtime does),
// queue limits, the per-group clock mirror corrected by measured stage times, and lost groups.
// The dispatcher actor (actors/dispatcher.cpp) only feeds it messages and sends what it says.
//
// Concurrency: plain value owned by one actor; not thread-safe.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "planner/sim/dispatch_rule.hpp"

namespace alpaserve::actors {

// What the runtime serves: one entry per group of the realized placement.
struct served_group {
  int group = 0;
  std::vector<std::string> models;
  std::vector<std::vector<double>> stage_latency;  // per model (same order), per stage, seconds
  // Batching, per model (same order; empty = none): its max batch on this group and per-stage
  // seconds per supported batch size (empty = unprofiled). Admission then predicts the batch a
  // request joins (planner::predict_join), as the event simulator does.
  std::vector<int> max_batch;
  std::vector<std::vector<std::vector<double>>> batch_latency;
};

struct dispatch_settings {
  planner::dispatch_overheads overheads;
  planner::dispatch_strategy strategy = planner::dispatch_strategy::min_predicted_finish;
  int max_queue_per_group = 1024;  // admitted, unfinished requests per group
  size_t max_payload_bytes = 64u << 20;
  bool validate_payload = true;  // decode the tensor envelope of every request
  // With batching groups: predict the batch a request will join (false: batch-1 service).
  bool batch_admission = true;
};

enum class dispatch_outcome : uint8_t {
  admitted,
  unknown_model,
  bad_input,
  no_live_group,  // every group of the model was lost
  overloaded,     // every live group is at its queue limit
  slo_unattainable,
  model_unavailable,  // placed nowhere because its shards failed to load
  not_placed,         // configured, but the running placement has no room for it
};

struct dispatch_result {
  dispatch_outcome outcome = dispatch_outcome::unknown_model;
  int group = -1;
  uint64_t ticket = 0;  // admitted: names the request in on_finished
  double deadline = 0;
  double predicted_finish = 0;
  std::string message;  // set when not admitted
};

class dispatch_core {
 public:
  dispatch_core() = default;
  dispatch_core(std::vector<served_group> groups, std::vector<std::pair<std::string, double>> slos,
                dispatch_settings settings);

  // One request arriving at `now` (seconds on the dispatcher's clock). slo_s <= 0 uses the
  // model's configured SLO. Admitted requests reserve their group's stages.
  [[nodiscard]] dispatch_result decide(std::string_view model, std::string_view payload,
                                       double slo_s, double now);

  // A request of `group` finished (completed or failed): frees its queue slot and, when it
  // completed, corrects the group's clock with the measured stage ends. When a stage ended later
  // than the mirror predicted, every request queued behind it on that group is pushed back by
  // the same FCFS recurrence the mirror uses (so lateness does not pile up unseen while a group
  // stays busy); `ticket` is the one decide() returned (0: unknown, only the clock is corrected).
  void on_finished(int group, uint64_t ticket, bool completed, const std::vector<double>& stage_end,
                   const std::vector<double>& stage_run_s,
                   const std::vector<double>& stage_nominal_s);

  // The group's pipeline is broken: never route to it again.
  void on_group_down(int group);

  // The model is served nowhere because its shards failed to load; requests for it are answered
  // model_unavailable with `reason`.
  void set_unavailable(const std::string& model, std::string reason);
  // The model's groups are drained for a re-shard: requests are rejected not_placed, saying so.
  void set_switching(const std::string& model, std::string reason);

  [[nodiscard]] bool knows_model(std::string_view model) const;
  [[nodiscard]] double model_slo(std::string_view model) const;  // 0 when unknown
  [[nodiscard]] int64_t outstanding(int group) const;
  [[nodiscard]] bool group_alive(int group) const;
  [[nodiscard]] const planner::group_clock* clock(int group) const;
  [[nodiscard]] size_t num_groups() const noexcept { return groups_.size(); }

  // Counters (inspect).
  uint64_t admitted = 0, rejected_slo = 0, rejected_overloaded = 0, rejected_unknown = 0,
           rejected_bad_input = 0, failed_no_group = 0, completed = 0, failed = 0,
           rejected_not_placed = 0;
  // Keeps the counters of the core this one replaces (a new routing table after a re-plan).
  void carry_counters_from(const dispatch_core& old) noexcept;

 private:
  struct model_entry {
    double slo_s = 0;
    std::vector<planner::dispatch_candidate> candidates;  // every group hosting it
    std::string switching;    // why no group serves it during a re-shard, if so
    std::string unavailable;  // why it failed to load, if it did
  };
  [[nodiscard]] int slot_of(int group) const;
  // Re-predicts the requests queued behind `flights_[slot][index]` after its stage ends moved.
  void push_back_queue(int slot, size_t index);

  // An admitted request the group has not answered yet, as the mirror predicted it.
  struct flight {
    uint64_t ticket = 0;
    double admitted_at = 0;
    std::vector<double> latency;  // per stage, scaled as at admission
    std::vector<double> end;      // per stage: predicted (or, once known late, corrected) end
  };

  dispatch_settings settings_;
  std::vector<served_group> groups_;          // slot -> group (stage_latency storage)
  std::vector<planner::group_clock> clocks_;  // slot -> mirror
  std::vector<std::vector<planner::batch_latency_table>> tables_;  // slot -> per model
  std::vector<bool> batching_;                                     // slot -> admission batches
  std::vector<int64_t> outstanding_;
  std::vector<bool> alive_;
  std::unordered_map<int, int> slot_of_group_;
  std::unordered_map<std::string, model_entry> models_;
  std::vector<planner::dispatch_candidate> live_, scratch_;
  std::vector<std::deque<flight>> flights_;  // slot -> in admission (= FCFS) order
  uint64_t next_ticket_ = 0;
};

}  // namespace alpaserve::actors
