// `alpaserve tls init --config F [--out DIR] [--force] [--days N]`: write a cluster's TLS
// material (docs/config.md, "[tls]"): a private CA, a certificate and key per node named in the
// config and one for clients, into the config's tls.dir (default: tls/ next to the config).
// Existing files are kept (a CA found is reused to sign what is missing) unless --force.
// Exit codes: 0 written, 1 cannot write or sign, 2 bad config / flags / unusable existing files.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "config/config_parser.hpp"
#include "config/planner_hooks.hpp"
#include "net/tls_material.hpp"
#include "planner/core/input_error.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

namespace fs = std::filesystem;

struct init_args {
  std::string config;
  std::string out;
  bool force = false;
  int days = 825;
};

struct pair_files {
  std::string what;  // "node a", "clients"
  std::string common_name;
  std::string cert;
  std::string key;
};

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Whether to (re)write the pair: false when both files exist and --force is not given. Throws
// input_error when only one of them exists.
bool must_write(const pair_files& p, bool force) {
  if (force) return true;
  const bool c = exists(p.cert), k = exists(p.key);
  if (c && k) return false;
  if (c || k)
    throw planner::input_error(c ? p.cert : p.key, "",
                               std::string("exists without its ") +
                                   (c ? "key " + p.key : "certificate " + p.cert) +
                                   "; remove it or pass --force to replace every file");
  return true;
}

int run_init(const init_args& a) {
  auto hooks = config::planner_validation_hooks();
  hooks.check_tls_files = false;  // about to write them
  const auto cfg = config::load_cluster_config(a.config, hooks);
  const fs::path dir(a.out.empty() ? cfg.tls.dir : a.out);
  if (!a.out.empty() && a.out != cfg.tls.dir)
    std::cout << "note: writing to " << dir.string() << "; the config reads " << cfg.tls.dir
              << " (set tls.dir)\n";
  if (cfg.tls.shared_certificate() || !cfg.tls.ca_file.empty())
    std::cout << "note: the config overrides tls."
              << (cfg.tls.shared_certificate() ? "certificate/key" : "ca_file")
              << "; the files written here are used only for what it does not override\n";

  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create the folder: " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);  // 0700: it holds private keys
  } else if (!fs::is_directory(dir, ec)) {
    throw planner::input_error(dir.string(), "", "not a folder");
  }

  net::tls::validity valid;
  valid.not_after_s = static_cast<long long>(a.days) * 24 * 3600;
  const pair_files ca{"the cluster CA", cfg.name + " alpaserve CA", (dir / "ca.pem").string(),
                      (dir / "ca.key").string()};
  std::vector<pair_files> leaves;
  for (const auto& n : cfg.nodes)
    leaves.push_back({"node " + n.name, n.name, (dir / ("node-" + n.name + ".pem")).string(),
                      (dir / ("node-" + n.name + ".key")).string()});
  leaves.push_back(
      {"clients", "client", (dir / "client.pem").string(), (dir / "client.key").string()});

  // Decide everything before writing anything: a half-present pair stops the run untouched.
  const bool new_ca = must_write(ca, a.force);
  std::vector<bool> write;
  for (const auto& l : leaves) write.push_back(new_ca || must_write(l, a.force));

  if (new_ca) {
    net::tls::write_ca(ca.cert, ca.key, cfg.name, valid);
    std::cout << "wrote " << ca.cert << " and " << ca.key << " (" << ca.what << ")\n";
  } else {
    std::cout << "kept  " << ca.cert << " and " << ca.key << " (" << ca.what << ")\n";
  }
  size_t written = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const auto& l = leaves[i];
    if (write[i]) {
      net::tls::write_signed(ca.cert, ca.key, l.cert, l.key, l.common_name, valid);
      ++written;
    }
    std::cout << (write[i] ? "wrote " : "kept  ") << l.cert << " and " << l.key << " (" << l.what
              << ")\n";
  }

  // Everything in the folder must now be usable together.
  std::vector<std::string> problems;
  for (const auto& l : leaves)
    for (auto& p : net::tls::check_material({ca.cert, l.cert, l.key, ""}))
      problems.push_back(l.what + ": " + p);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "error: " << p << "\n";
    std::cerr << "the existing material does not fit together; pass --force to replace it\n";
    return planner::exit_bad_input;
  }
  std::cout << "ok: TLS material for " << cfg.nodes.size() << " nodes and clients in "
            << dir.string() << " (" << written << " certificates written"
            << (written > 0 ? ", valid " + std::to_string(a.days) + " days" : std::string())
            << ")\n"
            << "Give each machine ca.pem and its own node-<name>.pem/.key (clients: client.pem/"
               ".key); keep ca.key off the nodes. Turn it on with [tls] enabled = true.\n";
  return 0;
}

void add_tls(CLI::App& app, run_fn& run) {
  auto* sub = app.add_subcommand("tls", "TLS material for a cluster (docs/config.md, [tls])");
  sub->require_subcommand(1);
  auto args = std::make_shared<init_args>();
  auto* init = sub->add_subcommand(
      "init",
      "Write a private cluster CA (EC P-256), a certificate and key per node of the config and "
      "one for clients, signed by it, into the config's tls.dir (default: tls/ next to the "
      "config). Keys are written with mode 0600. Existing files are kept unless --force.");
  init->add_option("--config", args->config, "cluster config file (TOML)")->required();
  init->add_option("--out", args->out, "folder to write to instead of the config's tls.dir");
  init->add_flag("--force", args->force,
                 "replace existing files (a new CA: every node needs "
                 "its new files)");
  init->add_option("--days", args->days, "validity of the certificates in days")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  init->callback([&run, args] { run = [args] { return run_init(*args); }; });
}

const command_registration registration{"tls", 910, &add_tls};

}  // namespace
}  // namespace alpaserve::tools
