#pragma once
// How a process sets up CAF (scheduler, heartbeats, profiling), as plain data: the node launcher
// and the client fill it from the config without including CAF (net/bootstrap.hpp applies it).

#include <string>

namespace alpaserve::net {

struct runtime_settings {
  std::string scheduler_policy = "sharing";  // "sharing" or "stealing"
  int max_threads = 2;                       // 0 = CAF's default (one per core)
  int heartbeat_interval_ms = 1000;          // 0 = off
  std::string profiling_output_file;         // non-empty: per-actor CPU/memory samples
  int profiling_resolution_ms = 100;
  int middleman_workers = 0;  // CAF's BASP deserialization threads; 0 = on the I/O thread
};

}  // namespace alpaserve::net
