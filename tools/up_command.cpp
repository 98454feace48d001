// `alpaserve up [--config F]`: start every node of the config that lives on this machine as a
// child process, wait until the cluster serves, and stop the children cleanly on Ctrl-C.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/default_config.hpp"
#include "net/client.hpp"
#include "planner/core/input_error.hpp"
#include "tools/cli_checks.hpp"
#include "tools/cluster_launch.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

volatile std::sig_atomic_t up_stop = 0;
extern "C" void on_up_signal(int sig) {
  up_stop = sig;
}

struct up_args {
  std::string config;
  std::string placement;
  std::string profile_scheduler;
  double ready_timeout_s = 60;
};

// Whether a TCP listener could bind host:port now (SO_REUSEADDR, as CAF's publish does).
bool port_is_free(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return true;  // cannot tell; let the node report it
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1)
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// "  [controller, dispatcher]" for the roles beyond worker.
std::string roles_label(const config::cluster_config& cfg, const config::node_config& n) {
  std::string out;
  if (n.is_controller()) out += "controller";
  if (&cfg.dispatcher_node() == &n) out += std::string(out.empty() ? "" : ", ") + "dispatcher";
  return out.empty() ? "" : "  [" + out + "]";
}

// A port the kernel considers free on loopback right now.
int ephemeral_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The built-in demo's text with every busy port moved to a free one (the demo's ports are fixed
// for reproducibility, but a second demo or another program may hold them).
std::string demo_with_free_ports(const config::cluster_config& demo) {
  std::string text(config::default_cluster_toml());
  for (const auto& n : demo.nodes) {
    // Its metrics port (port + metrics.port_offset) moves with it.
    if (port_is_free(n.host, n.port) &&
        (n.metrics_port <= 0 || port_is_free(n.host, n.metrics_port)))
      continue;
    const int moved = ephemeral_port();
    const std::string from = "port = " + std::to_string(n.port);
    const auto at = text.find(from);
    if (at == std::string::npos) continue;
    text.replace(at, from.size(), "port = " + std::to_string(moved));
    std::cout << "port " << n.port << " of " << n.name << " is in use; using " << moved
              << " instead\n";
  }
  return text;
}

