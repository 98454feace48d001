#include "actors/stage_queue.hpp"

#include <stdexcept>
#include <utility>

namespace alpaserve::actors {

stage_queue::stage_queue(stage_executor& executor, deliver_fn deliver, finished_fn finished,
                         std::function<double()> clock)
    : executor_(executor),
      deliver_(std::move(deliver)),
      finished_(std::move(finished)),
      clock_(clock ? std::move(clock) : std::function<double()>(steady_seconds)) {
  if (!deliver_ || !finished_)
    throw std::invalid_argument("stage_queue: deliver and finished functions are required");
}

void stage_queue::enqueue(stage_job job) {
  waiting_.push_back({std::move(job), clock_()});
  pump();
}

void stage_queue::pump() {
  if (pumping_) return;
  pumping_ = true;
  // Cleared on every exit, also when the executor or a callback throws.
  struct reset {
    bool& flag;
    ~reset() { flag = false; }
  } guard{pumping_};
  while (!running_ && !waiting_.empty()) {
    waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    if (!w.job.error.empty()) {  // failed upstream: keeps its place, gets no times here
      finished_(std::move(w.job));
      continue;
    }
    const double now = clock_();
    w.job.queue_s.push_back(now - w.arrived);
    stage_run_request request;
    request.model = w.job.model;
    request.batch = w.job.batch;
    request.payload = std::move(w.job.payload);
    request.device_shape = std::move(w.job.device_shape);
    w.job.payload.clear();
    w.job.device_shape.clear();
    current_ = std::move(w.job);
    running_ = true;
    const uint64_t token = ++token_;
    executor_.start(std::move(request), [deliver = deliver_, token](stage_run_result r) {
      deliver(token, std::move(r));
    });
  }
}

bool stage_queue::complete(uint64_t token, stage_run_result result) {
  if (!running_ || token != token_) return false;
  stage_job job = std::move(current_);
  current_ = stage_job{};
  running_ = false;
  ++processed_;
  busy_seconds_ += result.run_s;
  job.run_s.push_back(result.run_s);
  job.nominal_s.push_back(executor_.nominal_seconds(job.model, job.batch));
  if (result.error.empty()) {
    job.payload = std::move(result.payload);
    job.device_shape = std::move(result.device_shape);
  } else {
    job.error = std::move(result.error);
  }
  finished_(std::move(job));
  pump();
  return true;
}

}  // namespace alpaserve::actors
