#include "config/default_config.hpp"

namespace alpaserve::config {

// Kept byte-identical to examples/local-demo.toml (tests/config checks it).
std::string_view default_cluster_toml() noexcept {
  static constexpr std::string_view text = R"toml(
# alpaserve built-in local demo cluster (`alpaserve config default` prints this file).
# Three node processes on this machine, 8 emulated V100-class devices (13 GiB usable each),
# 8 BERT models. `alpaserve up` with no --config starts exactly this cluster; if a port below
# is busy it may remap the node to a free one. See docs/config.md for every key.
name = "local-demo"

[[nodes]]
name = "node-0"
host = "127.0.0.1"
port = 24710
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 4, memory_gib = 13 }]

[[nodes]]
name = "node-1"
host = "127.0.0.1"
port = 24711
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]

[[nodes]]
name = "node-2"
host = "127.0.0.1"
port = 24712
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]

# SLO = 5 x the model's single-device latency; rates in requests per second.
[[models]]
name = "bert-1.3b-0"
type = "bert-1.3b"
slo_scale = 5
rate = 2.0
cv = 1.0

[[models]]
name = "bert-1.3b-1"
type = "bert-1.3b"
slo_scale = 5
rate = 1.5
cv = 2.0

[[models]]
name = "bert-1.3b-2"
type = "bert-1.3b"
slo_scale = 5
rate = 1.0
cv = 1.0

[[models]]
name = "bert-1.3b-3"
type = "bert-1.3b"
slo_scale = 5
rate = 0.5
cv = 3.0

[[models]]
name = "bert-2.6b-0"
type = "bert-2.6b"
slo_scale = 5
rate = 1.5
cv = 1.0

[[models]]
name = "bert-2.6b-1"
type = "bert-2.6b"
slo_scale = 5
rate = 1.0
cv = 2.0

[[models]]
name = "bert-2.6b-2"
type = "bert-2.6b"
slo_scale = 5
rate = 0.5
cv = 1.0

[[models]]
name = "bert-2.6b-3"
type = "bert-2.6b"
slo_scale = 5
rate = 0.5
cv = 3.0

[planner]
policy = "ours"
replan_interval_s = 30
device_preset = "v100"
max_batch_size = 16

[caf]
# On a small machine the sharing scheduler answers loopback requests 2-3x faster than stealing.
scheduler_policy = "sharing"
max_threads = 2
heartbeat_interval_ms = 1000

[dispatcher]
overhead_s = 0.0002
max_queue_per_group = 1024

[metrics]
# Every node serves Prometheus metrics (/metrics), /healthz and /readyz over HTTP on its port +
# port_offset (node-0: 25710); docs/metrics.md has a prometheus.yml scraping this cluster.
enabled = true
port_offset = 1000
)toml";
  return text.substr(1);  // drop the newline after the raw-string opener
}

std::string_view default_cluster_source_name() noexcept {
  return "<built-in local demo>";
}

cluster_config default_cluster_config(const validation_hooks& hooks) {
  return parse_cluster_config(default_cluster_toml(), std::string(default_cluster_source_name()),
                              hooks);
}

}  // namespace alpaserve::config
