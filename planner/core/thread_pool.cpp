#include "planner/core/thread_pool.hpp"

namespace alpaserve::planner {

thread_pool::thread_pool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void thread_pool::drain(const std::function<void(size_t)>& body) {
  for (;;) {
    size_t i;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_ >= size_ || error_) return;
      i = next_++;
    }
    try {
      body(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void thread_pool::worker_loop() {
  size_t seen = 0;
  for (;;) {
    const std::function<void(size_t)>* body;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || (body_ != nullptr && generation_ != seen); });
      if (stop_) return;
      seen = generation_;
      body = body_;
      ++active_;
    }
    drain(*body);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --active_;
    }
    done_.notify_all();
  }
}

void thread_pool::parallel_for(size_t n, const std::function<void(size_t)>& body) {
  if (workers_.empty() || n <= 1) {
    for (size_t i = 0; i < n; ++i) body(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    next_ = 0;
    size_ = n;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  drain(body);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0 && (next_ >= size_ || error_); });
    body_ = nullptr;
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace alpaserve::planner
