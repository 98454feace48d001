#include "actors/membership.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "actors/controller_phase.hpp"

namespace alpaserve::actors {

std::string recovery_plan::describe() const {
  std::string out;
  if (!lost.empty()) out += fmt::format("lost {}", fmt::join(lost, ", "));
  if (!joined.empty())
    out += fmt::format("{}joined {}", out.empty() ? "" : "; ", fmt::join(joined, ", "));
  if (drained)
    out += fmt::format("{}groups drained by an abandoned re-shard", out.empty() ? "" : "; ");
  return out;
}

recovery_plan plan_recovery(const std::vector<std::string>& expected,
                            const std::vector<placed_node>& placed,
                            const std::map<std::string, member_view>& members) {
  recovery_plan out;
  auto member = [&](const std::string& name) -> const member_view* {
    auto it = members.find(name);
    return it == members.end() ? nullptr : &it->second;
  };
  for (const auto& p : placed) {
    const member_view* m = member(p.name);
    if (m == nullptr || !m->alive || m->incarnation != p.incarnation) out.lost.push_back(p.name);
  }
  for (const auto& name : expected) {
    const member_view* m = member(name);
    if (m == nullptr || !m->alive) continue;
    out.target.push_back(name);
    const bool placed_now = std::any_of(placed.begin(), placed.end(), [&](const placed_node& p) {
      return p.name == name && p.incarnation == m->incarnation;
    });
    if (!placed_now) out.joined.push_back(name);
  }
  return out;
}

join_action on_node_join(controller_phase phase) noexcept {
  switch (phase) {
    case controller_phase::waiting_for_nodes:
      return join_action::start_up;
    case controller_phase::serving:
      return join_action::place_now;
    case controller_phase::failed:
      return join_action::refuse;
    default:
      return join_action::place_later;
  }
}

double recovery_backoff_s(int consecutive_failures) noexcept {
  double s = 1;
  for (int i = 1; i < consecutive_failures && s < 16; ++i) s *= 2;
  return std::min(s, 16.0);
}

}  // namespace alpaserve::actors
