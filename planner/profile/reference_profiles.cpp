#include "planner/profile/reference_profiles.hpp"

namespace alpaserve::planner {

namespace {

void add_config(model_profile& p, int pp, std::vector<double> latency, double stage_weight_gb) {
  p.configs[parallel_config{1, 1, pp}].add_result(
      1, std::move(latency), std::vector<double>(static_cast<size_t>(pp), stage_weight_gb * gib));
}

}  // namespace

profile_db reference_test_profiles() {
  profile_db db;
  {
    model_profile p;
    p.name = "alpa/bert-1.3b";
    add_config(p, 1, {0.099}, 2.6);
    add_config(p, 2, {0.051, 0.052}, 1.3);
    add_config(p, 4, {0.028, 0.027, 0.027, 0.029}, 0.65);
    add_config(p, 8, {0.015, 0.014, 0.014, 0.014, 0.014, 0.014, 0.014, 0.016}, 0.325);
    db.add(std::move(p));
  }
  {
    model_profile p;
    p.name = "alpa/bert-2.6b";
    add_config(p, 1, {0.148}, 5.2);
    add_config(p, 2, {0.075, 0.076}, 2.6);
    db.add(std::move(p));
  }
  {
    model_profile p;
    p.name = "test-2GB-100ms";
    add_config(p, 1, {0.100}, 2);
    add_config(p, 2, {0.051, 0.051}, 1);
    add_config(p, 4, {0.026, 0.026, 0.026, 0.026}, 0.5);
    db.add(std::move(p));
  }
  {
    model_profile p;
    p.name = "test-4GB-150ms";
    add_config(p, 1, {0.150}, 4);
    add_config(p, 2, {0.076, 0.076}, 2);
    add_config(p, 4, {0.039, 0.039, 0.039, 0.039}, 1);
    db.add(std::move(p));
  }
  return db;
}

}  // namespace alpaserve::planner
