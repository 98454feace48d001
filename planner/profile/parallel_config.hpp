#pragma once
// A group's parallel configuration: dp x op x pp devices (the reference's ParallelConfig).

#include <functional>
#include <string>
#include <tuple>

namespace alpaserve::planner {

struct parallel_config {
  int dp = 1;  // data-parallel replicas inside a group; always 1 in every policy
  int op = 1;  // intra-operator (tensor) parallel degree of each stage
  int pp = 1;  // number of pipeline stages

  [[nodiscard]] int num_devices() const noexcept { return dp * op * pp; }
  [[nodiscard]] bool empty() const noexcept { return dp == 0 && op == 0 && pp == 0; }
  [[nodiscard]] std::string to_string() const;  // "(dp,op,pp)"

  friend bool operator==(const parallel_config& a, const parallel_config& b) noexcept {
    return a.dp == b.dp && a.op == b.op && a.pp == b.pp;
  }
  friend bool operator!=(const parallel_config& a, const parallel_config& b) noexcept {
    return !(a == b);
  }
  friend bool operator<(const parallel_config& a, const parallel_config& b) noexcept {
    return std::tie(a.dp, a.op, a.pp) < std::tie(b.dp, b.op, b.pp);
  }
};

}  // namespace alpaserve::planner

template <>
struct std::hash<alpaserve::planner::parallel_config> {
  size_t operator()(const alpaserve::planner::parallel_config& c) const noexcept {
    return (static_cast<size_t>(c.dp) * 1315423911u) ^ (static_cast<size_t>(c.op) << 16) ^
           static_cast<size_t>(c.pp);
  }
};
