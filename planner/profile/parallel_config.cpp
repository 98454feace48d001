#include "planner/profile/parallel_config.hpp"

namespace alpaserve::planner {

std::string parallel_config::to_string() const {
  return "(" + std::to_string(dp) + "," + std::to_string(op) + "," + std::to_string(pp) + ")";
}

}  // namespace alpaserve::planner
