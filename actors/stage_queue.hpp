#pragma once
// The FCFS discipline of one pipeline stage (op rank), independent of its backend: tasks wait in
// arrival order, at most one runs on the stage_executor at a time, and each finished task carries
// its measured queue, run and nominal (profiled) seconds for this stage. No CAF here; the stage
// worker actor owns one queue and maps its net::stage_task to and from stage_job.
//
// Concurrency: every member function is called on the owner's thread. The executor's run
// callback may fire on another thread (real_executor's job thread): the queue hands it to the
// owner's `deliver` function, which must bring (token, result) back to the owner's thread and
// call complete() there (the actor: a message to itself). deliver may also call complete()
// directly when the callback already runs on the owner's thread (emulated_executor on the
// actor's timer), even inside enqueue(): the queue tolerates completions nested in a start.

#include <any>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "actors/stage_executor.hpp"

namespace alpaserve::actors {

// A request as one stage sees it (the stage-relevant fields of net::stage_task).
struct stage_job {
  uint64_t request_id = 0;
  std::string model;
  int batch = 1;                      // requests in the batch the tensor carries
  std::string payload;                // wire-format tensor in, the stage's output out
  std::vector<int64_t> device_shape;  // the tensor travels over the device link instead
  std::string error;              // non-empty: skipped (an earlier stage failed it) or failed here
  std::vector<double> queue_s;    // per stage so far; this stage appends one entry
  std::vector<double> run_s;      // per stage so far; this stage appends one entry
  std::vector<double> nominal_s;  // per stage so far; this stage appends one entry
  std::any envelope;              // the owner's data (reply address, ...), carried untouched
};

class stage_queue {
 public:
  // Brings a run's outcome back to the owner's thread, where it calls complete(token, result).
  using deliver_fn = std::function<void(uint64_t token, stage_run_result result)>;
  // Receives each task leaving the stage, in FCFS order: run (with this stage's times, output or
  // error) or passed through untouched (it arrived with an error).
  using finished_fn = std::function<void(stage_job job)>;

  // `clock`: monotonic seconds for arrival and start times (the emulated timer's clock, so queue
  // and run times share one clock); default steady_seconds. `executor` must outlive the queue.
  stage_queue(stage_executor& executor, deliver_fn deliver, finished_fn finished,
              std::function<double()> clock = {});

  // A task arrives now. Starts it when the stage is idle and nothing waits before it.
  void enqueue(stage_job job);
  // The outcome of the run started with `token` (see deliver_fn); starts the next task. Returns
  // false and ignores it when no run with that token is in flight.
  bool complete(uint64_t token, stage_run_result result);

  [[nodiscard]] bool busy() const noexcept { return running_; }
  // Tasks in the stage: waiting plus the running one.
  [[nodiscard]] size_t length() const noexcept { return waiting_.size() + (running_ ? 1 : 0); }
  // Runs completed and the sum of their measured run seconds.
  [[nodiscard]] uint64_t processed() const noexcept { return processed_; }
  [[nodiscard]] double busy_seconds() const noexcept { return busy_seconds_; }

 private:
  struct waiting {
    stage_job job;
    double arrived = 0;
  };
  // Starts waiting tasks (passing error tasks through) until one runs or none is left.
  void pump();

  stage_executor& executor_;
  deliver_fn deliver_;
  finished_fn finished_;
  std::function<double()> clock_;
  std::deque<waiting> waiting_;  // FCFS
  bool running_ = false;         // a run is in flight on the executor
  bool pumping_ = false;         // inside pump(): a nested complete() leaves starting to it
  stage_job current_;            // the running task (payload moved to the executor)
  uint64_t token_ = 0;           // of the run in flight
  uint64_t processed_ = 0;
  double busy_seconds_ = 0;
};

}  // namespace alpaserve::actors
