#include "planner/profile/profile.hpp"

#include <algorithm>
#include <stdexcept>

#include "planner/core/input_error.hpp"

namespace alpaserve::planner {

const std::vector<double>& config_profile::stage_latency(int bs) const {
  auto it = latency.find(bs);
  if (it == latency.end())
    throw std::out_of_range("no profile for batch size " + std::to_string(bs));
  return it->second;
}

double config_profile::max_stage_weight() const noexcept {
  if (weight_mem.empty()) return 0.0;
  return *std::max_element(weight_mem.begin(), weight_mem.end());
}

void config_profile::add_result(int bs, std::vector<double> stage_latency,
                                std::vector<double> stage_weight,
                                std::vector<double> stage_act_mem) {
  auto it = latency.find(bs);
  if (it != latency.end()) {
    const double old_max = *std::max_element(it->second.begin(), it->second.end());
    const double new_max = *std::max_element(stage_latency.begin(), stage_latency.end());
    if (!(new_max < old_max)) return;
  }
  latency[bs] = std::move(stage_latency);
  if (!stage_act_mem.empty())
    act_mem[bs] = std::move(stage_act_mem);
  else
    act_mem.erase(bs);  // the replaced result's activation memory no longer applies
  weight_mem = std::move(stage_weight);
}

const config_profile* model_profile::find(const parallel_config& c) const noexcept {
  auto it = configs.find(c);
  return it == configs.end() ? nullptr : &it->second;
}

double model_profile::single_device_latency() const {
  const config_profile* p = find(parallel_config{1, 1, 1});
  if (p == nullptr) throw std::out_of_range("model " + name + " has no (1,1,1) profile");
  double sum = 0;
  for (double l : p->stage_latency(1)) sum += l;
  return sum;
}

double model_profile::weight_per_device(const parallel_config& c) const noexcept {
  const config_profile* p = find(c);
  return p == nullptr ? infinite_memory : p->max_stage_weight();
}

void profile_db::add(model_profile profile) {
  std::string key = profile.name;
  models_[key] = std::move(profile);
}

const model_profile* profile_db::find(const std::string& name) const noexcept {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : &it->second;
}

const model_profile& profile_db::at(const std::string& name) const {
  const model_profile* p = find(name);
  if (p == nullptr) throw input_error("", "model " + name, "no profile for this model");
  return *p;
}

}  // namespace alpaserve::planner
