#include "tools/cluster_launch.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "config/planner_hooks.hpp"
#include "kernels/model_folder.hpp"

#include "config/default_config.hpp"
#include "planner/core/input_error.hpp"
#include "planner/policy/placement_io.hpp"
#include "planner/policy/policy_registry.hpp"
#include "planner/profile/model_zoo.hpp"
#include "planner/profile/profile_io.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "planner/sim/event_simulator.hpp"
#include "planner/workload/train_workload.hpp"
#include "tools/tls_files.hpp"

namespace alpaserve::tools {
namespace {

// Profiles of the config's zoo types on its device preset, computed once per process.
const planner::profile_db& zoo_db(const config::cluster_config& cfg) {
  static std::map<std::string, planner::profile_db> cache;
  const std::string preset = config::effective_device_preset(cfg);
  auto it = cache.find(preset);
  if (it != cache.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& m : cfg.models)
    if (planner::find_zoo_model(m.type) != nullptr &&
        std::find(names.begin(), names.end(), m.type) == names.end())
      names.push_back(m.type);
  planner::profile_db db;
  if (!names.empty()) db = planner::zoo_profile_db(planner::device_preset(preset), names);
  return cache.emplace(preset, std::move(db)).first->second;
}

// The profile of a `profile_file` model: the database's entry named like the model, else like its
// real-execution architecture (what `alpaserve profile` names it), else its only entry.
planner::model_profile profile_from_file(const config::model_config& m, const std::string& key) {
  const planner::profile_db db = planner::read_profile_db(m.profile_file);
  if (const auto* p = db.find(m.name)) return *p;
  if (!m.architecture.empty())
    if (const auto* p = db.find(m.architecture)) return *p;
  if (db.size() == 1) return db.models().begin()->second;
  std::string names;
  for (const auto& [name, p] : db.models()) names += (names.empty() ? "" : ", ") + name;
  throw planner::input_error(m.profile_file, key + ".profile_file",
                             "holds " + std::to_string(db.size()) + " models (" + names +
                                 ") and none is named '" + m.name + "'");
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
  config::validation_hooks hooks = config::planner_validation_hooks();
  hooks.model_folder_problem = model_folder_problem;
  return hooks;
}

std::optional<std::string> model_folder_problem(const std::string& folder) {
  try {
    kernels::check_model_weights(kernels::read_model_folder(folder, "model"));
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

config::cluster_config load_config_or_demo(const std::string& path, bool check_model_folders) {
  config::validation_hooks hooks = runtime_validation_hooks();
  hooks.check_model_folders = check_model_folders;
  if (path.empty()) return config::default_cluster_config(hooks);
  return config::load_cluster_config(path, hooks);
}

planner::profile_db type_profiles(const config::cluster_config& cfg) {
  planner::profile_db db = zoo_db(cfg);
  for (const auto& m : cfg.models)
    if (const auto* p = config::reference_type_profile(m.type)) db.add(*p);
  return db;
}

std::vector<planner::model_data> resolve_models(const config::cluster_config& cfg) {
  const planner::profile_db& zoo = zoo_db(cfg);
  std::vector<planner::model_data> out;
  for (size_t i = 0; i < cfg.models.size(); ++i) {
    const auto& m = cfg.models[i];
    const std::string key = fmt::format("models[{}]", i);
    planner::model_data d;
    if (!m.type.empty()) {
      const planner::model_profile* prof = zoo.find(m.type);
      if (prof == nullptr) prof = config::reference_type_profile(m.type);
      if (prof == nullptr)
        throw planner::input_error(cfg.source_file, key + ".type",
                                   "no profile for model type '" + m.type + "'");
      d.profile = *prof;
    } else {
      d.profile = profile_from_file(m, key);
    }
    if (d.profile.find({1, 1, 1}) == nullptr && !m.has_absolute_slo())
      throw planner::input_error(cfg.source_file, key + ".slo_scale",
                                 "the model's profile has no (1,1,1) config to scale; use slo_ms");
    d.name = m.name;
    d.profile.name = m.name;
    d.rate = m.rate;
    d.cv = m.cv;
    d.slo = m.has_absolute_slo() ? m.slo_seconds : m.slo_scale * d.profile.single_device_latency();
    out.push_back(std::move(d));
  }
  return out;
}

planner::placement solve_placement(const std::string& policy_name,
                                   const std::vector<planner::model_data>& models,
                                   const planner::cluster_env& cluster) {
  const auto policy = planner::make_policy(policy_name);
  const planner::workload train = planner::gen_train_workload(models);
  return policy->solve(models, cluster, &train, {}).first_placement();
}

planner::placement_with_replacement solve_schedule(const std::string& policy_name,
                                                   const std::vector<planner::model_data>& models,
                                                   const planner::cluster_env& cluster) {
  const auto policy = planner::make_policy(policy_name);
  const planner::workload train = planner::gen_train_workload(models);
  planner::policy_result r = policy->solve(models, cluster, &train, {});
  if (r.has_replacement()) return std::get<planner::placement_with_replacement>(r.solution);
  planner::placement_with_replacement one;
  one.start_times.push_back(0.0);
  one.placements.push_back(std::get<planner::placement>(r.solution));
  return one;
}

std::string windows_file_path(const std::string& config_path) {
  const auto slash = config_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : config_path.substr(0, slash + 1);
  std::string stem = slash == std::string::npos ? config_path : config_path.substr(slash + 1);
  const auto dot = stem.find_last_of('.');
  if (dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  return dir + stem + ".windows.json";
}

namespace {

net::tls_files to_tls_files(const net::tls::material& m) {
  return {m.ca_file, m.certificate, m.key, m.passphrase};
}

}  // namespace

net::runtime_settings caf_settings(const config::cluster_config& cfg, const std::string& node) {
  net::runtime_settings s;
  s.scheduler_policy = cfg.caf.scheduler_policy;
  s.max_threads = cfg.caf.max_threads;
  s.heartbeat_interval_ms = cfg.caf.heartbeat_interval_ms;
  if (cfg.caf.profiling_enabled()) s.profiling_output_file = cfg.caf.profiling_file_for(node);
  s.profiling_resolution_ms = cfg.caf.profiling_resolution_ms;
  s.max_message_bytes = cfg.caf.max_message_bytes;
  s.max_pending_message_bytes = cfg.caf.max_pending_message_bytes;
  // CAF re-reads the files on every connection and would fail only there: check them now.
  if (cfg.tls.enabled) s.tls = to_tls_files(require_node_material(cfg, node));
  return s;
}

void require_transport_material(const config::cluster_config& cfg,
                                const std::vector<const config::node_config*>& nodes, bool client) {
  if (!cfg.tls.enabled) return;
  for (const auto* n : nodes) (void)require_node_material(cfg, n->name);
  if (client) (void)require_client_material(cfg);
}

net::runtime_settings client_caf_settings(const config::cluster_config& cfg) {
  net::runtime_settings s;
  s.scheduler_policy = cfg.caf.scheduler_policy;
  s.max_threads = 2;
  s.heartbeat_interval_ms = cfg.caf.heartbeat_interval_ms;
  s.max_message_bytes = cfg.caf.max_message_bytes;
  s.max_pending_message_bytes = cfg.caf.max_pending_message_bytes;
  if (cfg.tls.enabled) s.tls = to_tls_files(require_client_material(cfg));
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
  l.is_dispatcher = &cfg.dispatcher_node() == node;
  l.is_worker = node->is_worker();
  const auto& ctrl = cfg.controller_node();
  l.controller_host = ctrl.host;
  l.controller_port = ctrl.port;
  for (const auto& n : cfg.nodes) {
    if (n.name != node->name) l.peers.emplace_back(n.host, n.port);
    if (!n.is_controller()) continue;
    if (n.name == node->name) l.candidate_index = static_cast<int>(l.controllers.size());
    l.controllers.emplace_back(n.host, n.port);
  }
  l.caf = caf_settings(cfg, node->name);
  auto& cs = l.controller;
  // Every node's agent bounds its stage starts with these; the controller uses them all.
  cs.timeouts.request_timeout_s = cfg.runtime.request_timeout_s;
  cs.timeouts.drain_timeout_s = cfg.runtime.drain_timeout_s;
  cs.timeouts.stage_start_timeout_s = cfg.runtime.stage_start_timeout_s;
  cs.timeouts.control_timeout_s = cfg.runtime.control_timeout_s;
  l.metrics_port = node->metrics_port;
  l.bind_address = !node->bind_address.empty() ? node->bind_address : cfg.caf.bind_address;
  // The metrics endpoint listens like the node port unless [metrics] bind_address says where.
  l.metrics_bind_address =
      !cfg.metrics.bind_address.empty() ? cfg.metrics.bind_address : l.bind_address;
  for (const auto& m : cfg.models) {
    if (!m.folder.empty())
      l.weights_files.push_back(
          (std::filesystem::path(m.folder) / kernels::model_weights_file).string());
    else if (!m.weights.empty())
      l.weights_files.push_back(m.weights);
  }
  if (!l.is_controller && !l.is_dispatcher) return l;
  // The deployment record lives next to the config (docs/runtime.md "Controller loss").
  if (l.is_controller && !cfg.source_file.empty() && cfg.source_file[0] != '<')
    cs.record_path = actors::deployment_record_path(cfg.source_file);

  for (const auto& n : cfg.nodes)
    if (n.is_worker()) cs.expected_nodes.push_back(n.name);
  cs.models = resolve_models(cfg);
  cs.backend = cluster_backend(cfg);
  cs.replan_interval_s = cfg.planner.replan_interval_s;
  cs.replan_with_placement_file = cfg.planner.replan_with_placement_file;
  cs.max_batch_size = cfg.planner.max_batch_size;
  for (const auto& m : cfg.models)
    if (m.max_batch_size > 0) cs.model_max_batch_size[m.name] = m.max_batch_size;
  if (cs.backend != "emulated") {
    for (size_t i = 0; i < cfg.models.size(); ++i) {
      const auto& m = cfg.models[i];
      actors::real_model_source src;
      if (!m.folder.empty()) {
        try {
          const kernels::model_folder f = kernels::read_model_folder(m.folder, m.name);
          src.definition = kernels::model_definition_json(f.spec);
          src.weights_path = f.weights_path;
        } catch (const std::exception& e) {
          throw planner::input_error(cfg.source_file, fmt::format("models[{}].folder", i),
                                     e.what());
        }
        cs.real_models[m.name] = std::move(src);
        continue;
      }
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
  const std::string file = placement_file.empty() ? cfg.planner.placement_file : placement_file;
  // The configured policy places the models at start-up when no placement file is given, and
  // in every case again after a node is lost or (re)joins (recovery, docs/runtime.md
  // "Failures"): a placement file is the starting point, not a freeze.
  const std::string policy = config::effective_policy(cfg.planner.policy);
  (void)planner::make_policy(policy);  // a bad name fails here, not on the controller
  const std::string policy_label =
      policy == cfg.planner.policy
          ? policy
          : policy + " (configured \"" + cfg.planner.policy + "\" not registered)";
  cs.solver = [policy](const std::vector<planner::model_data>& models,
                       const planner::cluster_env& env) {
    return solve_placement(policy, models, env);
  };
  // The first placement takes the policy's whole result: a time-segmented policy's windows run
  // in turn (docs/runtime.md "Time windows (Clockwork++)"). Their schedule is written next to
  // the config, as a placement file `simulate` reads (profiles named by model type).
  std::map<std::string, std::string> profile_names;
  for (const auto& m : cfg.models)
    if (!m.type.empty()) profile_names[m.name] = m.type;
  const std::string schedule_path = !cfg.source_file.empty() && cfg.source_file[0] != '<'
                                        ? windows_file_path(cfg.source_file)
                                        : std::string();
  cs.first_solver = [policy, profile_names, schedule_path](
                        const std::vector<planner::model_data>& models,
                        const planner::cluster_env& env) {
    planner::placement_with_replacement schedule = solve_schedule(policy, models, env);
    if (schedule.placements.size() > 1 && !schedule_path.empty()) {
      planner::placement_file f;
      f.cluster = env;
      f.models = models;
      for (auto& m : f.models) {
        auto it = profile_names.find(m.name);
        if (it != profile_names.end()) m.profile.name = it->second;
      }
      f.layout = schedule;
      try {
        planner::write_placement_file(schedule_path, f);
      } catch (const std::exception& e) {
        fmt::print(stderr, "cannot write the schedule to {}: {}\n", schedule_path, e.what());
      }
    }
    return schedule;
  };
  if (!file.empty()) {
    // The file's models name profiles by model name or by type (e.g. "bert-1.3b").
    planner::profile_db db = type_profiles(cfg);
    for (const auto& m : cs.models) db.add(m.profile);
    planner::placement_file pf = planner::read_placement_file(file, db);
    // A time-segmented file runs its windows in turn (docs/runtime.md "Time windows").
    if (pf.segmented()) {
      const auto& schedule = std::get<planner::placement_with_replacement>(pf.layout);
      if (const auto problems = planner::schedule_problems(schedule); !problems.empty())
        throw planner::input_error(file, "segments", problems.front());
    }
    // Serve exactly the file's models (their SLOs and profiles), then the config's other models
    // (known, but placed nowhere). A model the file gives no rate takes the config's rate and
    // CV: recovery re-places for that traffic.
    std::vector<planner::model_data> models = pf.models;
    for (auto& f : models)
      for (const auto& m : cs.models)
        if (m.name == f.name && f.rate == 0) {
          f.rate = m.rate;
          f.cv = m.cv;
        }
    for (const auto& m : cs.models) {
      bool present = false;
      for (const auto& f : models) present = present || f.name == m.name;
      if (!present) models.push_back(m);
    }
    cs.models = std::move(models);
    if (pf.segmented()) {
      cs.windows = std::get<planner::placement_with_replacement>(pf.layout);
      cs.fixed_placement = cs.windows->placements.front();
    } else {
      cs.fixed_placement = std::get<planner::placement>(pf.layout);
    }
    cs.policy_name = "placement file " + file + "; recovery: " + policy_label;
  } else {
    cs.policy_name = policy_label;
  }
  l.dispatcher.core.overheads = planner::default_runtime_overheads();
  l.dispatcher.core.overheads.before_first_stage = cfg.dispatcher.overhead_s;
  l.dispatcher.core.max_queue_per_group = cfg.dispatcher.max_queue_per_group;
  l.dispatcher.core.max_payload_bytes = cfg.dispatcher.max_payload_bytes;
  cs.overheads = l.dispatcher.core.overheads;  // the batch rule's hop and reply costs
  return l;
}

}  // namespace alpaserve::tools
