#pragma once
// A small fixed pool of worker threads for data-parallel loops inside the planner (scoring many
// candidate placements at once).
//
// Concurrency: parallel_for may be called from one thread at a time; it blocks until every index
// has run. The body must be safe to call concurrently for different indices. With 1 thread the
// body runs inline on the caller, so single-threaded runs have no synchronisation at all.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace alpaserve::planner {

class thread_pool {
 public:
  // threads <= 1: no workers, parallel_for runs inline.
  explicit thread_pool(int threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  [[nodiscard]] int threads() const noexcept { return static_cast<int>(workers_.size()) + 1; }
  // Runs body(i) for i in [0, n), the caller's thread taking part; rethrows the first exception.
  void parallel_for(size_t n, const std::function<void(size_t)>& body);

 private:
  void worker_loop();
  void drain(const std::function<void(size_t)>& body);

  std::vector<std::thread> workers_;  // threads - 1 helpers
  std::mutex mutex_;
  std::condition_variable wake_;  // workers wait here for a new loop or shutdown
  std::condition_variable done_;  // the caller waits here for the loop to finish
  const std::function<void(size_t)>* body_ = nullptr;  // current loop, null when idle
  size_t next_ = 0;                                    // next index to hand out
  size_t size_ = 0;                                    // indices in the current loop
  size_t active_ = 0;                                  // workers inside the current loop
  size_t generation_ = 0;     // bumps for every loop so workers join each loop once
  std::exception_ptr error_;  // first exception thrown by the body
  bool stop_ = false;
};

}  // namespace alpaserve::planner
