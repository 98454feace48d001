#pragma once
// The TLS material a config names for a node or for clients, validated the way every node and
// client does at start (net/tls_material.hpp): problems name the config and the file at fault.

#include <string>
#include <vector>

#include "config/cluster_config.hpp"
#include "net/tls_material.hpp"

namespace alpaserve::tools {

// The files of `files` with the passphrase from tls.passphrase_env, and every problem of them
// ("path: problem"; a passphrase variable that is not set is one too).
struct checked_material {
  net::tls::material material;
  std::vector<std::string> problems;
};
[[nodiscard]] checked_material check_tls_files(const config::cluster_config& cfg,
                                               const config::tls_config::files& files);

// The material of node `name` (or of clients, with name empty), validated; throws
// planner::input_error "config: tls: problem; problem" naming every file at fault.
[[nodiscard]] net::tls::material require_node_material(const config::cluster_config& cfg,
                                                       const std::string& name);
[[nodiscard]] net::tls::material require_client_material(const config::cluster_config& cfg);

}  // namespace alpaserve::tools
