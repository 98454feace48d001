// reference_test_profiles(): the reference's hard-coded table, exactly.

#include <catch2/catch.hpp>

#include "planner/profile/reference_profiles.hpp"

using namespace alpaserve::planner;

TEST_CASE("reference_test_profiles reproduces load_test_prof_result exactly") {
  const profile_db db = reference_test_profiles();
  REQUIRE(db.size() == 4);
  const auto& b13 = db.at("alpa/bert-1.3b");
  REQUIRE(b13.configs.size() == 4);
  REQUIRE(b13.find({1, 1, 8})->stage_latency(1) ==
          std::vector<double>{0.015, 0.014, 0.014, 0.014, 0.014, 0.014, 0.014, 0.016});
  REQUIRE(b13.find({1, 1, 8})->weight_mem == std::vector<double>(8, 0.325 * gib));
  REQUIRE(b13.single_device_latency() == 0.099);
  REQUIRE(b13.weight_per_device({1, 1, 1}) == 2.6 * gib);
  REQUIRE(b13.find({1, 1, 4})->stage_latency(1) == std::vector<double>{0.028, 0.027, 0.027, 0.029});
  const auto& b26 = db.at("alpa/bert-2.6b");
  REQUIRE(b26.configs.size() == 2);
  REQUIRE(b26.find({1, 1, 2})->stage_latency(1) == std::vector<double>{0.075, 0.076});
  REQUIRE(b26.weight_per_device({1, 1, 2}) == 2.6 * gib);
  const auto& t2 = db.at("test-2GB-100ms");
  REQUIRE(t2.find({1, 1, 4})->stage_latency(1) == std::vector<double>(4, 0.026));
  REQUIRE(t2.weight_per_device({1, 1, 1}) == 2 * gib);
  const auto& t4 = db.at("test-4GB-150ms");
  REQUIRE(t4.single_device_latency() == 0.150);
  REQUIRE(t4.find({1, 1, 2})->stage_latency(1) == std::vector<double>{0.076, 0.076});
  REQUIRE(t4.weight_per_device({1, 1, 4}) == 1 * gib);
  // Only batch size 1, no activation memory.
  for (const auto& [name, p] : db.models())
    for (const auto& [pc, cp] : p.configs) {
      REQUIRE(cp.latency.size() == 1);
      REQUIRE(cp.act_mem.empty());
    }
}
