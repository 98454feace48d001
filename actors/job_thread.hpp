#pragma once
// One dedicated thread running posted jobs first come, first served. Real stage workers run
// their backend's load and compute here so a long GEMM never occupies a CAF scheduler thread;
// the job itself sends its result back to the actor as a message. No CAF here.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace alpaserve::actors {

class job_thread {
 public:
  job_thread();
  // Runs the jobs already posted, then joins.
  ~job_thread();
  job_thread(const job_thread&) = delete;
  job_thread& operator=(const job_thread&) = delete;

  void post(std::function<void()> job);
  // Jobs posted and not yet finished (including the running one).
  [[nodiscard]] size_t pending() const;

 private:
  void loop();

  mutable std::mutex mutex_;                // guards jobs_, running_, stopping_
  std::condition_variable cv_;              // wakes the thread on post / stop
  std::deque<std::function<void()>> jobs_;  // FCFS
  bool running_ = false;                    // a job is executing
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace alpaserve::actors
