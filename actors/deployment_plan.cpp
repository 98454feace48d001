#include "actors/deployment_plan.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "actors/real_stage.hpp"
#include "planner/profile/model_zoo.hpp"

namespace alpaserve::actors {

namespace {

const node_devices& node_at(const std::vector<node_devices>& nodes, int index, int group) {
  if (index < 0 || static_cast<size_t>(index) >= nodes.size()) {
    throw std::invalid_argument(fmt::format("group {}: node index {} is out of range ({} nodes)",
                                            group, index, nodes.size()));
  }
  return nodes[static_cast<size_t>(index)];
}

// The profile a group's stages run with; its stage count must match the layout's.
const planner::config_profile& stage_profile(const group_layout& g,
                                             const std::vector<planner::model_data>& models,
                                             int model) {
  if (model < 0 || static_cast<size_t>(model) >= models.size()) {
    throw std::invalid_argument(fmt::format("group {}: model id {} is out of range ({} models)",
                                            g.group, model, models.size()));
  }
  const planner::model_data& m = models[static_cast<size_t>(model)];
  (void)group_stage_latency(g, m);  // throws naming the model and config when unprofiled
  const planner::config_profile& prof = *m.profile.find(g.config);
  const size_t stages = g.stages.size();
  if (prof.stage_latency(1).size() != stages || prof.weight_mem.size() != stages) {
    throw std::invalid_argument(
        fmt::format("group {}: model '{}' is profiled with {} stages for {} but the group has {}",
                    g.group, m.name, prof.weight_mem.size(), g.config.to_string(), stages));
  }
  return prof;
}

// The layer range of every stage of `model` on a real backend, or why it cannot run there.
struct real_split {
  const model_source* source = nullptr;
  std::vector<int> boundaries;  // pp + 1 entries
  std::string error;
};

real_split split_real_model(const group_layout& g, const planner::model_data& m,
                            const planner::config_profile& prof, const deployment_backend& b) {
  real_split out;
  const auto src = b.real_models.find(m.name);
  if (src == b.real_models.end()) {
    out.error =
        fmt::format("model '{}' has no real architecture for the {} backend", m.name, b.name);
    return out;
  }
  kernels::model_spec spec;
  try {
    spec = real_model_spec_of(src->second.architecture, src->second.definition, src->second.seed,
                              m.name);
  } catch (const std::invalid_argument& e) {
    out.error =
        fmt::format("model '{}' has no real architecture for the {} backend ({})", m.name, b.name,
                    src->second.definition.empty()
                        ? fmt::format("unknown architecture '{}'", src->second.architecture)
                        : std::string(e.what()));
    return out;
  }
  out.source = &src->second;
  const std::string what =
      src->second.definition.empty() ? src->second.architecture : std::string("model folder");
  try {
    out.boundaries = real_stage_boundaries(&prof, spec.layers, static_cast<int>(g.stages.size()));
  } catch (const std::invalid_argument& e) {  // fewer layers than stages
    out.error = fmt::format("model '{}' ({}): {}", m.name, what, e.what());
  }
  return out;
}

// Whether activations cross boundary k -> k + 1 of `g` over NCCL.
std::vector<bool> nccl_boundaries(const group_layout& g, const std::vector<node_devices>& nodes,
                                  const deployment_backend& b) {
  std::vector<bool> out(g.stages.size(), false);
  for (size_t k = 0; k + 1 < g.stages.size(); ++k) {
    const auto& from = g.stages[k];
    const auto& to = g.stages[k + 1];
    if (from.local_devices.empty()) continue;
    std::vector<device_id> receivers;
    for (int d : to.local_devices) receivers.emplace_back(node_at(nodes, to.node, g.group).name, d);
    const device_id sender{node_at(nodes, from.node, g.group).name, from.local_devices.front()};
    out[k] = choose_activation_link(b.name, b.have_nccl, sender, receivers) == "nccl";
  }
  return out;
}

planned_group plan_group(const group_layout& g, const std::vector<node_devices>& nodes,
                         const std::vector<planner::model_data>& models,
                         const deployment_backend& b) {
  if (g.stages.empty()) throw std::invalid_argument(fmt::format("group {} has no stages", g.group));
  const bool real = b.name != "emulated";
  planned_group out;
  out.group = g.group;
  out.models = g.models;
  for (const auto& st : g.stages) (void)node_at(nodes, st.node, g.group);
  out.description = describe_group(g, nodes);

  // Per model (in placement order): its profile, and on real backends its layer split.
  std::vector<const planner::config_profile*> profiles;
  std::vector<std::optional<real_split>> splits;
  for (int m : g.models) {
    profiles.push_back(&stage_profile(g, models, m));
    splits.emplace_back();
    if (!real) continue;
    const auto& model = models[static_cast<size_t>(m)];
    splits.back() = split_real_model(g, model, *profiles.back(), b);
    if (!splits.back()->error.empty()) out.failed_models[model.name] = splits.back()->error;
  }

  const std::vector<bool> nccl = nccl_boundaries(g, nodes, b);
  const int num_stages = static_cast<int>(g.stages.size());
  for (int k = 0; k < num_stages; ++k) {
    const stage_layout& sl = g.stages[static_cast<size_t>(k)];
    planned_stage st;
    st.node = sl.node;
    st.node_name = nodes[static_cast<size_t>(sl.node)].name;
    st.devices = sl.local_devices;
    st.stage = k;
    st.num_stages = num_stages;
    st.recv_over_nccl = k > 0 && nccl[static_cast<size_t>(k - 1)];
    st.send_over_nccl = nccl[static_cast<size_t>(k)];
    if (st.send_over_nccl)
      st.next_op = static_cast<int>(g.stages[static_cast<size_t>(k + 1)].local_devices.size());
    for (size_t i = 0; i < g.models.size(); ++i) {
      const auto& model = models[static_cast<size_t>(g.models[i])];
      if (out.failed_models.count(model.name)) continue;
      planned_shard shard;
      shard.model = model.name;
      shard.latency_s = profiles[i]->stage_latency(1)[static_cast<size_t>(k)];
      for (int bs : planner::supported_batch_sizes) {
        auto lat = profiles[i]->latency.find(bs);
        shard.batch_latency_s.push_back(lat != profiles[i]->latency.end() &&
                                                lat->second.size() > static_cast<size_t>(k)
                                            ? lat->second[static_cast<size_t>(k)]
                                            : 0.0);
      }
      shard.weight_bytes = profiles[i]->weight_mem[static_cast<size_t>(k)];
      if (splits[i]) {
        shard.architecture = splits[i]->source->architecture;
        shard.seed = splits[i]->source->seed;
        shard.weights_path = splits[i]->source->weights_path;
        shard.definition = splits[i]->source->definition;
        shard.layer_begin = splits[i]->boundaries[static_cast<size_t>(k)];
        shard.layer_end = splits[i]->boundaries[static_cast<size_t>(k + 1)];
      }
      st.shards.push_back(std::move(shard));
    }
    out.stages.push_back(std::move(st));
  }
  return out;
}

}  // namespace

deployment_plan plan_deployment(const std::vector<group_layout>& layouts,
                                const std::vector<node_devices>& nodes,
                                const std::vector<planner::model_data>& models,
                                const deployment_backend& backend,
                                const generation_layout* previous) {
  deployment_plan plan;
  plan.backend = backend.name;
  for (size_t g = 0; g < layouts.size(); ++g) {
    for (size_t h = 0; h < g; ++h)
      if (layouts[h].group == layouts[g].group)
        throw std::invalid_argument(fmt::format("group id {} is used twice", layouts[g].group));
    plan.groups.push_back(plan_group(layouts[g], nodes, models, backend));
    const int stages = static_cast<int>(layouts[g].stages.size());
    for (int k = 0; k < stages; ++k) {
      plan.wiring.push_back({g, k, k + 1 < stages ? k + 1 : pipeline_link::to_group_manager});
    }
  }
  if (previous != nullptr) plan.retire = retirements(*previous);
  return plan;
}

std::vector<group_retirement> retirements(const generation_layout& generation) {
  std::vector<group_retirement> out;
  for (const auto& g : generation.groups) {
    group_retirement r;
    r.group = g.group;
    for (const auto& st : g.stages) {
      const std::string& name = node_at(generation.nodes, st.node, g.group).name;
      if (std::find(r.nodes.begin(), r.nodes.end(), name) == r.nodes.end()) r.nodes.push_back(name);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace alpaserve::actors
