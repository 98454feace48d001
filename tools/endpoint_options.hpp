#pragma once
// Options shared by the client subcommands (submit, bench, inspect): which cluster to talk to.

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "net/client.hpp"

namespace alpaserve::tools {

struct endpoint_options {
  std::string config;  // cluster config: the controller node is the endpoint
  std::string host;    // or an explicit endpoint
  int port = 0;
  double timeout_s = 60;

  void add_to(CLI::App* sub);
  // The client options for the cluster's dispatcher (throws input_error on a bad config).
  [[nodiscard]] net::client_options client() const;
};

}  // namespace alpaserve::tools
