#pragma once
// The controller's deployment record (docs/runtime.md "Controller loss"): what a restarted
// controller needs to adopt a running cluster instead of starting it afresh. A JSON file next to
// the config, replaced atomically (written to a temporary file, flushed, renamed) whenever the
// controller starts or installs a placement. No CAF.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/deployment.hpp"
#include "planner/policy/placement.hpp"

namespace alpaserve::actors {

struct recorded_traffic {
  std::string model;
  double rate = 0;
  double cv = 1;
};

struct deployment_record {
  // Raised by every controller start; the nodes ignore commands from older epochs.
  uint64_t epoch = 0;
  // A placement is installed and serving. False: nothing to adopt (never placed, or the
  // controller stopped the cluster in order).
  bool serving = false;
  planner::placement placement;      // the installed generation's
  std::vector<node_devices> nodes;   // what its layout's node indices refer to
  int first_group = 0;               // its groups' ids are first_group, first_group + 1, ...
  // Where each group runs, with its id (node indices into `nodes`); empty (older records):
  // layout_groups(placement, nodes) with ids first_group + g.
  std::vector<group_layout> layout;
  int next_group_id = 0;             // ids are never reused
  std::vector<recorded_traffic> planned;  // the traffic it was planned for, by model
  uint64_t replans = 0;
};

// The record's path for a config file: "<dir>/<stem>.deployment.json".
[[nodiscard]] std::string deployment_record_path(const std::string& config_path);

// The record as JSON text, and back (`source` names it in errors; throws planner::input_error).
[[nodiscard]] std::string deployment_record_json(const deployment_record& record);
[[nodiscard]] deployment_record parse_deployment_record(const std::string& text,
                                                        const std::string& source);

// Reads the record; nullopt when the file does not exist. Throws planner::input_error (file and
// key) when it exists but cannot be read.
[[nodiscard]] std::optional<deployment_record> read_deployment_record(const std::string& path);

// Writes it atomically (temporary file in the same folder, fsync, rename). Throws
// std::runtime_error naming the path when it cannot.
void write_deployment_record(const std::string& path, const deployment_record& record);

}  // namespace alpaserve::actors
