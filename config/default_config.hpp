#pragma once
// The built-in local demo cluster: what `alpaserve up` starts when no config is given, and what
// `alpaserve config default` prints as a starting point. Its text is examples/local-demo.toml.

#include <string_view>

#include "config/cluster_config.hpp"
#include "config/config_parser.hpp"

namespace alpaserve::config {

// 3 nodes on 127.0.0.1 (ports 24710-24712; node-0 is controller and worker), 8 emulated V100s
// with 13 GiB each (4 + 2 + 2), 8 models (4 x bert-1.3b, 4 x bert-2.6b) at SLO scale 5.
[[nodiscard]] std::string_view default_cluster_toml() noexcept;
// The name errors and summaries give the built-in text in place of a file name.
[[nodiscard]] std::string_view default_cluster_source_name() noexcept;
// The demo parsed with the strict parser (hooks as for any file).
[[nodiscard]] cluster_config default_cluster_config(const validation_hooks& hooks = {});

}  // namespace alpaserve::config
