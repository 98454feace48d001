#pragma once
// The all-reduce of a tensor-parallel CPU stage across its op workers, over Gloo's TCP transport
// (what PyTorch uses for CPU collectives). Ranks meet through a rendezvous key-value store: in
// the runtime that is an actor on the controller node reached over CAF (actors/), in the
// profiler an in-process map. Each rank exchanges its TCP address through the store, then Gloo
// connects a full mesh and runs ring all-reduces on sync sockets: the rank's own thread sends and
// receives (no hand-off through Gloo's event-loop thread), blocking in recv(2) until its peer's
// data arrives or the timeout passes.
//
// No CAF here: the store is given as two functions, so this translation unit stays cheap.
// Concurrency: one gloo_group per rank; allreduce() is called from one thread at a time, and
// every rank calls it with the same counts in the same order (docs/real-execution.md).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "kernels/allreduce.hpp"

namespace alpaserve::net {

// A rendezvous key-value store. `get` blocks until the key is set or `timeout` passes (then it
// throws std::runtime_error naming the key).
struct rendezvous_store {
  std::function<void(const std::string& key, const std::string& value)> set;
  std::function<std::string(const std::string& key, std::chrono::milliseconds timeout)> get;
};

// An in-process store (threads of one process), for the profiler and tests.
[[nodiscard]] rendezvous_store make_local_store();

class gloo_group {
 public:
  // Joins the group `prefix` as `rank` of `size`: listens on `host` (an address of this machine
  // the other ranks can reach), publishes the address under prefix + "/<rank>", and connects
  // to every other rank. Blocks until all ranks joined; throws std::runtime_error after
  // `timeout`.
  gloo_group(int rank, int size, const std::string& host, const rendezvous_store& store,
             const std::string& prefix,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~gloo_group();
  gloo_group(const gloo_group&) = delete;
  gloo_group& operator=(const gloo_group&) = delete;

  // In-place element-wise sum over every rank (Gloo ring all-reduce).
  void allreduce(float* data, size_t count);
  // allreduce as the backends take it; valid while this object lives.
  [[nodiscard]] kernels::allreduce_fn as_allreduce_fn();

  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int rank_;
  int size_;
};

}  // namespace alpaserve::net
