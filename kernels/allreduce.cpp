#include "kernels/allreduce.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace alpaserve::kernels {

inprocess_allreduce::inprocess_allreduce(int ranks) : ranks_(ranks), slots_(ranks > 0 ? ranks : 0) {
  if (ranks < 1) throw std::invalid_argument("inprocess_allreduce needs at least one rank");
}

allreduce_fn inprocess_allreduce::for_rank(int rank) {
  if (rank < 0 || rank >= ranks_)
    throw std::invalid_argument("rank " + std::to_string(rank) + " out of range");
  return [this, rank](float* data, size_t count) { run(rank, data, count); };
}

void inprocess_allreduce::arrive_and_wait(std::unique_lock<std::mutex>& lock) {
  const unsigned long gen = generation_;
  if (++arrived_ == ranks_) {
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  } else {
    cv_.wait(lock, [&] { return generation_ != gen; });
  }
}

void inprocess_allreduce::run(int rank, float* data, size_t count) {
  std::unique_lock<std::mutex> lock(mutex_);
  slots_[rank].assign(data, data + count);
  arrive_and_wait(lock);  // every contribution is in
  for (size_t r = 0; r < slots_.size(); ++r)
    if (slots_[r].size() != count) throw std::logic_error("all-reduce ranks disagree on count");
  lock.unlock();
  // Same summation order on every rank -> bit-identical results.
  std::copy(slots_[0].begin(), slots_[0].end(), data);
  for (size_t r = 1; r < slots_.size(); ++r) {
    const float* s = slots_[r].data();
    for (size_t i = 0; i < count; ++i) data[i] += s[i];
  }
  lock.lock();
  arrive_and_wait(lock);  // nobody overwrites a slot before all have read it
}

}  // namespace alpaserve::kernels
