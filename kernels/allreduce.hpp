#pragma once
// The collective a tensor-parallel stage needs: an in-place sum over the op ranks of a stage.
// net/ implements it with Gloo (CPU) / NCCL (GPU); inprocess_allreduce serves tests and
// single-process runs.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace alpaserve::kernels {

// Sums `count` floats at `data` element-wise over every rank of the stage, in place; every rank
// calls it with the same count in the same order. Called only when op_size > 1. For the CPU
// backend `data` is host memory; the CUDA backend stages through host memory too
// (docs/backends.md).
using allreduce_fn = std::function<void(float* data, size_t count)>;

// An all-reduce among `ranks` threads of one process. Each rank calls for_rank(r) once and runs
// its stage on its own thread; the sum is taken in rank order, so every rank gets bit-identical
// results. Not reusable across groups with different sizes; safe for any number of calls.
class inprocess_allreduce {
 public:
  explicit inprocess_allreduce(int ranks);
  [[nodiscard]] allreduce_fn for_rank(int rank);
  [[nodiscard]] int ranks() const noexcept { return ranks_; }

 private:
  void run(int rank, float* data, size_t count);
  void arrive_and_wait(std::unique_lock<std::mutex>& lock);

  int ranks_;                              // group size
  std::mutex mutex_;                       // guards everything below
  std::condition_variable cv_;             // barrier wake-ups
  int arrived_ = 0;                        // ranks at the current barrier
  unsigned long generation_ = 0;           // barrier round, to tell rounds apart
  std::vector<std::vector<float>> slots_;  // each rank's contribution for the current call
};

}  // namespace alpaserve::kernels
