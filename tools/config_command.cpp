// `alpaserve config check <file>`: validate a cluster config and print what it describes.
// With tls.enabled, `check` also validates the TLS material (net/tls_material.hpp) present on
// this machine; a problem exits 2 naming the file.
// `alpaserve config default`: print the built-in local demo cluster, a starting point for edits.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config_parser.hpp"
#include "config/default_config.hpp"
#include "config/planner_hooks.hpp"
#include "planner/core/input_error.hpp"
#include "tools/cluster_launch.hpp"
#include "tools/command_registry.hpp"
#include "tools/tls_files.hpp"

namespace alpaserve::tools {
namespace {

constexpr double gib = 1024.0 * 1024.0 * 1024.0;

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string describe_devices(const config::node_config& node) {
  std::vector<std::string> groups;
  for (const auto& g : node.devices)
    groups.push_back(fmt::format("{} x {} ({:g} GiB)", g.count, g.kind, g.memory_bytes / gib));
  return groups.empty() ? "-" : join(groups, ", ");
}

void print_summary(const config::cluster_config& cfg, std::ostream& out) {
  out << fmt::format("cluster \"{}\" ({}): {} nodes, {} devices ({:g} GiB), {} models\n\n",
                     cfg.name, cfg.source_file, cfg.nodes.size(), cfg.total_devices(),
                     cfg.total_device_memory() / gib, cfg.models.size());

  const auto here = cfg.nodes_on_this_host();
  out << fmt::format("{:<16} {:<24} {:<18} {:<5} {}\n", "NODE", "ENDPOINT", "ROLES", "HERE",
                     "DEVICES");
  for (const auto& n : cfg.nodes) {
    const bool local = std::find(here.begin(), here.end(), &n) != here.end();
    out << fmt::format("{:<16} {:<24} {:<18} {:<5} {}\n", n.name,
                       fmt::format("{}:{}", n.host, n.port), join(n.roles, ","),
                       local ? "yes" : "no", describe_devices(n));
  }

  out << fmt::format("\n{:<20} {:<28} {:<14} {:>8} {:>6}\n", "MODEL", "SOURCE", "SLO", "RATE/s",
                     "CV");
  for (const auto& m : cfg.models) {
    const std::string source = m.type.empty() ? "profile " + m.profile_file : "type " + m.type;
    const std::string slo = m.has_absolute_slo() ? fmt::format("{:g} ms", m.slo_seconds * 1000)
                                                 : fmt::format("{:g} x latency", m.slo_scale);
    out << fmt::format("{:<20} {:<28} {:<14} {:>8g} {:>6g}\n", m.name, source, slo, m.rate, m.cv);
  }

  const auto& p = cfg.planner;
  out << fmt::format(
      "\nplanner: policy {}, re-plan {}, device preset {}, max batch {}, max pp {}, max op {}\n",
      p.policy, p.replan_interval_s > 0 ? fmt::format("every {:g} s", p.replan_interval_s) : "off",
      p.device_preset.empty() ? "(from device kinds)" : p.device_preset, p.max_batch_size,
      p.max_pipeline_stages, p.max_intra_op);
  const auto& c = cfg.caf;
  out << fmt::format(
      "caf: scheduler {}, threads {}, heartbeat {}, profiling {}\n", c.scheduler_policy,
      c.max_threads > 0 ? std::to_string(c.max_threads) : "auto",
      c.heartbeat_interval_ms > 0 ? fmt::format("{} ms", c.heartbeat_interval_ms) : "off",
      c.profiling_enabled()
          ? fmt::format("to {} every {} ms", c.profiling_output_file, c.profiling_resolution_ms)
          : "off");
  const auto& d = cfg.dispatcher;
  out << fmt::format("dispatcher: overhead {:g} ms, queue {} per group, payload <= {} bytes\n",
                     d.overhead_s * 1000, d.max_queue_per_group, d.max_payload_bytes);
  out << "tls: "
      << (cfg.tls.enabled
              ? "on (CA " + cfg.tls.ca_path() + ", " +
                    (cfg.tls.shared_certificate() ? "one certificate " + cfg.tls.certificate
                                                  : "per-node certificates in " + cfg.tls.dir) +
                    ")"
              : "off")
      << "\n";
  std::vector<std::string> metrics_ports;
  for (const auto& n : cfg.nodes)
    metrics_ports.push_back(fmt::format("{} :{}", n.name, n.metrics_port));
  out << "metrics: "
      << (cfg.metrics.enabled ? "/metrics /healthz /readyz on " + join(metrics_ports, ", ") : "off")
      << "\n";
  for (const auto& w : cfg.warnings) out << "warning: " << w << "\n";
}

// With tls.enabled: the material of every node on this machine must be usable; that of other
// nodes and of clients is checked where present (each machine holds only its own key). Prints
// one line per node and returns every problem, each naming its file.
std::vector<std::string> check_tls(const config::cluster_config& cfg, std::ostream& out) {
  std::vector<std::string> problems;
  if (!cfg.tls.enabled) return problems;
  const auto here = cfg.nodes_on_this_host();
  std::error_code ec;
  auto check = [&](const std::string& who, const config::tls_config::files& files, bool required) {
    const bool present =
        std::filesystem::exists(files.certificate, ec) || std::filesystem::exists(files.key, ec);
    if (!present && !required) {
      out << fmt::format("tls {:<16} not on this machine ({}); checked where it runs\n", who,
                         files.certificate);
      return;
    }
    const auto checked = check_tls_files(cfg, files);
    for (const auto& p : checked.problems) problems.push_back(who + ": " + p);
    out << fmt::format("tls {:<16} {} ({}, {})\n", who, checked.problems.empty() ? "ok" : "INVALID",
                       files.certificate, files.key);
  };
  for (const auto& n : cfg.nodes) {
    const bool local = std::find(here.begin(), here.end(), &n) != here.end();
    check("node " + n.name, cfg.tls.node_files(n.name), local || cfg.tls.shared_certificate());
  }
  check("clients", cfg.tls.client_files(), cfg.tls.shared_certificate());
  return problems;
}

void add_config(CLI::App& app, run_fn& run) {
  auto* sub =
      app.add_subcommand("config", "Validate cluster config files or print the built-in one");
  sub->require_subcommand(1);

  auto* check = sub->add_subcommand(
      "check",
      "Validate a cluster config (TOML, docs/config.md) and print its nodes, devices and models.\n"
      "Every problem is reported as file:line:column: key: problem; exit code 2 if any.");
  static std::string path;
  check->add_option("file", path, "The cluster config file")->required();
  check->callback([&run] {
    run = [] {
      auto hooks = config::planner_validation_hooks();
      hooks.model_folder_problem = model_folder_problem;
      const auto cfg = config::load_cluster_config(path, hooks);
      print_summary(cfg, std::cout);
      const auto tls_problems = check_tls(cfg, std::cout);
      if (!tls_problems.empty()) {
        for (const auto& p : tls_problems) std::cerr << path << ": tls: " << p << "\n";
        return planner::exit_bad_input;
      }
      std::cout << "ok: " << path << " is a valid cluster config\n";
      return 0;
    };
  });

  auto* show_default = sub->add_subcommand(
      "default", "Print the built-in local demo cluster config (what `up` runs without --config)");
  show_default->callback([&run] {
    run = [] {
      std::cout << config::default_cluster_toml();
      return 0;
    };
  });
}

const command_registration registration{"config", 900, &add_config};

}  // namespace
}  // namespace alpaserve::tools
