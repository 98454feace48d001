#include "actors/stage_timer.hpp"

#include <chrono>

namespace alpaserve::actors {

double steady_seconds() noexcept {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

stage_timer::~stage_timer() = default;

}  // namespace alpaserve::actors
