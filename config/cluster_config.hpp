#pragma once
// The cluster configuration as plain values: what config_parser.hpp produces from a TOML file and
// what every other layer reads (docs/config.md describes every key). The same file is given to
// every machine; each process picks its own node by name or by host (nodes_on_this_host).
//
// A cluster_config returned by the parser is valid: exactly one controller node, unique names and
// endpoints, every value in range. Code that builds one by hand must keep those invariants.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace alpaserve::config {

// Device kinds a node may list (docs/config.md, "Device kinds").
inline constexpr const char* device_kinds[] = {"emulated-v100", "emulated-a100", "emulated-h100",
                                               "cpu", "cuda"};
// Roles a node may take. Every node with the controller role is a controller candidate: the
// controller runs on one of them at a time (the first, unless another's already answers:
// docs/runtime.md "Controller loss"). At most one node is the dispatcher (it also runs the group
// managers); without one, the first controller node hosts it, and the cluster then cannot
// survive the loss of that node.
inline constexpr const char* role_controller = "controller";
inline constexpr const char* role_worker = "worker";
inline constexpr const char* role_dispatcher = "dispatcher";

// `count` devices of one kind on a node, each with `memory_bytes` usable for model weights.
struct device_group {
  std::string kind;
  int count = 0;
  double memory_bytes = 0;
};

struct node_config {
  std::string name;
  std::string host;
  int port = 0;
  std::vector<device_group> devices;
  std::vector<std::string> roles;  // "controller", "worker", "dispatcher"
  // Where the node serves /metrics, /healthz and /readyz over HTTP (docs/metrics.md). The parser
  // resolves it: the node's `metrics_port`, else port + metrics.port_offset; 0 = no endpoint
  // (metrics.enabled = false, or a config built by hand).
  int metrics_port = 0;
  // Where the node port listens (an address of this machine); "" = caf.bind_address.
  std::string bind_address{};

  [[nodiscard]] bool has_role(const std::string& role) const noexcept;
  [[nodiscard]] bool is_controller() const noexcept { return has_role(role_controller); }
  [[nodiscard]] bool is_worker() const noexcept { return has_role(role_worker); }
  [[nodiscard]] bool is_dispatcher() const noexcept { return has_role(role_dispatcher); }
  [[nodiscard]] int num_devices() const noexcept;
};

// One model to serve. Exactly one of `type` (a model-zoo architecture) and `profile_file` is set,
// and exactly one SLO form: an absolute SLO (slo_seconds > 0, from `slo_ms`) or a multiple of the
// model's single-device latency (slo_scale > 0), resolved once the profile is known.
struct model_config {
  std::string name;
  std::string type;          // zoo architecture name, e.g. "bert-1.3b"; empty when profile_file set
  std::string profile_file;  // profile database path (resolved against the config's folder)
  double slo_seconds = 0;    // 0 when slo_scale is used
  double slo_scale = 0;      // 0 when slo_seconds is used
  double rate = 0;           // expected requests per second
  double cv = 1;             // expected coefficient of variation of inter-arrival gaps
  // Real execution (cpu / cuda devices): the model-zoo architecture computed (default: `type`),
  // its weights (a safetensors file, resolved against the config's folder; empty = seeded) and
  // the seed of the deterministic weights.
  std::string architecture;
  std::string weights;
  uint64_t seed = 0;
  // Largest batch a group forms for this model (docs/runtime.md "Batching"); 0 = the largest
  // batch size its profile has (still bounded by planner.max_batch_size); 1 = never batch it.
  int max_batch_size = 0;
  // Or a model folder (model.json + model.safetensors, docs/models.md "Model folders"), resolved
  // against the config's folder; excludes architecture, weights and seed.
  std::string folder;

  [[nodiscard]] bool has_absolute_slo() const noexcept { return slo_seconds > 0; }
};

struct planner_config {
  std::string policy = "ours";
  double replan_interval_s = 60;  // 0 = plan once, never re-plan on drift
  std::string device_preset;      // "" = derive from the device kinds; else "v100"/"a100"/"h100"
  // Cluster-wide cap on the batches the runtime forms (each model's own max_batch_size and its
  // profiled sizes bound it further); 1 = batching off. On by default.
  int max_batch_size = 16;
  int max_pipeline_stages = 8;  // largest pp the policies may choose (reference default 8)
  int max_intra_op = 4;         // largest op the policies may choose (reference default 4)
  // Non-empty: the controller realizes this placement (JSON, docs/placement-format.md) instead
  // of running `policy`. Resolved against the config's folder; checked to exist.
  std::string placement_file;
  // With a placement file: also re-plan on traffic drift (the file is then only the starting
  // point). Off by default: a placement file is the user's choice. Recovery after a node is lost
  // re-places either way.
  bool replan_with_placement_file = false;
};

struct caf_config {
  std::string scheduler_policy = "sharing";  // "sharing" or "stealing"
  int max_threads = 0;                       // 0 = CAF's default (the number of cores)
  int heartbeat_interval_ms = 1000;          // 0 = off (a hung peer then goes unnoticed)
  std::string profiling_output_file;         // non-empty turns on scheduler profiling
  int profiling_resolution_ms = 100;
  // Largest BASP message a peer may send a node (net/capped_transport.hpp). The parser resolves
  // it: unset = dispatcher.max_payload_bytes + 16 MiB; set, it must leave 1 MiB of headroom
  // above dispatcher.max_payload_bytes.
  size_t max_message_bytes = (64u << 20) + (16u << 20);
  // The payloads above 1 MiB being read at once over all of a process's connections; 0 = twice
  // max_message_bytes. A connection that would exceed it is closed.
  size_t max_pending_message_bytes = 0;
  // Where every node port listens unless the node sets its own; "" = the node's host when it is
  // a loopback address, else every interface.
  std::string bind_address;

