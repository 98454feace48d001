#pragma once
// Which controller a node obeys (docs/runtime.md "Controller loss"). Every control message
// carries the sending controller's epoch, a number the controller persists and raises on every
// start; a node remembers the newest epoch it has heard and ignores commands from older ones, so
// a controller that was cut off and comes back cannot undo what its successor did. (CAF node ids
// can repeat after a restart, so they cannot tell two controllers apart.) Shared by every actor
// of a node process; no CAF.

#include <atomic>
#include <cstdint>
#include <string>

#include <spdlog/spdlog.h>

namespace alpaserve::actors {

class epoch_gate {
 public:
  // True when a command of `epoch` is to be obeyed: it is not older than the newest epoch seen,
  // which it then becomes. Epoch 0 (a sender without one, e.g. a unit test) is obeyed only while
  // no controller has been heard.
  bool admit(uint64_t epoch) noexcept {
    uint64_t seen = newest_.load(std::memory_order_relaxed);
    while (epoch > seen && !newest_.compare_exchange_weak(seen, epoch, std::memory_order_relaxed)) {
    }
    return epoch >= newest_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t newest() const noexcept { return newest_.load(std::memory_order_relaxed); }

  // !admit(epoch), with the warning every refusing actor logs: "<who> ignores <what> ...".
  bool refuses(uint64_t epoch, const std::string& who, const char* what) {
    if (admit(epoch)) return false;
    spdlog::warn("{} ignores {} from controller epoch {} (newest {})", who, what, epoch, newest());
    return true;
  }

 private:
  std::atomic<uint64_t> newest_{0};
};

}  // namespace alpaserve::actors
