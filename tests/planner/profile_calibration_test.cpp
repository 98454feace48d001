// The v100 preset against every number the reference measured on V100s
// (../shared/reference/alpaserve.md section 1.2): stage latencies within 3%, weights ~2 B/param.

#include <catch2/catch.hpp>

#include <cmath>

#include "planner/profile/model_zoo.hpp"
#include "planner/profile/zoo_profiles.hpp"

using namespace alpaserve::planner;

namespace {

const model_profile& v100_profile(const std::string& name) {
  static const profile_db db =
      zoo_profile_db(device_preset("v100"), {"bert-1.3b", "bert-2.6b", "bert-6.7b"});
  return db.at(name);
}

void require_stages_within(const model_profile& p, int pp, const std::vector<double>& reference,
                           double tolerance) {
  const config_profile* c = p.find({1, 1, pp});
  REQUIRE(c != nullptr);
  const auto& got = c->stage_latency(1);
  REQUIRE(got.size() == reference.size());
  for (size_t s = 0; s < got.size(); ++s) {
    INFO(p.name << " pp=" << pp << " stage " << s << ": ours " << got[s] << " s, reference "
                << reference[s] << " s");
    REQUIRE(std::abs(got[s] / reference[s] - 1) <= tolerance);
  }
}

}  // namespace

TEST_CASE("v100 bert-1.3b matches the reference's single-device and pipeline latencies") {
  const auto& p = v100_profile("bert-1.3b");
  require_stages_within(p, 1, {0.099}, 0.03);
  require_stages_within(p, 2, {0.051, 0.052}, 0.03);
  require_stages_within(p, 4, {0.028, 0.027, 0.027, 0.029}, 0.03);
  require_stages_within(p, 8, {0.015, 0.014, 0.014, 0.014, 0.014, 0.014, 0.014, 0.016}, 0.03);
}

TEST_CASE("v100 bert-2.6b matches the reference's single-device and 2-stage latencies") {
  const auto& p = v100_profile("bert-2.6b");
  require_stages_within(p, 1, {0.148}, 0.03);
  require_stages_within(p, 2, {0.075, 0.076}, 0.03);
}

TEST_CASE("v100 bert-6.7b single-device latency is the reference's 0.396 s") {
  REQUIRE(v100_profile("bert-6.7b").single_device_latency() == Approx(0.396).epsilon(0.03));
}

TEST_CASE("v100 bert-103.5b single-device latency is near the reference's 4.6 s SLO base") {
  const auto* arch = find_zoo_model("bert-103.5b");
  const model_profile p = zoo_profile(*arch, device_preset("v100"), {1}, {1}, {1});
  REQUIRE(p.single_device_latency() == Approx(4.6).epsilon(0.03));
}

TEST_CASE("fp16 weights of the zoo match the reference's byte counts (about 2 bytes/param)") {
  const std::vector<std::pair<std::string, double>> expected = {
      {"bert-1.3b", 2.6e9}, {"bert-2.6b", 5.2e9}, {"bert-6.7b", 13.4e9},
      {"moe-1.3b", 2.6e9},  {"moe-2.4b", 4.8e9},  {"moe-5.3b", 10.6e9}};
  for (const auto& [name, bytes] : expected) {
    const auto* arch = find_zoo_model(name);
    REQUIRE(arch != nullptr);
    INFO(name << ": " << 2 * parameter_count(*arch) << " bytes");
    REQUIRE(2 * parameter_count(*arch) == Approx(bytes).epsilon(0.03));
  }
  // The profile's single-device weight is the parameter bytes.
  const auto& p = v100_profile("bert-6.7b");
  REQUIRE(p.weight_per_device({1, 1, 1}) ==
          Approx(2 * parameter_count(*find_zoo_model("bert-6.7b"))));
  // One bert-6.7b fits the reference's 13 GiB budget, as the reference's placements need.
  REQUIRE(p.weight_per_device({1, 1, 1}) < 13 * gib);
}

TEST_CASE("calibration_report covers every calibration point and stays within 3%") {
  const auto rows = calibration_report(device_preset("v100"));
  REQUIRE(rows.size() == 1 + 2 + 4 + 8 + 1 + 2 + 1 + 1);
  for (const auto& r : rows) {
    INFO(r.model << " pp=" << r.pp << " stage " << r.stage << " ours " << r.predicted << " raw "
                 << r.raw << " reference " << r.reference);
    REQUIRE(std::abs(r.predicted / r.reference - 1) <= 0.03);
    REQUIRE(r.raw > 0);
  }
}
