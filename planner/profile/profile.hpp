#pragma once
// Profiles: what the planner knows about a model's cost under each parallel config
// (the reference's LatencyMemData / ProfilingResult / ProfilingDatabase, see
// ../shared/reference/alpaserve.md section 1.1). Formats: docs/profiles.md.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "planner/profile/parallel_config.hpp"

namespace alpaserve::planner {

inline constexpr double gib = static_cast<double>(1ull << 30);
inline constexpr int supported_batch_sizes[] = {1, 2, 4, 8, 16};

// Costs of one model under one parallel config.
struct config_profile {
  std::map<int, std::vector<double>> latency;  // batch size -> per-stage latency (s), size pp
  std::map<int, std::vector<double>> act_mem;  // batch size -> per-stage activation bytes
  std::vector<double> weight_mem;              // per-stage weight bytes (per device of the stage)
  // Layer split the stages were measured with (pp + 1 indices, stage i = layers [b_i, b_i+1));
  // empty when unknown (then real execution splits the layers evenly). Written by `profile`.
  std::vector<int> boundaries;

  // Per-stage latencies at batch size bs; throws std::out_of_range when absent.
  [[nodiscard]] const std::vector<double>& stage_latency(int bs = 1) const;
  // Largest per-stage weight: what each device of a group must hold for this model.
  [[nodiscard]] double max_stage_weight() const noexcept;
  [[nodiscard]] int num_stages() const noexcept { return static_cast<int>(weight_mem.size()); }

  // Adds or replaces the entry for bs following the reference rule: an existing batch size is
  // replaced only when the new max stage latency is smaller (then weight_mem is replaced too).
  void add_result(int bs, std::vector<double> stage_latency, std::vector<double> stage_weight,
                  std::vector<double> stage_act_mem = {});
};

// All configs of one model.
struct model_profile {
  std::string name;
  std::map<parallel_config, config_profile> configs;

  [[nodiscard]] const config_profile* find(const parallel_config& c) const noexcept;
  // Sum of the batch-1 stage latencies of config (1,1,1): the base of every SLO.
  // Throws std::out_of_range when (1,1,1) is not profiled.
  [[nodiscard]] double single_device_latency() const;
  // Memory one device of a group with config c needs for this model; +inf when unprofiled.
  [[nodiscard]] double weight_per_device(const parallel_config& c) const noexcept;
};

// Profiles of every known model, by name.
class profile_db {
 public:
  void add(model_profile profile);  // replaces a model of the same name
  [[nodiscard]] const model_profile* find(const std::string& name) const noexcept;
  // Throws input_error naming `context` when missing.
  [[nodiscard]] const model_profile& at(const std::string& name) const;
  [[nodiscard]] const std::map<std::string, model_profile>& models() const noexcept {
    return models_;
  }
  [[nodiscard]] bool empty() const noexcept { return models_.empty(); }
  [[nodiscard]] size_t size() const noexcept { return models_.size(); }

 private:
  std::map<std::string, model_profile> models_;
};

inline constexpr double infinite_memory = std::numeric_limits<double>::infinity();

}  // namespace alpaserve::planner
