#include "planner/sim/batch_rule.hpp"

namespace alpaserve::planner {

double batch_finish(double now, const std::vector<double>& stage_latency,
                    const dispatch_overheads& overheads) noexcept {
  double t = now + overheads.after_last_stage;
  for (double x : stage_latency) t += x;
  if (!stage_latency.empty())
    t += overheads.per_stage_hop * static_cast<double>(stage_latency.size() - 1);
  return t;
}

}  // namespace alpaserve::planner
