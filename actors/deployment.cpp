#include "actors/deployment.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace alpaserve::actors {

std::vector<group_layout> layout_groups(const planner::placement& p,
                                        const std::vector<node_devices>& nodes) {
  struct slot {
    int node;
    int local;
  };
  std::vector<slot> devices;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int d = 0; d < nodes[n].num_devices; ++d) devices.push_back({static_cast<int>(n), d});
  std::vector<group_layout> out;
  size_t next = 0;
  for (size_t g = 0; g < p.num_groups(); ++g) {
    const planner::parallel_config& c = p.group_configs[g];
    const size_t need = static_cast<size_t>(c.num_devices());
    if (next + need > devices.size()) {
      throw std::invalid_argument(
          fmt::format("placement needs {} devices but the registered nodes have {}",
                      p.num_devices(), devices.size()));
    }
    group_layout layout;
    layout.group = static_cast<int>(g);
    layout.config = c;
    layout.models = p.group_models[g];
    for (int k = 0; k < c.pp; ++k) {
      stage_layout stage;
      for (int o = 0; o < c.op * c.dp; ++o) {
        const slot& s = devices[next + static_cast<size_t>(k * c.op * c.dp + o)];
        if (o == 0) stage.node = s.node;
        if (s.node != stage.node) {
          throw std::invalid_argument(fmt::format(
              "group {} stage {}: its {} intra-op devices would straddle nodes {} and {}", g, k,
              c.op, nodes[stage.node].name, nodes[s.node].name));
        }
        stage.local_devices.push_back(s.local);
      }
      layout.stages.push_back(std::move(stage));
    }
    next += need;
    out.push_back(std::move(layout));
  }
  return out;
}

std::string describe_group(const group_layout& g, const std::vector<node_devices>& nodes) {
  std::string s = g.config.to_string() + " on ";
  for (size_t k = 0; k < g.stages.size(); ++k) {
    if (k > 0) s += " | ";
    const auto& st = g.stages[k];
    s += nodes.at(static_cast<size_t>(st.node)).name + ":";
    for (size_t i = 0; i < st.local_devices.size(); ++i)
      s += (i ? "," : "") + std::to_string(st.local_devices[i]);
  }
  return s;
}

const std::vector<double>& group_stage_latency(const group_layout& g,
                                               const planner::model_data& m) {
  const planner::config_profile* prof = m.profile.find(g.config);
  if (prof == nullptr) {
    throw std::invalid_argument(fmt::format("model '{}' has no profile for parallel config {}",
                                            m.name, g.config.to_string()));
  }
  return prof->stage_latency(1);
}

planner::placement spanning_pipeline_placement(const std::vector<planner::model_data>& models,
                                               const planner::cluster_env& cluster,
                                               int pipeline_stages) {
  if (pipeline_stages < 1) throw std::invalid_argument("pipeline_stages must be >= 1");
  planner::placement p;
  int left = cluster.num_devices;
  while (left > 0) {
    const int pp = std::min(pipeline_stages, left);
    p.group_configs.push_back({1, 1, pp});
    p.group_models.emplace_back();
    left -= pp;
  }
  std::vector<double> used(p.num_groups(), 0.0);
  // Round-robin over models: every model gets its first replica before any gets a second.
  bool added = true;
  while (added) {
    added = false;
    for (size_t m = 0; m < models.size(); ++m) {
      for (size_t i = 0; i < p.num_groups(); ++i) {
        const size_t g = (m + i) % p.num_groups();  // spread first replicas over groups
        auto& ids = p.group_models[g];
        if (std::find(ids.begin(), ids.end(), static_cast<int>(m)) != ids.end()) continue;
        const double w = models[m].profile.weight_per_device(p.group_configs[g]);
        if (!(w < planner::infinite_memory) || used[g] + w > cluster.mem_budget) continue;
        used[g] += w;
        ids.push_back(static_cast<int>(m));
        added = true;
        break;  // one new replica per model per round
      }
    }
  }
  return p;
}

}  // namespace alpaserve::actors