  [[nodiscard]] bool profiling_enabled() const noexcept { return !profiling_output_file.empty(); }
  // The profiling file for one node: "{node}" in profiling_output_file is replaced by its name,
  // so several nodes sharing a machine (and the one config file) do not write the same file.
  [[nodiscard]] std::string profiling_file_for(const std::string& node_name) const;
};

// TLS material for CAF's OpenSSL transport (docs/config.md, "[tls]"). Paths are resolved
// against the config's folder. By default every file lives in `dir`, as `alpaserve tls init`
// writes them: ca.pem (the cluster CA), node-<name>.pem / .key per node, client.pem / .key for
// clients (submit, bench, inspect). `ca_file`, and `certificate` with `key`, override them (one
// certificate and key then serve every node and client).
struct tls_config {
  bool enabled = false;
  std::string dir;             // resolved; default "tls" next to the config file
  std::string certificate;     // override: PEM certificate of every node and client
  std::string key;             // override: its PEM private key
  std::string ca_file;         // override: PEM CA bundle peers are verified against
  std::string passphrase_env;  // name of an environment variable holding the key's passphrase

  struct files {
    std::string ca_file;
    std::string certificate;
    std::string key;
  };
  // The CA certificate (ca_file, else <dir>/ca.pem) and the CA's key (<dir>/ca.key; only
  // `tls init` reads it).
  [[nodiscard]] std::string ca_path() const;
  [[nodiscard]] std::string ca_key_path() const;
  // What node `name` presents and verifies against.
  [[nodiscard]] files node_files(const std::string& name) const;
  // What clients present and verify against.
  [[nodiscard]] files client_files() const;
  // Whether `certificate`/`key` override the per-node files.
  [[nodiscard]] bool shared_certificate() const noexcept { return !certificate.empty(); }
};

struct dispatcher_config {
  // Seconds the admission rule adds before a request reaches its first stage (dispatcher ->
  // group manager -> stage-0 worker); the default is the runtime's measured hop
  // (planner::default_runtime_overheads().before_first_stage).
  double overhead_s = 0.0002;
  int max_queue_per_group = 1024;       // requests waiting per group before "overloaded"
  size_t max_payload_bytes = 64 << 20;  // largest input tensor a request may carry
};

// The runtime's timeouts (docs/config.md `[runtime]`; actors/runtime_settings.hpp).
struct runtime_timeouts_config {
  double request_timeout_s = 30;       // accepted but unanswered by then: failed_timeout
  double drain_timeout_s = 35;         // a retiring group's drain; >= request_timeout_s
  double stage_start_timeout_s = 300;  // a stage's spawn + shard loading on its node
  double control_timeout_s = 10;       // controller -> dispatcher / stage control requests
};

// The nodes' HTTP endpoint for Prometheus and health checks (docs/metrics.md).
struct metrics_config {
  bool enabled = true;
  int port_offset = 1000;    // a node without metrics_port serves on its port + this
  std::string bind_address;  // "" = like the node port: its loopback host, else every interface
};

struct cluster_config {
  std::string name = "alpaserve";
  std::vector<node_config> nodes;
  std::vector<model_config> models;
  planner_config planner;
  caf_config caf;
  tls_config tls;
  dispatcher_config dispatcher;
  runtime_timeouts_config runtime;
  metrics_config metrics;
  std::string source_file;            // where it was read from ("<built-in local demo>", a path)
  std::vector<std::string> warnings;  // legal but suspicious settings, "file:line:col: key: ..."

  [[nodiscard]] const node_config* find_node(const std::string& name) const noexcept;
  [[nodiscard]] const model_config* find_model(const std::string& name) const noexcept;
  // The first node with the controller role (present in every parsed config).
  [[nodiscard]] const node_config& controller_node() const;
  // The node that hosts the dispatcher: the one with the dispatcher role, else the controller's.
  // Clients connect to it.
  [[nodiscard]] const node_config& dispatcher_node() const;
  [[nodiscard]] int total_devices() const noexcept;
  // Sum over every device of its memory.
  [[nodiscard]] double total_device_memory() const noexcept;
  // Nodes whose host is this machine: a loopback host, or one of `local_identities` (hostnames
  // and addresses; see local_host_identities()). Compared case-insensitively.
  [[nodiscard]] std::vector<const node_config*> nodes_on_this_host(
      const std::vector<std::string>& local_identities) const;
  [[nodiscard]] std::vector<const node_config*> nodes_on_this_host() const;
};

// This machine's hostname, its short form and every interface address (IPv4 and IPv6, as text).
[[nodiscard]] std::vector<std::string> local_host_identities();
// "localhost", "ip6-localhost", 127.0.0.0/8, "::1" and "[::1]".
[[nodiscard]] bool is_loopback_host(const std::string& host);

}  // namespace alpaserve::config
