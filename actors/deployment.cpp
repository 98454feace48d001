#include "actors/deployment.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

namespace alpaserve::actors {

namespace {

struct device_slot {
  int node;
  int local;
};

group_layout empty_layout(const planner::placement& p, size_t g) {
  group_layout layout;
  layout.group = static_cast<int>(g);
  layout.config = p.group_configs[g];
  layout.models = p.group_models[g];
  return layout;
}

// Groups take consecutive devices in node order. Fails (nullopt) when a stage's op devices
// would straddle two nodes.
std::optional<std::vector<group_layout>> sequential_layout(
    const planner::placement& p, const std::vector<device_slot>& devices) {
  std::vector<group_layout> out;
  size_t next = 0;
  for (size_t g = 0; g < p.num_groups(); ++g) {
    const planner::parallel_config& c = p.group_configs[g];
    group_layout layout = empty_layout(p, g);
    for (int k = 0; k < c.pp; ++k) {
      stage_layout stage;
      for (int o = 0; o < c.op * c.dp; ++o) {
        const device_slot& s = devices[next + static_cast<size_t>(k * c.op * c.dp + o)];
        if (o == 0) stage.node = s.node;
        if (s.node != stage.node) return std::nullopt;
        stage.local_devices.push_back(s.local);
      }
      layout.stages.push_back(std::move(stage));
    }
    next += static_cast<size_t>(c.num_devices());
    out.push_back(std::move(layout));
  }
  return out;
}

// Every stage's op devices on one node: stages by size, largest first (stable), each on the
// node where the group's previous stage went if it still has room, else on the node with the
// fewest free devices that fit (best fit keeps large blocks whole for later large stages).
std::vector<group_layout> packed_layout(const planner::placement& p,
                                        const std::vector<node_devices>& nodes) {
  std::vector<std::vector<int>> free_devices(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int d = nodes[n].num_devices - 1; d >= 0; --d) free_devices[n].push_back(d);
  struct stage_ref {
    size_t group;
    int stage;
    int size;
  };
  std::vector<stage_ref> order;
  std::vector<group_layout> out;
  for (size_t g = 0; g < p.num_groups(); ++g) {
    const planner::parallel_config& c = p.group_configs[g];
    out.push_back(empty_layout(p, g));
    out.back().stages.resize(static_cast<size_t>(c.pp));
    for (int k = 0; k < c.pp; ++k) order.push_back({g, k, c.op * c.dp});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const stage_ref& a, const stage_ref& b) { return a.size > b.size; });
  for (const stage_ref& r : order) {
    const auto fits = [&](int n) {
      return n >= 0 && free_devices[static_cast<size_t>(n)].size() >= static_cast<size_t>(r.size);
    };
    int node = r.stage > 0 ? out[r.group].stages[static_cast<size_t>(r.stage - 1)].node : -1;
    if (!fits(node)) {
      node = -1;
      for (size_t n = 0; n < nodes.size(); ++n)
        if (fits(static_cast<int>(n)) &&
            (node < 0 || free_devices[n].size() < free_devices[static_cast<size_t>(node)].size()))
          node = static_cast<int>(n);
    }
    if (node < 0) {
      std::string free_list;
      for (size_t n = 0; n < nodes.size(); ++n)
        free_list += fmt::format("{}{} {}", n ? ", " : "", nodes[n].name, free_devices[n].size());
      throw std::invalid_argument(fmt::format(
          "group {} stage {}: no node has {} free devices for its intra-op devices (a stage's "
          "op devices must share a node; free devices: {})",
          r.group, r.stage, r.size, free_list));
    }
    stage_layout& stage = out[r.group].stages[static_cast<size_t>(r.stage)];
    stage.node = node;
    auto& pool = free_devices[static_cast<size_t>(node)];
    for (int i = 0; i < r.size; ++i) {
      stage.local_devices.push_back(pool.back());
      pool.pop_back();
    }
  }
  return out;
}

}  // namespace

std::vector<group_layout> layout_groups(const planner::placement& p,
                                        const std::vector<node_devices>& nodes) {
  std::vector<device_slot> devices;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int d = 0; d < nodes[n].num_devices; ++d) devices.push_back({static_cast<int>(n), d});
  if (static_cast<size_t>(p.num_devices()) > devices.size()) {
    throw std::invalid_argument(
        fmt::format("placement needs {} devices but the registered nodes have {}", p.num_devices(),
                    devices.size()));
  }
  if (auto layout = sequential_layout(p, devices)) return std::move(*layout);
  return packed_layout(p, nodes);
}

