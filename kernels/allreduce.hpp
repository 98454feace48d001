#pragma once
// The collective a tensor-parallel stage needs: an in-place sum over the op ranks of a stage.
// Two forms: on host memory (allreduce_fn; net/gloo_group.hpp, inprocess_allreduce for tests and
// single-process runs) and on device memory (device_allreduce; net/nccl_group.hpp, NCCL).

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace alpaserve::kernels {

// Sums `count` floats at `data` element-wise over every rank of the stage, in place; every rank
// calls it with the same count in the same order. Called only when op_size > 1. `data` is host
// memory: the CPU backend's activations, or the CUDA backend's staged copy when it is given no
// device_allreduce (docs/backends.md).
using allreduce_fn = std::function<void(float* data, size_t count)>;

// The same sum on device buffers, for a backend whose activations live in GPU memory (cuda) and a
// collective that reads them there (NCCL). `stream` is the backend's cudaStream_t, passed as
// void* so that this header needs no CUDA. Same ordering rule as allreduce_fn.
struct device_allreduce {
  // Enqueues the in-place sum of `count` floats at device pointer `data` on `stream` and returns
  // without waiting for it (later work on the stream is ordered after it).
  std::function<void(float* data, size_t count, void* stream)> enqueue;
  // Waits until all work queued on `stream` so far (kernels and collectives) has finished. The
  // backend calls it instead of cudaStreamSynchronize, so that a collective whose peer is gone
  // ends in a std::runtime_error after a timeout instead of blocking forever.
  std::function<void(void* stream)> synchronize;
};

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
