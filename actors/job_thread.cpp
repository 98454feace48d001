#include "actors/job_thread.hpp"

namespace alpaserve::actors {

job_thread::job_thread() : thread_([this] { loop(); }) {}

job_thread::~job_thread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void job_thread::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

size_t job_thread::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return jobs_.size() + (running_ ? 1 : 0);
}

void job_thread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping and drained
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    running_ = true;
    lock.unlock();
    job();
    lock.lock();
    running_ = false;
  }
}

}  // namespace alpaserve::actors
