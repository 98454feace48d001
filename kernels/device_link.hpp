#pragma once
// A pipeline boundary on device buffers: a CUDA stage receives its input from the previous
// stage's GPU and sends its output to the next stage's GPUs without a trip through host memory
// and the wire (net/nccl_group.hpp: ncclSend / ncclRecv). Streams are cudaStream_t passed as
// void*, so that this header needs no CUDA. docs/real-execution.md.

#include <cstddef>
#include <functional>

namespace alpaserve::kernels {

struct device_link {
  // Set when the input comes from the previous stage: enqueues receiving `count` floats into
  // device pointer `data` on `stream`.
  std::function<void(float* data, size_t count, void* stream)> recv;
  // Set when the output goes to the next stage: enqueues sending `count` floats at device
  // pointer `data` on `stream`. The backend does not wait for it (the receivers post their
  // receives only when told, after this run returns); later work on the stream is ordered after
  // it, so the buffer is not overwritten early.
  std::function<void(const float* data, size_t count, void* stream)> send;
  // Waits for all work queued on `stream`, with a deadline (as device_allreduce::synchronize):
  // a receive whose sender is gone ends in std::runtime_error instead of blocking forever.
  std::function<void(void* stream)> synchronize;

  [[nodiscard]] bool active() const noexcept { return static_cast<bool>(recv || send); }
};

}  // namespace alpaserve::kernels
