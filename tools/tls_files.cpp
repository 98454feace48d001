#include "tools/tls_files.hpp"

#include <cstdlib>

#include "planner/core/input_error.hpp"

namespace alpaserve::tools {
namespace {

net::tls::material require_valid(const config::cluster_config& cfg,
                                 const config::tls_config::files& files, const std::string& who) {
  auto checked = check_tls_files(cfg, files);
  if (checked.problems.empty()) return checked.material;
  std::string all;
  for (const auto& p : checked.problems) all += (all.empty() ? "" : "; ") + p;
  throw planner::input_error(cfg.source_file, "tls",
                             "the TLS material of " + who + " is not usable: " + all);
}

}  // namespace

checked_material check_tls_files(const config::cluster_config& cfg,
                                 const config::tls_config::files& files) {
  checked_material out;
  out.material = {files.ca_file, files.certificate, files.key, ""};
  if (!cfg.tls.passphrase_env.empty()) {
    const char* value = std::getenv(cfg.tls.passphrase_env.c_str());
    if (value == nullptr)
      out.problems.push_back("tls.passphrase_env: the environment variable " +
                             cfg.tls.passphrase_env + " is not set");
    else
      out.material.passphrase = value;
  }
  for (auto& p : net::tls::check_material(out.material)) out.problems.push_back(std::move(p));
  return out;
}

net::tls::material require_node_material(const config::cluster_config& cfg,
                                         const std::string& name) {
  return require_valid(cfg, cfg.tls.node_files(name), "node " + name);
}

net::tls::material require_client_material(const config::cluster_config& cfg) {
  return require_valid(cfg, cfg.tls.client_files(), "clients");
}

}  // namespace alpaserve::tools
