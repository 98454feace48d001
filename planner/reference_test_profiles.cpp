#include "planner/reference_test_profiles.hpp"

#include <vector>

namespace alpaserve::planner {
namespace {

constexpr double gb = gib;  // the reference's GB is 2^30 bytes

void add(model_profile& m, int pp, std::vector<double> latency, double weight_per_stage) {
  config_profile& c = m.configs[parallel_config{1, 1, pp}];
  c.add_result(1, std::move(latency),
               std::vector<double>(static_cast<size_t>(pp), weight_per_stage));
}

profile_db build() {
  profile_db db;
  model_profile b13{"alpa/bert-1.3b", {}};
  add(b13, 1, {0.099}, 2.6 * gb);
  add(b13, 2, {0.051, 0.052}, 1.3 * gb);
  add(b13, 4, {0.028, 0.027, 0.027, 0.029}, 0.65 * gb);
  add(b13, 8, {0.015, 0.014, 0.014, 0.014, 0.014, 0.014, 0.014, 0.016}, 0.325 * gb);
  db.add(b13);
  model_profile b26{"alpa/bert-2.6b", {}};
  add(b26, 1, {0.148}, 5.2 * gb);
  add(b26, 2, {0.075, 0.076}, 2.6 * gb);
  db.add(b26);
  model_profile t2{"test-2GB-100ms", {}};
  add(t2, 1, {0.100}, 2 * gb);
  add(t2, 2, {0.051, 0.051}, 1 * gb);
  add(t2, 4, {0.026, 0.026, 0.026, 0.026}, 0.5 * gb);
  db.add(t2);
  model_profile t4{"test-4GB-150ms", {}};
  add(t4, 1, {0.150}, 4 * gb);
  add(t4, 2, {0.076, 0.076}, 2 * gb);
  add(t4, 4, {0.039, 0.039, 0.039, 0.039}, 1 * gb);
  db.add(t4);
  return db;
}

}  // namespace

const profile_db& reference_test_profiles() {
  static const profile_db db = build();
  return db;
}

}  // namespace alpaserve::planner
