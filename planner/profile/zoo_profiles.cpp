#include "planner/profile/zoo_profiles.hpp"

#include <cmath>
#include <stdexcept>

#include "planner/core/input_error.hpp"
#include "planner/profile/layer_costs.hpp"

namespace alpaserve::planner {

namespace {

std::vector<partition_layer> scaled(std::vector<partition_layer> layers, double scale) {
  for (auto& l : layers) l.latency *= scale;
  return layers;
}

std::vector<const calibration_point*> points_for(const model_architecture& arch,
                                                 const device_spec& device) {
  std::vector<const calibration_point*> points;
  for (const auto& p : device.calibration)
    if (p.model == arch.name && p.pp >= 1 && p.pp <= arch.layers) points.push_back(&p);
  return points;
}

// Largest relative error over every stage of every point, at compute scale `scale`.
double worst_error(const std::vector<partition_layer>& base,
                   const std::vector<const calibration_point*>& points,
                   const stage_overheads& overheads, double scale) {
  const auto layers = scaled(base, scale);
  double worst = 0;
  for (const auto* p : points) {
    const auto split = partition_stages(layers, p->pp, overheads);
    for (int s = 0; s < p->pp && s < static_cast<int>(p->stage_latency.size()); ++s)
      worst = std::max(worst, std::abs(split.stage_latency[s] / p->stage_latency[s] - 1));
  }
  return worst;
}

}  // namespace

stage_overheads device_stage_overheads(const device_spec& d) {
  stage_overheads o;
  o.per_stage = d.stage_overhead;
  o.first_stage = d.input_overhead;
  o.last_stage = d.output_overhead;
  o.inter_stage_bandwidth = d.inter_stage_bandwidth;
  return o;
}

std::vector<partition_layer> partition_layers(const model_architecture& arch,
                                              const device_spec& device, int batch_size, int op,
                                              double compute_scale) {
  const model_costs costs = layer_costs(arch, device, batch_size, op);
  std::vector<partition_layer> layers;
  for (const auto& c : costs.layers)
    layers.push_back({c.latency * compute_scale, c.weight_bytes, c.output_bytes});
  layers.front().latency += costs.embedding.latency * compute_scale;
  layers.front().weight_bytes += costs.embedding.weight_bytes;
  layers.back().latency += costs.head.latency * compute_scale;
  layers.back().weight_bytes += costs.head.weight_bytes;
  layers.back().output_bytes = costs.head.output_bytes;
  return layers;
}

double calibrated_compute_scale(const model_architecture& arch, const device_spec& device) {
  const auto points = points_for(arch, device);
  if (points.empty()) return 1.0;
  const auto base = partition_layers(arch, device, 1, 1, 1.0);
  const auto overheads = device_stage_overheads(device);
  auto error = [&](double s) { return worst_error(base, points, overheads, s); };
  // The error is a maximum of |linear/const - 1| terms, so unimodal in the scale while the chosen
  // splits stay put: a 1% grid finds the basin, a golden-section search refines it.
  double best = 1.0;
  double best_error = error(best);
  for (double s = 0.2; s < 5.0; s *= 1.01) {
    const double e = error(s);
    if (e < best_error) {
      best = s;
      best_error = e;
    }
  }
  double lo = best / 1.01, hi = best * 1.01;
  const double phi = (std::sqrt(5.0) - 1) / 2;
  for (int it = 0; it < 60; ++it) {
    const double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
    if (error(a) < error(b))
      hi = b;
    else
      lo = a;
  }
  const double refined = (lo + hi) / 2;
  return error(refined) < best_error ? refined : best;
}

model_profile zoo_profile(const model_architecture& arch, const device_spec& device,
                          std::vector<int> ops, std::vector<int> pps,
                          std::vector<int> batch_sizes) {
  model_profile profile;
  profile.name = arch.name;
  const double scale = calibrated_compute_scale(arch, device);
  const auto overheads = device_stage_overheads(device);
  for (int op : ops) {
    if (!op_degree_supported(arch, op)) continue;
    for (int pp : pps) {
      if (pp < 1 || pp > arch.layers) continue;
      const auto split =
          partition_stages(partition_layers(arch, device, 1, op, scale), pp, overheads);
      config_profile& config = profile.configs[parallel_config{1, op, pp}];
      config.weight_mem = split.stage_weight;
      for (int bs : batch_sizes) {
        const auto layers = partition_layers(arch, device, bs, op, scale);
        const auto costs = evaluate_partition(layers, split.boundaries, overheads);
        const model_costs raw = layer_costs(arch, device, bs, op);
        std::vector<double> act(pp, 0);
        for (int s = 0; s < pp; ++s)
          for (int i = split.boundaries[s]; i < split.boundaries[s + 1]; ++i)
            act[s] = std::max(act[s], raw.layers[i].activation_bytes);
        config.latency[bs] = costs.stage_latency;
        config.act_mem[bs] = act;
      }
    }
  }
  return profile;
}

profile_db zoo_profile_db(const device_spec& device, const std::vector<std::string>& names) {
  const std::vector<std::string> wanted = names.empty() ? zoo_model_names() : names;
  profile_db db;
  for (const auto& name : wanted) {
    const model_architecture* arch = find_zoo_model(name);
    if (arch == nullptr) {
      std::string valid;
      for (const auto& n : zoo_model_names()) valid += (valid.empty() ? "" : ", ") + n;
      throw input_error("", "model " + name, "not in the model zoo; valid: " + valid);
    }
    db.add(zoo_profile(*arch, device));
  }
  return db;
}

std::vector<calibration_row> calibration_report(const device_spec& device) {
  std::vector<calibration_row> rows;
  const auto overheads = device_stage_overheads(device);
  for (const auto& p : device.calibration) {
    const model_architecture* arch = find_zoo_model(p.model);
    if (arch == nullptr || p.pp > arch->layers) continue;
    const double scale = calibrated_compute_scale(*arch, device);
    const auto base = partition_layers(*arch, device, 1, 1, 1.0);
    const auto fitted = partition_stages(scaled(base, scale), p.pp, overheads);
    const auto raw = partition_stages(base, p.pp, overheads);
    for (int s = 0; s < p.pp && s < static_cast<int>(p.stage_latency.size()); ++s)
      rows.push_back(
          {p.model, p.pp, s, p.stage_latency[s], fitted.stage_latency[s], raw.stage_latency[s]});
  }
  return rows;
}

}  // namespace alpaserve::planner
