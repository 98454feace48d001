#pragma once
// An NCCL communicator on device buffers, for two uses (docs/real-execution.md):
// * the all-reduce of a tensor-parallel CUDA stage (its op ranks; kernels::device_allreduce);
// * a pipeline boundary's activations (kernels::device_link): rank 0 is the sending stage's
//   leader, ranks 1..n the next stage's op ranks, and each output goes from rank 0 to every
//   other rank with ncclSend / ncclRecv.
// Built only when CMake finds CUDA and NCCL (ALPASERVE_HAVE_NCCL).
//
// Rendezvous: the same key-value store as the Gloo group (an actor on the controller node in the
// runtime, an in-process map in tests). Rank 0 creates the ncclUniqueId and publishes it, hex
// encoded, under prefix + "/nccl-id"; the other ranks read it; every rank then calls
// ncclCommInitRankConfig (ncclCommInitRank with a config) on its own device. One rank per device:
// NCCL does not support two ranks of one communicator on the same GPU.
//
// Errors: the communicator is non-blocking (ncclConfig_t::blocking = 0), so no NCCL call can hang
// the caller; each call is followed by polling the communicator's state until a deadline. An
// error or a timeout aborts the communicator (ncclCommAbort also ends kernels still waiting for a
// gone peer) and throws std::runtime_error; every later call throws too, naming the first error.
//
// No CAF here. Concurrency: one nccl_group per rank, used from one thread (the rank's job
// thread), and every rank issues the same all-reduces (or the matching sends and receives) in
// the same order.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "kernels/allreduce.hpp"
#include "kernels/device_link.hpp"
#include "net/gloo_group.hpp"  // rendezvous_store

namespace alpaserve::net {

class nccl_group {
 public:
  // Joins the group `prefix` as `rank` of `size` on CUDA device `device` (made current on the
  // calling thread). Blocks until every rank joined; throws std::runtime_error naming the prefix,
  // rank and cause when the id does not arrive, the device is missing, or NCCL fails or does not
  // finish within `timeout`.
  nccl_group(int rank, int size, int device, const rendezvous_store& store,
             const std::string& prefix,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~nccl_group();  // aborts the communicator (never blocks on a gone peer)
  nccl_group(const nccl_group&) = delete;
  nccl_group& operator=(const nccl_group&) = delete;

  // Enqueues the in-place sum (fp32) of `count` floats at device pointer `data` on `stream` (a
  // cudaStream_t of this group's device) and returns without waiting for it.
  void enqueue_allreduce(float* data, size_t count, void* stream);
  // Waits for everything queued on `stream`; throws (after aborting the communicator) when a
  // kernel or collective failed, or when the stream is not done within the timeout.
  void synchronize(void* stream);
  // Both as the CUDA backend takes them; valid while this object lives.
  [[nodiscard]] kernels::device_allreduce as_device_allreduce();

  // Point to point, rank 0 to the others (a pipeline boundary). Rank 0 only: enqueues sending
  // `count` floats at device pointer `data` to every other rank (one NCCL group call) on
  // `stream` and returns without waiting.
  void enqueue_send_to_all(const float* data, size_t count, void* stream);
  // Ranks > 0: enqueues receiving `count` floats from rank 0 into device pointer `data`.
  void enqueue_recv_from_root(float* data, size_t count, void* stream);
  // Ranks > 0: receives and drops `count` floats from rank 0 (a message for a shard this rank
  // does not hold must still be taken, or rank 0's stream would wait for it); blocks until done.
  void discard_from_root(size_t count);
  // As the CUDA backend takes it: rank 0 gets send, the others recv; valid while this lives.
  [[nodiscard]] kernels::device_link as_device_link();

  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }
  [[nodiscard]] int device() const noexcept { return device_; }

  // The linked NCCL library's version, e.g. "2.28.3".
  [[nodiscard]] static std::string library_version();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int rank_;
  int size_;
  int device_;
};

}  // namespace alpaserve::net