sticky_layout_result sticky_layout(const planner::placement& p,
                                   const std::vector<node_devices>& nodes,
                                   const std::vector<group_layout>& running,
                                   const std::vector<node_devices>& running_nodes,
                                   const std::vector<bool>& usable) {
  sticky_layout_result out;
  out.layout.resize(p.num_groups());
  out.kept.assign(p.num_groups(), -1);
  std::vector<std::vector<bool>> taken(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    taken[n].assign(static_cast<size_t>(std::max(0, nodes[n].num_devices)), false);
  auto node_index = [&](const std::string& name) {
    for (size_t n = 0; n < nodes.size(); ++n)
      if (nodes[n].name == name) return static_cast<int>(n);
    return -1;
  };
  auto sorted = [](std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  std::vector<bool> used(running.size(), false);
  for (size_t g = 0; g < p.num_groups(); ++g) {
    const auto models = sorted(p.group_models[g]);
    for (size_t r = 0; r < running.size(); ++r) {
      if (used[r] || r >= usable.size() || !usable[r]) continue;
      if (!(running[r].config == p.group_configs[g]) || sorted(running[r].models) != models)
        continue;
      group_layout moved = running[r];  // node indices into `nodes` from here on
      bool fits = true;
      for (auto& stage : moved.stages) {
        const int n = node_index(running_nodes.at(static_cast<size_t>(stage.node)).name);
        fits = fits && n >= 0;
        if (!fits) break;
        stage.node = n;
        for (int d : stage.local_devices)
          fits = fits && d >= 0 && d < nodes[static_cast<size_t>(n)].num_devices &&
                 !taken[static_cast<size_t>(n)][static_cast<size_t>(d)];
      }
      if (!fits) continue;
      for (const auto& stage : moved.stages)
        for (int d : stage.local_devices)
          taken[static_cast<size_t>(stage.node)][static_cast<size_t>(d)] = true;
      moved.models = p.group_models[g];
      out.layout[g] = std::move(moved);
      out.kept[g] = static_cast<int>(r);
      used[r] = true;
      break;
    }
  }
  // The new groups, in placement order, on the devices left in node order.
  planner::placement rest;
  std::vector<size_t> rest_of;
  for (size_t g = 0; g < p.num_groups(); ++g)
    if (out.kept[g] < 0) {
      rest.group_configs.push_back(p.group_configs[g]);
      rest.group_models.push_back(p.group_models[g]);
      rest_of.push_back(g);
    }
  std::vector<device_slot> free;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (size_t d = 0; d < taken[n].size(); ++d)
      if (!taken[n][d]) free.push_back({static_cast<int>(n), static_cast<int>(d)});
  std::optional<std::vector<group_layout>> placed;
  if (static_cast<size_t>(rest.num_devices()) <= free.size())
    placed = sequential_layout(rest, free);
  if (!placed) return {layout_groups(p, nodes), std::vector<int>(p.num_groups(), -1)};
  for (size_t i = 0; i < rest_of.size(); ++i) {
    (*placed)[i].group = static_cast<int>(rest_of[i]);
    out.layout[rest_of[i]] = std::move((*placed)[i]);
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

std::vector<batch_model> group_batching(const group_layout& g,
                                        const std::vector<planner::model_data>& models,
                                        int max_batch_size,
                                        const std::map<std::string, int>& model_caps,
                                        const std::map<std::string, std::string>& failed) {
  std::vector<batch_model> out;
  for (int m : g.models) {
    const planner::model_data& md = models.at(static_cast<size_t>(m));
    if (failed.count(md.name) > 0) continue;
    const planner::config_profile* prof = md.profile.find(g.config);
    if (prof == nullptr) continue;
    batch_model bm;
    bm.name = md.name;
    bm.max_batch = std::max(1, max_batch_size);
    auto cap = model_caps.find(md.name);
    if (cap != model_caps.end() && cap->second > 0)
      bm.max_batch = std::min(bm.max_batch, cap->second);
    for (int bs : planner::supported_batch_sizes) {
      auto it = prof->latency.find(bs);
      bm.latency.push_back(it == prof->latency.end() ? std::vector<double>{} : it->second);
    }
    out.push_back(std::move(bm));
  }
  return out;
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

}  // namespace alpaserve::actors
