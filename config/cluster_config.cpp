#include "config/cluster_config.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

namespace alpaserve::config {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

bool node_config::has_role(const std::string& role) const noexcept {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

int node_config::num_devices() const noexcept {
  int n = 0;
  for (const auto& g : devices) n += g.count;
  return n;
}

std::string caf_config::profiling_file_for(const std::string& node_name) const {
  std::string out = profiling_output_file;
  const std::string placeholder = "{node}";
  for (size_t at = out.find(placeholder); at != std::string::npos;
       at = out.find(placeholder, at + node_name.size())) {
    out.replace(at, placeholder.size(), node_name);
  }
  return out;
}

std::string tls_config::ca_path() const {
  return !ca_file.empty() ? ca_file : (std::filesystem::path(dir) / "ca.pem").string();
}

std::string tls_config::ca_key_path() const {
  return (std::filesystem::path(dir) / "ca.key").string();
}

tls_config::files tls_config::node_files(const std::string& name) const {
  if (shared_certificate()) return {ca_path(), certificate, key};
  const std::filesystem::path d(dir);
  return {ca_path(), (d / ("node-" + name + ".pem")).string(),
          (d / ("node-" + name + ".key")).string()};
}

tls_config::files tls_config::client_files() const {
  if (shared_certificate()) return {ca_path(), certificate, key};
  const std::filesystem::path d(dir);
  return {ca_path(), (d / "client.pem").string(), (d / "client.key").string()};
}

const node_config* cluster_config::find_node(const std::string& node_name) const noexcept {
  for (const auto& n : nodes)
    if (n.name == node_name) return &n;
  return nullptr;
}

const model_config* cluster_config::find_model(const std::string& model_name) const noexcept {
  for (const auto& m : models)
    if (m.name == model_name) return &m;
  return nullptr;
}

const node_config& cluster_config::dispatcher_node() const {
  for (const auto& n : nodes)
    if (n.is_dispatcher()) return n;
  return controller_node();
}

const node_config& cluster_config::controller_node() const {
  for (const auto& n : nodes)
    if (n.is_controller()) return n;
  throw std::logic_error("cluster config '" + name + "' has no controller node");
}

int cluster_config::total_devices() const noexcept {
  int n = 0;
  for (const auto& node : nodes) n += node.num_devices();
  return n;
}

double cluster_config::total_device_memory() const noexcept {
  double bytes = 0;
  for (const auto& node : nodes)
    for (const auto& g : node.devices) bytes += g.count * g.memory_bytes;
  return bytes;
}

std::vector<const node_config*> cluster_config::nodes_on_this_host(
    const std::vector<std::string>& local_identities) const {
  std::vector<std::string> ids;
  for (const auto& id : local_identities) ids.push_back(lower(id));
  std::vector<const node_config*> out;
  for (const auto& n : nodes) {
    const std::string host = lower(n.host);
    if (is_loopback_host(host) || std::find(ids.begin(), ids.end(), host) != ids.end())
      out.push_back(&n);
  }
  return out;
}

std::vector<const node_config*> cluster_config::nodes_on_this_host() const {
  return nodes_on_this_host(local_host_identities());
}

std::vector<std::string> local_host_identities() {
  std::vector<std::string> ids;
  char hostname[256] = {};
  if (gethostname(hostname, sizeof(hostname) - 1) == 0 && hostname[0] != '\0') {
    std::string full(hostname);
    ids.push_back(full);
    // "worker-3.cluster.local" is also written "worker-3" in configs.
    const auto dot = full.find('.');
    if (dot != std::string::npos && dot > 0) ids.push_back(full.substr(0, dot));
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr) continue;
      char text[INET6_ADDRSTRLEN] = {};
      if (a->ifa_addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
        if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text))) ids.emplace_back(text);
      } else if (a->ifa_addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
        if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text))) ids.emplace_back(text);
      }
    }
    freeifaddrs(list);
  }
  return ids;
}

bool is_loopback_host(const std::string& host) {
  const std::string h = lower(host);
  if (h == "localhost" || h == "ip6-localhost" || h == "::1" || h == "[::1]") return true;
  in_addr addr{};
  return inet_pton(AF_INET, h.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace alpaserve::config
