#include "planner/workload/traffic_meter.hpp"

#include <algorithm>
#include <cmath>

namespace alpaserve::planner {

void traffic_meter::record(const std::string& model, double t) {
  accumulator& a = models_[model];
  if (a.count > 0) {
    const double gap = t - a.last;
    ++a.gaps;
    const double delta = gap - a.gap_mean;
    a.gap_mean += delta / static_cast<double>(a.gaps);
    a.gap_m2 += delta * (gap - a.gap_mean);
  }
  a.last = t;
  ++a.count;
}

traffic_window traffic_meter::take(double now) {
  traffic_window w;
  w.seconds = std::max(0.0, now - start_);
  for (const auto& [name, a] : models_) {
    model_traffic m;
    m.model = name;
    m.count = a.count;
    m.rate = w.seconds > 0 ? static_cast<double>(a.count) / w.seconds : 0.0;
    if (a.gaps >= 2 && a.gap_mean > 0)
      m.cv = std::sqrt(a.gap_m2 / static_cast<double>(a.gaps)) / a.gap_mean;
    w.models.push_back(std::move(m));
  }
  std::sort(w.models.begin(), w.models.end(),
            [](const model_traffic& a, const model_traffic& b) { return a.model < b.model; });
  models_.clear();
  start_ = now;
  return w;
}

}  // namespace alpaserve::planner
