#pragma once
// Reads and strictly validates a cluster config (TOML; docs/config.md). Every problem found is
// reported, one per line, as "file:line:column: key.path: problem"; the parser never stops at the
// first one and never silently drops a key it does not know.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cluster_config.hpp"
#include "planner/core/input_error.hpp"

namespace alpaserve::config {

// One problem in a config file. line/column are 1-based; 0 when the whole file is at fault.
struct config_issue {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // "models[2].slo_ms"; empty for a TOML syntax error
  std::string problem;

  [[nodiscard]] std::string to_string() const;
};

// Thrown by the loaders with every problem of the file. Derives from input_error so the CLI exits
// with code 2; what() is every issue's to_string(), one per line.
class config_error : public planner::input_error {
 public:
  explicit config_error(std::vector<config_issue> issues);

  [[nodiscard]] const std::vector<config_issue>& issues() const noexcept { return issues_; }
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::vector<config_issue> issues_;
  std::string message_;
};

// Checks the parser cannot do alone: the caller knows the model zoo, the placement policies and the
// model sizes. An unset hook skips its check.
struct validation_hooks {
  // Is `type` a model-zoo architecture? (models[i].type)
  std::function<bool(const std::string&)> model_type_known;
  // Is `policy` a placement policy? (planner.policy)
  std::function<bool(const std::string&)> policy_known;
  // Total weight bytes of the model (all stages), or nullopt when unknown. A model heavier than the
  // cluster's total device memory is an error. May throw; the message becomes the model's error.
  std::function<std::optional<double>(const model_config&)> model_weight_bytes;
  // Problems of a model folder (models[i].folder, resolved): its model.json and weights checked
  // against each other; nullopt when it is usable. Unset: only the folder's existence is checked.
  std::function<std::optional<std::string>(const std::string& folder)> model_folder_problem;
  // Check that model folders exist (and model_folder_problem). A worker-only node does not read
  // them (the controller sends each stage its model's definition, and weights come over CAF when
  // the node cannot read the file), so `alpaserve node` turns this off for such a node.
  bool check_model_folders = true;
  // Check that the TLS files every machine shares exist when tls.enabled (`alpaserve tls init`
  // turns this off: it is about to write them).
  bool check_tls_files = true;
};

// Reads `path` and parses it; relative paths inside are resolved against the file's folder.
[[nodiscard]] cluster_config load_cluster_config(const std::string& path,
                                                 const validation_hooks& hooks = {});

// Parses TOML text. `source_name` names the text in messages; when it is a file path, relative
// paths inside (profile files, TLS material) are resolved against its folder.
[[nodiscard]] cluster_config parse_cluster_config(std::string_view toml_text,
                                                  const std::string& source_name,
                                                  const validation_hooks& hooks = {});

// Levenshtein distance, used for "did you mean" suggestions.
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b) noexcept;

}  // namespace alpaserve::config
