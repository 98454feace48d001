#include "tools/cluster_launch.hpp"

#include <fmt/format.h>

#include "config/default_config.hpp"
#include "planner/event_simulator.hpp"
#include "planner/input_error.hpp"
#include "planner/model_zoo.hpp"
#include "planner/placement_io.hpp"
#include "planner/profile_io.hpp"
#include "planner/reference_profiles.hpp"

namespace alpaserve::tools {
namespace {

// Until the model zoo's calibrated profiles are merged, a config `type` is looked up among the
// reference's hard-coded test profiles; "bert-1.3b" and "bert-2.6b" map to their alpa/ entries
// (the reference's own V100 numbers for those models).
const planner::model_profile* find_type_profile(const std::string& type) {
  static const planner::profile_db db = planner::reference_test_profiles();
  if (const auto* p = db.find(type)) return p;
  return db.find("alpa/" + type);
}

// The profile of a model configured with profile_file: the database entry named like the model,
// else like its architecture, else the database's only model.
planner::model_profile profile_from_file(const config::model_config& m, const std::string& key) {
  const planner::profile_db db = planner::read_profile_db(m.profile_file);
  if (const auto* p = db.find(m.name)) return *p;
  if (!m.architecture.empty())
    if (const auto* p = db.find(m.architecture)) return *p;
  if (db.size() == 1) return db.models().begin()->second;
  std::string names;
  for (const auto& [n, p] : db.models()) names += (names.empty() ? "" : ", ") + n;
  throw planner::input_error(m.profile_file, key,
                             "has no profile named '" + m.name + "'" +
                                 (m.architecture.empty() ? "" : " or '" + m.architecture + "'") +
                                 " (it has: " + names + ")");
}

// The backend the node's devices run: "cpu", "cuda" or "emulated".
std::string backend_of_kind(const std::string& kind) {
  if (kind == "cpu" || kind == "cuda") return kind;
  return "emulated";
}

}  // namespace

std::string cluster_backend(const config::cluster_config& cfg) {
  std::string backend;
  std::string first_node;
  for (const auto& n : cfg.nodes) {
    if (!n.is_worker()) continue;
    for (const auto& g : n.devices) {
      const std::string b = backend_of_kind(g.kind);
      if (backend.empty()) {
        backend = b;
        first_node = n.name;
      } else if (b != backend) {
        throw planner::input_error(cfg.source_file, "nodes",
                                   "node '" + n.name + "' has " + b + " devices but node '" +
                                       first_node + "' has " + backend +
                                       " devices; one cluster runs one backend");
      }
    }
  }
  return backend.empty() ? "emulated" : backend;
}

config::validation_hooks runtime_validation_hooks() {
  config::validation_hooks hooks;
  hooks.model_type_known = [](const std::string& t) { return find_type_profile(t) != nullptr; };
  hooks.model_weight_bytes = [](const config::model_config& m) -> std::optional<double> {
    if (m.type.empty()) return std::nullopt;
    const auto* p = find_type_profile(m.type);
    if (p == nullptr) return std::nullopt;
    const auto* c = p->find({1, 1, 1});
    if (c == nullptr) return std::nullopt;
    double sum = 0;
    for (double w : c->weight_mem) sum += w;
    return sum;
  };
  return hooks;
}

config::cluster_config load_config_or_demo(const std::string& path) {
  if (path.empty()) return config::default_cluster_config(runtime_validation_hooks());
  return config::load_cluster_config(path, runtime_validation_hooks());
}

std::vector<planner::model_data> resolve_models(const config::cluster_config& cfg) {
  std::vector<planner::model_data> out;
  for (size_t i = 0; i < cfg.models.size(); ++i) {
    const auto& m = cfg.models[i];
    const std::string key = fmt::format("models[{}]", i);
    const planner::model_profile* prof = nullptr;
    if (!m.type.empty()) {
      prof = find_type_profile(m.type);
      if (prof == nullptr)
        throw planner::input_error(cfg.source_file, key + ".type",
                                   "no profile for model type '" + m.type + "'");
    }
    planner::model_profile from_file;
    if (prof == nullptr) {
      from_file = profile_from_file(m, key + ".profile_file");
      prof = &from_file;
    }
    planner::model_data d;
    d.name = m.name;
    d.profile = *prof;
    d.profile.name = m.name;
    d.rate = m.rate;
    d.cv = m.cv;
    d.slo = m.has_absolute_slo() ? m.slo_seconds : m.slo_scale * prof->single_device_latency();
    out.push_back(std::move(d));
  }
  return out;
}

net::runtime_settings caf_settings(const config::cluster_config& cfg, const std::string& node) {
  net::runtime_settings s;
  s.scheduler_policy = cfg.caf.scheduler_policy;
  s.max_threads = cfg.caf.max_threads;
  s.heartbeat_interval_ms = cfg.caf.heartbeat_interval_ms;
  if (cfg.caf.profiling_enabled()) s.profiling_output_file = cfg.caf.profiling_file_for(node);
  s.profiling_resolution_ms = cfg.caf.profiling_resolution_ms;
  return s;
}

net::runtime_settings client_caf_settings(const config::cluster_config& cfg) {
  net::runtime_settings s;
  s.scheduler_policy = cfg.caf.scheduler_policy;
  s.max_threads = 2;
  s.heartbeat_interval_ms = cfg.caf.heartbeat_interval_ms;
  return s;
}

actors::node_launch make_node_launch(const config::cluster_config& cfg, const std::string& name,
                                     const std::string& placement_file) {
  const config::node_config* node = cfg.find_node(name);
  if (node == nullptr) {
    std::string names;
    for (const auto& n : cfg.nodes) names += (names.empty() ? "" : ", ") + n.name;
    throw planner::input_error(cfg.source_file, "--name",
                               "no node named '" + name + "' (nodes: " + names + ")");
  }
  actors::node_launch l;
  l.name = node->name;
  l.host = node->host;
  l.port = node->port;
  l.num_devices = node->num_devices();
  l.device_memory_bytes = 0;
  for (const auto& g : node->devices) {
    l.device_kind = g.kind;
    l.device_memory_bytes = l.device_memory_bytes == 0
                                ? g.memory_bytes
                                : std::min(l.device_memory_bytes, g.memory_bytes);
  }
  l.is_controller = node->is_controller();
  l.is_worker = node->is_worker();
  const auto& ctrl = cfg.controller_node();
  l.controller_host = ctrl.host;
  l.controller_port = ctrl.port;
  l.caf = caf_settings(cfg, node->name);
  if (!l.is_controller) return l;

  auto& cs = l.controller;
  for (const auto& n : cfg.nodes)
    if (n.is_worker()) cs.expected_nodes.push_back(n.name);
  cs.models = resolve_models(cfg);
  cs.backend = cluster_backend(cfg);
  if (cs.backend != "emulated") {
    for (size_t i = 0; i < cfg.models.size(); ++i) {
      const auto& m = cfg.models[i];
      actors::real_model_source src;
      src.architecture = !m.architecture.empty() ? m.architecture : m.type;
      if (planner::find_zoo_model(src.architecture) == nullptr)
        throw planner::input_error(cfg.source_file, fmt::format("models[{}].architecture", i),
                                   "the " + cs.backend +
                                       " backend computes the model for real: give a model-zoo "
                                       "architecture (e.g. bert-tiny, bert-small)");
      src.seed = m.seed;
      src.weights_path = m.weights;
      cs.real_models[m.name] = std::move(src);
    }
  }
  if (!placement_file.empty()) {
    planner::profile_db db;
    for (const auto& m : cs.models) db.add(m.profile);
    for (const auto& m : cfg.models)
      if (!m.type.empty()) {
        planner::model_profile p = *find_type_profile(m.type);
        p.name = m.type;
        db.add(p);
      }
    planner::placement_file pf = planner::read_placement_file(placement_file, db);
    if (pf.segmented())
      throw planner::input_error(
          placement_file, "segments",
          "the runtime serves one placement; time segments are not supported");
    // Serve exactly the file's models (their SLOs and profiles), then the config's other models
    // (known, but placed nowhere).
    std::vector<planner::model_data> models = pf.models;
    for (const auto& m : cs.models) {
      bool present = false;
      for (const auto& f : models) present = present || f.name == m.name;
      if (!present) models.push_back(m);
    }
    cs.models = std::move(models);
    cs.fixed_placement = std::get<planner::placement>(pf.layout);
    cs.policy_name = "placement file " + placement_file;
  } else {
    // The policy registry is not wired in yet: the built-in spanning-pipeline placement.
    cs.policy_name = "builtin spanning-pipeline (pp=2)";
    cs.solver = [](const std::vector<planner::model_data>& models,
                   const planner::cluster_env& env) {
      return actors::spanning_pipeline_placement(models, env, 2);
    };
  }
  l.dispatcher.core.overheads = planner::default_runtime_overheads();
  l.dispatcher.core.max_queue_per_group = cfg.dispatcher.max_queue_per_group;
  l.dispatcher.core.max_payload_bytes = cfg.dispatcher.max_payload_bytes;
  return l;
}

}  // namespace alpaserve::tools
