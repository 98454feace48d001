#pragma once
// The queue in front of a group's first stage, with the batch rule the event simulator uses
// (planner/sim/batch_rule.hpp): the group manager holds admitted requests here and, whenever stage
// 0 is free, takes the next batch (the FIFO head and the run of requests behind it that belong with
// it, sized by planner::choose_batch_size). No CAF here; the group manager actor owns one.
//
// Without batching (every model's max batch 1) nothing is held: next() hands out each request
// as soon as it is pushed and stage 0's own FCFS queue orders them, as before batching existed.
//
// Concurrency: plain value owned by one actor; not thread-safe.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "planner/sim/batch_rule.hpp"
#include "planner/sim/dispatch_rule.hpp"

namespace alpaserve::actors {

// What the queue knows of one model of the group.
struct batch_model {
  std::string name;
  int max_batch = 1;  // >= 1; 1 = this model never batches
  // Per supported batch size (planner::supported_batch_sizes): per-stage profiled seconds on this
  // group's config; empty = unprofiled. Entry 0 (batch 1) must be set when max_batch > 1.
  std::vector<std::vector<double>> latency;
};

class batch_queue {
 public:
  batch_queue() = default;
  // `overheads`: per_stage_hop and after_last_stage are the rule's (as the dispatcher's).
  batch_queue(std::vector<batch_model> models, planner::dispatch_overheads overheads);

  // A request admitted at `deadline` (seconds, the caller's clock). `key` names what it may be
  // batched with: only consecutive requests of the same model with equal keys join one batch
  // (the runtime uses the shape of the input tensor without its batch dimension).
  void push(uint64_t id, const std::string& model, std::string key, double deadline);
  // Removes a waiting request (it failed before it started); false when it is not waiting.
  bool remove(uint64_t id);
  // Stage 0 is free (or, without batching, anything waits): the ids of the next batch in FIFO
  // order, and stage 0 counts as busy until stage0_free(). Empty when nothing waits or stage 0 is
  // busy. `now` on the deadlines' clock.
  [[nodiscard]] std::vector<uint64_t> next(double now);
  // Stage 0 finished its batch.
  void stage0_free() noexcept { busy_ = false; }
  // Every waiting id, in order; the queue is left empty (a broken group fails them).
  [[nodiscard]] std::vector<uint64_t> take_all();

  [[nodiscard]] bool holds() const noexcept { return holds_; }  // some model batches
  [[nodiscard]] bool busy() const noexcept { return busy_; }
  [[nodiscard]] size_t waiting() const noexcept { return waiting_.size(); }
  // Batches handed out and the requests in them (inspect).
  [[nodiscard]] uint64_t batches() const noexcept { return batches_; }
  [[nodiscard]] uint64_t batched_requests() const noexcept { return batched_requests_; }

 private:
  struct entry {
    uint64_t id = 0;
    int model = -1;  // index into models_; -1 = unknown here (never batched)
    std::string key;
    double deadline = 0;
  };
  struct model_costs {
    int max_batch = 1;
    planner::batch_latency_table table;
  };
  std::vector<batch_model> models_;  // owns the latency vectors the tables point into
  std::vector<model_costs> costs_;
  std::unordered_map<std::string, int> by_name_;
  planner::dispatch_overheads overheads_;
  std::deque<entry> waiting_;
  bool holds_ = false;
  bool busy_ = false;
  uint64_t batches_ = 0, batched_requests_ = 0;
};

}  // namespace alpaserve::actors