// Whether node `n` of this cluster answers on its port (its node agent names it).
bool node_runs_here(const config::cluster_config& cfg, const config::node_config& n) {
  try {
    net::client_options o;
    o.host = n.host;
    o.port = n.port;
    o.connect_timeout_s = 2;
    o.connect_dispatcher = false;
    o.caf = client_caf_settings(cfg);
    net::client c(o);
    for (const auto& a : c.node_status(n.host, n.port).actors)
      if (a.role == "node-agent" && a.node == n.name) return true;
  } catch (const std::exception&) {
  }
  return false;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) throw std::runtime_error("cannot find the alpaserve binary (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

int run_up(const up_args& a) {
  auto cfg = load_config_or_demo(a.config);
  std::string config_path = a.config;
  if (config_path.empty()) {  // children read the built-in demo from a file like any config
    const std::string text = demo_with_free_ports(cfg);
    config_path = "/tmp/alpaserve-demo-" + std::to_string(::getpid()) + ".toml";
    std::ofstream(config_path) << text;
    cfg = config::parse_cluster_config(text, config_path, runtime_validation_hooks());
  }
  auto local = cfg.nodes_on_this_host();
  require_transport_material(cfg, local, true);  // before any child starts
  if (local.empty()) {
    std::cerr << "no node of " << cfg.source_file << " lives on this machine\n";
    return 2;
  }
  // A node of this cluster that already runs (the others kept serving while its process was
  // gone, e.g. after the controller was lost) is not started again: `up` starts the missing
  // ones, and a restarted controller adopts the running cluster (docs/runtime.md "Controller
  // loss"). Anything else on a node's port is an error.
  std::vector<const config::node_config*> to_start;
  for (const auto* n : local) {
    if (port_is_free(n->host, n->port)) {
      to_start.push_back(n);
      continue;
    }
    if (node_runs_here(cfg, *n)) {
      std::cout << n->name << " already runs on " << n->host << ":" << n->port
                << "; not started again\n";
      continue;
    }
    throw planner::input_error(cfg.source_file, "node " + n->name + " port",
                               n->host + ":" + std::to_string(n->port) +
                                   " is already in use (another cluster or program listens "
                                   "there); stop it or change the port in the config");
  }
  if (to_start.empty()) {
    std::cout << "every node of " << cfg.source_file << " on this machine already runs\n";
    return 0;
  }
  local = to_start;
  for (const auto* n : local)
    if (n->metrics_port > 0 && !port_is_free(n->host, n->metrics_port))
      throw planner::input_error(cfg.source_file, "node " + n->name + " metrics_port",
                                 n->host + ":" + std::to_string(n->metrics_port) +
                                     " (its metrics port) is already in use; set the node's "
                                     "metrics_port or metrics.port_offset in the config");
  std::signal(SIGINT, on_up_signal);
  std::signal(SIGTERM, on_up_signal);
  const std::string exe = self_exe();
  struct child {
    std::string name;
    pid_t pid;
  };
  std::vector<child> children;
  for (const auto* n : local) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::setpgid(0, 0);  // Ctrl-C reaches `up` only; `up` stops its children in order
      std::vector<std::string> argv = {exe, "node", "--config", config_path, "--name", n->name};
      if (!a.placement.empty()) {
        argv.push_back("--placement");
        argv.push_back(a.placement);
      }
      if (!a.profile_scheduler.empty()) {
        argv.push_back("--profile-scheduler");
        argv.push_back(a.profile_scheduler);
      }
      std::vector<char*> cargv;
      for (auto& s : argv) cargv.push_back(s.data());
      cargv.push_back(nullptr);
      ::execv(exe.c_str(), cargv.data());
      std::perror("execv");
      ::_exit(127);
    }
    children.push_back({n->name, pid});
    std::cout << "started " << n->name << " (pid " << pid << ") listening on " << n->host << ":"
              << n->port << roles_label(cfg, *n);
    if (n->metrics_port > 0) std::cout << "  metrics :" << n->metrics_port;
    std::cout << "\n";
  }
  std::cout.flush();
  const auto& ctrl = cfg.controller_node();
  const auto& disp = cfg.dispatcher_node();  // clients connect here
  int rc = 0;
  bool announced = false;
  std::unique_ptr<net::client> probe;
  const auto t0 = std::chrono::steady_clock::now();
  while (up_stop == 0) {
    for (auto& c : children) {
      int status = 0;
      if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
        const std::string how = WIFEXITED(status) ? "code " + std::to_string(WEXITSTATUS(status))
                                                  : "signal " + std::to_string(WTERMSIG(status));
        c.pid = -1;
        rc = 1;
        // Once serving, a lost worker is the controller's to handle (it fails the node's
        // in-flight requests and re-places its models); losing the controller, or any node
        // before the cluster serves, ends the cluster.
        if (announced && c.name != disp.name) {
          std::cerr << "node " << c.name << " exited (" << how << "); the others keep serving\n";
        } else {
          std::cerr << "node " << c.name << " exited (" << how << "); stopping the cluster\n";
          up_stop = SIGTERM;
        }
      }
    }
    if (!announced && up_stop == 0) {
      try {
        if (!probe) {
          net::client_options o;
          o.host = disp.host;
          o.port = disp.port;
          o.connect_timeout_s = 1;
          o.caf = client_caf_settings(cfg);
          probe = std::make_unique<net::client>(o);
        }
        const auto info = probe->info();
        if (info.ready) {
          announced = true;
          std::cout << "cluster serving " << info.models.size() << " models on "
                    << info.groups.size() << " groups:\n";
          for (const auto& g : info.groups) std::cout << "  " << g << "\n";
          const std::string endpoint =
              a.config.empty() ? " --host " + disp.host + " --port " + std::to_string(disp.port)
                               : " --config " + a.config;
          std::cout << "submit with:  alpaserve submit" << endpoint << " --model "
                    << (info.models.empty() ? "M" : info.models[0].name)
                    << "\nbench with:   alpaserve bench" << endpoint
                    << " --duration 30\ninspect with: alpaserve inspect --config " << config_path
                    << "\nCtrl-C stops the cluster." << std::endl;
        } else if (info.state.rfind("failed", 0) == 0) {
          std::cerr << "cluster failed to start: " << info.state << "\n";
          rc = 1;
          up_stop = SIGTERM;
        }
      } catch (const std::exception& e) {
        probe.reset();
        if (std::chrono::steady_clock::now() - t0 >
            std::chrono::duration<double>(a.ready_timeout_s)) {
          std::cerr << "cluster not serving after " << a.ready_timeout_s << " s: " << e.what()
                    << "\n";
          rc = 1;
          up_stop = SIGTERM;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  probe.reset();
  std::cout << "stopping " << children.size() << " nodes..." << std::endl;
  // The controller's node first: the workers then stop on their own ("controller lost"), and
  // the controller never mistakes an orderly stop for a lost node (and re-places models).
  auto stop_order = children;
  std::stable_partition(stop_order.begin(), stop_order.end(),
                        [&](const child& c) { return c.name == ctrl.name; });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& c : stop_order) {
    if (c.pid > 0) ::kill(c.pid, SIGTERM);
    while (c.pid > 0) {
      int status = 0;
      const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid || r < 0) {
        c.pid = -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, &status, 0);
        c.pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (a.config.empty()) {
    std::remove(config_path.c_str());
    std::remove(actors::deployment_record_path(config_path).c_str());
  }
  std::cout << "all nodes stopped" << std::endl;
  return rc;
}

void add_up(CLI::App& app, run_fn& run) {
  auto args = std::make_shared<up_args>();
  auto* sub = app.add_subcommand(
      "up",
      "Start every node of the config that lives on this machine as a child process (the built-in "
      "3-node demo cluster when no config is given); Ctrl-C stops them cleanly.");
  sub->add_option("--config", args->config, "cluster config file (TOML); default: built-in demo");
  sub->add_option("--placement", args->placement,
                  "placement file the controller realizes instead of running a policy");
  sub->add_option("--profile-scheduler", args->profile_scheduler,
                  "every node writes CAF's scheduler profile (per-worker and per-actor CPU and "
                  "memory samples) to this file, {node} replaced by its name");
  sub->add_option("--ready-timeout", args->ready_timeout_s,
                  "seconds to wait for the cluster to serve")
      ->check(finite_positive)
      ->capture_default_str();
  sub->callback([&run, args] { run = [args] { return run_up(*args); }; });
}

const command_registration registration{"up", 40, &add_up};

}  // namespace
}  // namespace alpaserve::tools
