#include "planner/policy/replan_rule.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace alpaserve::planner {
namespace {

const model_traffic* find(const traffic_window& w, const std::string& name) {
  for (const auto& m : w.models)
    if (m.model == name) return &m;
  return nullptr;
}

}  // namespace

std::optional<std::string> detect_drift(const std::vector<model_data>& planned,
                                        const traffic_window& observed,
                                        const replan_thresholds& t) {
  if (observed.seconds < 1.0) return std::nullopt;
  std::vector<std::string> why;
  for (const auto& m : planned) {
    const model_traffic* o = find(observed, m.name);
    const double rate = o ? o->rate : 0.0;
    const double delta = std::abs(rate - m.rate);
    const double expected = m.rate * observed.seconds;
    const double noise = t.noise_sigmas * std::max(m.cv, 1.0) * std::sqrt(std::max(expected, 1.0));
    if (delta >= t.min_rate_delta && delta > t.rate_change * std::max(m.rate, 1e-9) &&
        delta * observed.seconds > noise) {
      why.push_back(fmt::format("{} rate {:.2f} -> {:.2f} r/s", m.name, m.rate, rate));
      continue;
    }
    if (o && o->count >= t.min_requests && m.cv > 0 && std::abs(o->cv - m.cv) > t.cv_change * m.cv)
      why.push_back(fmt::format("{} cv {:.2f} -> {:.2f}", m.name, m.cv, o->cv));
  }
  if (why.empty()) return std::nullopt;
  return fmt::format("{}", fmt::join(why, ", "));
}

std::vector<model_data> with_observed_traffic(const std::vector<model_data>& planned,
                                              const traffic_window& observed,
                                              const replan_thresholds& t) {
  std::vector<model_data> out = planned;
  for (auto& m : out) {
    const model_traffic* o = find(observed, m.name);
    m.rate = std::max(o ? o->rate : 0.0, t.rate_floor);
    if (o && o->count >= t.min_requests && o->cv > 0) m.cv = o->cv;
  }
  return out;
}

}  // namespace alpaserve::planner
