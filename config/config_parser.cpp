#include "config/config_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include <arpa/inet.h>
#include <toml++/toml.h>

#include "planner/profile/model_zoo.hpp"

namespace alpaserve::config {

namespace {

constexpr double gib_bytes = 1024.0 * 1024.0 * 1024.0;

struct position {
  int line = 0;
  int column = 0;
};

position position_of(const toml::source_region& region) {
  return {static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Every problem found, in file order of discovery; warnings kept apart.
class issue_sink {
 public:
  explicit issue_sink(std::string file) : file_(std::move(file)) {}

  void error(position at, std::string key, std::string problem) {
    errors_.push_back({file_, at.line, at.column, std::move(key), std::move(problem)});
  }
  void warning(position at, std::string key, std::string problem) {
    warnings_.push_back({file_, at.line, at.column, std::move(key), std::move(problem)});
  }
  [[nodiscard]] const std::vector<config_issue>& errors() const noexcept { return errors_; }
  [[nodiscard]] const std::vector<config_issue>& warnings() const noexcept { return warnings_; }

 private:
  std::string file_;
  std::vector<config_issue> errors_;
  std::vector<config_issue> warnings_;
};

// Reads one TOML table: typed getters that report wrong types, missing keys and bad values at the
// value's position, and remember every key asked for so that the rest can be reported as unknown.
class table_reader {
 public:
  table_reader(const toml::table& table, std::string path, issue_sink& sink)
      : table_(table), path_(std::move(path)), sink_(sink) {}

  [[nodiscard]] std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] position table_position() const { return position_of(table_.source()); }

  // The value's position if present, else the table's (where a missing key belongs).
  [[nodiscard]] position where(std::string_view key) const {
    const toml::node* node = table_.get(key);
    return node ? position_of(node->source()) : table_position();
  }
  [[nodiscard]] bool has(std::string_view key) {
    remember(key);
    return table_.get(key) != nullptr;
  }
  void error(std::string_view key, std::string problem) {
    sink_.error(where(key), key_path(key), std::move(problem));
  }

  std::optional<std::string> get_string(std::string_view key, bool required) {
    const toml::node* node = lookup(key, required);
    if (!node) return std::nullopt;
    if (const auto* s = node->as_string()) return s->get();
    wrong_type(key, *node, "a string");
    return std::nullopt;
  }

  // A string that must not be empty.
  std::optional<std::string> get_name(std::string_view key, bool required) {
    auto s = get_string(key, required);
    if (s && s->empty()) {
      error(key, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<int64_t> get_integer(std::string_view key, bool required, int64_t lo, int64_t hi) {
    const toml::node* node = lookup(key, required);
    if (!node) return std::nullopt;
    const auto* i = node->as_integer();
    if (!i) {
      wrong_type(key, *node, "an integer");
      return std::nullopt;
    }
    const int64_t v = i->get();
    if (v < lo || v > hi) {
      if (hi == std::numeric_limits<int64_t>::max())
        error(key, "must be at least " + std::to_string(lo) + ", got " + std::to_string(v));
      else
        error(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", got " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  // An integer or a float, finite, and (when given) satisfying `ok`, described by `rule`.
  std::optional<double> get_number(std::string_view key, bool required,
                                   bool (*ok)(double) = nullptr, const char* rule = "") {
    const toml::node* node = lookup(key, required);
    if (!node) return std::nullopt;
    double v = 0;
    if (const auto* f = node->as_floating_point()) {
      v = f->get();
    } else if (const auto* i = node->as_integer()) {
      v = static_cast<double>(i->get());
    } else {
      wrong_type(key, *node, "a number");
      return std::nullopt;
    }
    if (!std::isfinite(v)) {
      error(key, "must be a finite number, got " + format_number(v));
      return std::nullopt;
    }
    if (ok && !ok(v)) {
      error(key, std::string("must be ") + rule + ", got " + format_number(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> get_bool(std::string_view key) {
    const toml::node* node = lookup(key, false);
    if (!node) return std::nullopt;
    if (const auto* b = node->as_boolean()) return b->get();
    wrong_type(key, *node, "a boolean");
    return std::nullopt;
  }

  const toml::table* get_table(std::string_view key) {
    const toml::node* node = lookup(key, false);
    if (!node) return nullptr;
    if (const auto* t = node->as_table()) return t;
    wrong_type(key, *node, "a table");
    return nullptr;
  }

  const toml::array* get_array(std::string_view key, bool required, const char* what) {
    const toml::node* node = lookup(key, required);
    if (!node) return nullptr;
    if (const auto* a = node->as_array()) return a;
    wrong_type(key, *node, what);
    return nullptr;
  }

  // Every key of the table that no getter asked for is an error, with the nearest known key.
  void report_unknown_keys() {
    for (auto&& [key, value] : table_) {
      const std::string_view name = key.str();
      if (std::find(asked_.begin(), asked_.end(), name) != asked_.end()) continue;
      std::string problem = "unknown key";
      if (auto suggestion = nearest_known(name))
        problem += "; did you mean " + in_quotes(*suggestion) + "?";
      sink_.error(position_of(key.source()), key_path(name), std::move(problem));
    }
  }

 private:
  void remember(std::string_view key) {
    if (std::find(asked_.begin(), asked_.end(), key) == asked_.end()) asked_.emplace_back(key);
  }

  const toml::node* lookup(std::string_view key, bool required) {
    remember(key);
    const toml::node* node = table_.get(key);
    if (!node && required) sink_.error(table_position(), key_path(key), "missing required key");
    return node;
  }

  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected) {
    sink_.error(
        position_of(node.source()), key_path(key),
        "expected " + std::string(expected) + ", got " + std::string(type_name(node.type())));
  }

  [[nodiscard]] std::optional<std::string> nearest_known(std::string_view unknown) const {
    std::optional<std::string> best;
    size_t best_distance = std::numeric_limits<size_t>::max();
    for (const auto& known : asked_) {
      const size_t d = edit_distance(unknown, known);
      // "memory" for "memory_gib", "threads" for "max_threads".
      const bool contained = std::min(unknown.size(), known.size()) >= 3 &&
                             (known.find(unknown) != std::string::npos ||
                              unknown.find(known) != std::string_view::npos);
      const size_t limit = std::max<size_t>(2, std::min(unknown.size(), known.size()) / 3);
      if ((d <= limit || contained) && d < best_distance) {
        best_distance = d;
        best = known;
      }
    }
    return best;
  }

  const toml::table& table_;
  std::string path_;
  issue_sink& sink_;
  std::vector<std::string> asked_;
};

bool positive(double v) {
  return v > 0;
}
bool non_negative(double v) {
  return v >= 0;
}

bool is_node_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}
bool has_space_or_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c));
  });
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? std::string(sep) : "") + items[i];
  return out;
}

// Where the cross-record checks point when they find a clash.
struct node_positions {
  position table, name, port, metrics_port;
  bool explicit_metrics_port = false;
};
struct model_positions {
  position table, name, source;
};

class config_builder {
 public:
  config_builder(std::string source_name, const validation_hooks& hooks)
      : sink_(source_name), hooks_(hooks), source_name_(std::move(source_name)) {
    const std::filesystem::path p(source_name_);
    base_dir_ = p.parent_path();
  }

  cluster_config build(const toml::table& root) {
    cluster_config cfg;
    cfg.source_file = source_name_;
    table_reader r(root, "", sink_);
    if (auto name = r.get_name("name", false)) cfg.name = *name;
    read_nodes(r, cfg);
    read_models(r, cfg);
    if (const auto* t = r.get_table("planner"))
      read_planner(table_reader(*t, "planner", sink_), cfg.planner);
    if (const auto* t = r.get_table("caf")) read_caf(table_reader(*t, "caf", sink_), cfg.caf);
    cfg.tls.dir = resolve("tls");
    if (const auto* t = r.get_table("tls")) read_tls(table_reader(*t, "tls", sink_), cfg.tls);
    if (const auto* t = r.get_table("dispatcher"))
      read_dispatcher(table_reader(*t, "dispatcher", sink_), cfg.dispatcher);
    if (const auto* t = r.get_table("runtime"))
      read_runtime(table_reader(*t, "runtime", sink_), cfg.runtime);
    if (const auto* t = r.get_table("metrics"))
      read_metrics(table_reader(*t, "metrics", sink_), cfg.metrics);
    r.report_unknown_keys();
    resolve_message_limit(cfg);
    check_nodes(cfg);
    check_models(cfg);
    return cfg;
  }

  [[nodiscard]] const issue_sink& sink() const noexcept { return sink_; }
  issue_sink& sink() noexcept { return sink_; }

 private:
  std::string resolve(const std::string& path) const {
    if (path.empty()) return path;
    std::filesystem::path p(path);
    if (p.is_absolute() || base_dir_.empty()) return p.lexically_normal().string();
    return (base_dir_ / p).lexically_normal().string();
  }

  // Visits each element of an array of tables ([[key]]), reporting elements that are not tables.
  template <class Fn>
  void for_each_table(const toml::array& array, const std::string& path, Fn&& fn) {
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      const toml::node& item = array[i];
      if (const auto* t = item.as_table()) {
        fn(*t, item_path, i);
      } else {
        sink_.error(position_of(item.source()), item_path,
                    "expected a table, got " + std::string(type_name(item.type())));
      }
    }
  }

  void read_nodes(table_reader& root, cluster_config& cfg) {
    const auto* nodes = root.get_array("nodes", true, "an array of tables ([[nodes]])");
    if (!nodes) return;
    if (nodes->empty()) root.error("nodes", "at least one node is required");
    for_each_table(*nodes, "nodes", [&](const toml::table& t, const std::string& path, size_t) {
      table_reader r(t, path, sink_);
      node_config node;
      node_positions where;
      where.table = r.table_position();
      if (auto name = r.get_name("name", true)) {
        if (!std::all_of(name->begin(), name->end(), is_node_name_char))
          r.error("name", "node names may hold only letters, digits, '-', '_' and '.', got " +
                              in_quotes(*name));
        node.name = *name;
      }
      where.name = r.where("name");
      if (auto host = r.get_name("host", true)) {
        if (has_space_or_control(*host))
          r.error("host", "must not contain spaces, got " + in_quotes(*host));
        node.host = *host;
      }
      if (auto port = r.get_integer("port", true, 1, 65535)) node.port = static_cast<int>(*port);
      where.port = r.where("port");
      if (auto port = r.get_integer("metrics_port", false, 1, 65535)) {
        node.metrics_port = static_cast<int>(*port);
        where.explicit_metrics_port = true;
      }
      where.metrics_port = r.where("metrics_port");
      if (auto bind = r.get_string("bind_address", false)) {
        if (has_space_or_control(*bind))
          r.error("bind_address", "must not contain spaces, got " + in_quotes(*bind));
        node.bind_address = *bind;
      }
      read_roles(r, node);
      read_devices(r, node);
      r.report_unknown_keys();
      cfg.nodes.push_back(std::move(node));
      node_positions_.push_back(where);
    });
  }

  void read_roles(table_reader& r, node_config& node) {
    const auto* roles = r.get_array("roles", false, "an array of strings");
    if (!roles) {
      if (!r.has("roles")) node.roles = {role_worker};
      return;
    }
    if (roles->empty())
      r.error("roles", "must name at least one role (\"controller\", \"worker\", \"dispatcher\")");
    for (size_t i = 0; i < roles->size(); ++i) {
      const toml::node& item = (*roles)[i];
      const std::string key = r.key_path("roles") + "[" + std::to_string(i) + "]";
      const auto* s = item.as_string();
      if (!s) {
        sink_.error(position_of(item.source()), key,
                    "expected a string, got " + std::string(type_name(item.type())));
        continue;
      }
      const std::string role = s->get();
      if (role != role_controller && role != role_worker && role != role_dispatcher) {
        sink_.error(position_of(item.source()), key,
                    "unknown role " + in_quotes(role) +
                        "; roles are \"controller\", \"worker\" and \"dispatcher\"");
      } else if (node.has_role(role)) {
        sink_.error(position_of(item.source()), key, "role " + in_quotes(role) + " listed twice");
      } else {
        node.roles.push_back(role);
      }
    }
  }

  void read_devices(table_reader& r, node_config& node) {
    const auto* devices = r.get_array("devices", false, "an array of tables");
    if (devices) {
      for_each_table(
          *devices, r.key_path("devices"),
          [&](const toml::table& t, const std::string& path, size_t) {
            table_reader d(t, path, sink_);
            device_group group;
            if (auto kind = d.get_name("kind", true)) {
              const bool known = std::any_of(std::begin(device_kinds), std::end(device_kinds),
                                             [&](const char* k) { return *kind == k; });
              if (!known)
                d.error("kind",
                        "unknown device kind " + in_quotes(*kind) + "; kinds are " + known_kinds());
              group.kind = *kind;
            }
            if (auto count = d.get_integer("count", true, 1, 4096))
              group.count = static_cast<int>(*count);
            const bool has_gib = d.has("memory_gib");
            const bool has_bytes = d.has("memory_bytes");
            if (has_gib && has_bytes) {
              d.error("memory_bytes", "give either memory_gib or memory_bytes, not both");
            } else if (!has_gib && !has_bytes) {
              d.error("memory_gib", "missing required key (or memory_bytes)");
            } else if (has_gib) {
              if (auto gib = d.get_number("memory_gib", true, positive, "> 0"))
                group.memory_bytes = *gib * gib_bytes;
            } else if (auto bytes = d.get_integer("memory_bytes", true, 1,
                                                  std::numeric_limits<int64_t>::max())) {
              group.memory_bytes = static_cast<double>(*bytes);
            }
            d.report_unknown_keys();
            node.devices.push_back(std::move(group));
          });
    }
    const bool worker = node.is_worker();
    if (worker && devices && devices->empty())
      r.error("devices", "a worker node needs at least one device group");
    else if (worker && !devices && !r.has("devices"))
      r.error("devices", "missing required key (a worker node needs devices)");
    else if (!worker && devices && !devices->empty() && !node.roles.empty())
      r.error("devices", "devices are listed but the node has no \"worker\" role");
  }

  static std::string known_kinds() {
    std::vector<std::string> kinds(std::begin(device_kinds), std::end(device_kinds));
    for (auto& k : kinds) k = in_quotes(k);
    return join(kinds, ", ");
  }

  void read_models(table_reader& root, cluster_config& cfg) {
    const auto* models = root.get_array("models", true, "an array of tables ([[models]])");
    if (!models) return;
    if (models->empty()) root.error("models", "at least one model is required");
    for_each_table(*models, "models", [&](const toml::table& t, const std::string& path, size_t) {
      table_reader r(t, path, sink_);
      model_config model;
      model_positions where;
      where.table = r.table_position();
      if (auto name = r.get_name("name", true)) {
        if (has_space_or_control(*name))
          r.error("name", "must not contain spaces, got " + in_quotes(*name));
        model.name = *name;
      }
      where.name = r.where("name");

      const bool has_type = r.has("type");
      const bool has_profile = r.has("profile_file");
      if (has_type && has_profile) {
        r.error("profile_file", "give either type or profile_file, not both");
      } else if (!has_type && !has_profile) {
        sink_.error(r.table_position(), r.key_path("type"),
                    "missing required key: give a model-zoo type or a profile_file");
      } else if (has_type) {
        if (auto type = r.get_name("type", true)) {
          if (hooks_.model_type_known && !hooks_.model_type_known(*type))
            r.error("type", "unknown model type " + in_quotes(*type) + " (not in the model zoo)");
          model.type = *type;
        }
      } else if (auto file = r.get_name("profile_file", true)) {
        model.profile_file = resolve(*file);
      }
      where.source = r.where(has_type ? "type" : "profile_file");

      const bool has_ms = r.has("slo_ms");
      const bool has_scale = r.has("slo_scale");
      if (has_ms && has_scale) {
        r.error("slo_scale", "give either slo_ms or slo_scale, not both");
      } else if (!has_ms && !has_scale) {
        sink_.error(r.table_position(), r.key_path("slo_ms"),
                    "missing required key: give slo_ms or slo_scale");
      } else if (has_ms) {
        if (auto ms = r.get_number("slo_ms", true, positive, "> 0"))
          model.slo_seconds = *ms / 1000.0;
      } else if (auto scale = r.get_number("slo_scale", true, positive, "> 0")) {
        model.slo_scale = *scale;
      }
      if (auto rate = r.get_number("rate", true, non_negative, ">= 0")) model.rate = *rate;
      if (auto cv = r.get_number("cv", false, positive, "> 0")) model.cv = *cv;
      if (auto arch = r.get_name("architecture", false)) {
        if (planner::find_zoo_model(*arch) == nullptr) {
          std::vector<std::string> names = planner::zoo_model_names();
          r.error("architecture", "unknown model architecture " + in_quotes(*arch) +
                                      "; the zoo has " + join(names, ", "));
        }
        model.architecture = *arch;
      }
      if (auto weights = r.get_name("weights", false)) model.weights = resolve(*weights);
      if (auto seed = r.get_integer("seed", false, 0, std::numeric_limits<int64_t>::max()))
        model.seed = static_cast<uint64_t>(*seed);
      if (auto mb = r.get_integer("max_batch_size", false, 1, 1024))
        model.max_batch_size = static_cast<int>(*mb);
      if (auto folder = r.get_name("folder", false)) {
        for (const char* other : {"architecture", "weights", "seed"})
          if (r.has(other))
            r.error("folder", std::string("give either folder or ") + other +
                                  ", not both (the folder defines the model and its weights)");
        model.folder = resolve(*folder);
        std::error_code ec;
        if (!hooks_.check_model_folders) {
          // not read on this node (a worker-only node)
        } else if (!std::filesystem::is_directory(model.folder, ec)) {
          r.error("folder", "model folder not found: " + model.folder);
        } else if (hooks_.model_folder_problem) {
          if (auto problem = hooks_.model_folder_problem(model.folder)) r.error("folder", *problem);
        }
      }
      r.report_unknown_keys();
      cfg.models.push_back(std::move(model));
      model_positions_.push_back(where);
    });
  }

  void read_planner(table_reader r, planner_config& p) {
    if (auto policy = r.get_name("policy", false)) {
      if (hooks_.policy_known && !hooks_.policy_known(*policy))
        r.error("policy", "unknown placement policy " + in_quotes(*policy));
      p.policy = *policy;
    }
    if (auto v = r.get_number("replan_interval_s", false, non_negative, ">= 0"))
      p.replan_interval_s = *v;
    if (auto v = r.get_bool("replan_with_placement_file")) p.replan_with_placement_file = *v;
    if (auto preset = r.get_string("device_preset", false)) {
      if (*preset != "" && *preset != "v100" && *preset != "a100" && *preset != "h100")
        r.error("device_preset",
                "unknown preset " + in_quotes(*preset) +
                    "; presets are \"v100\", \"a100\", \"h100\" (or \"\" to derive "
                    "it from the device kinds)");
      p.device_preset = *preset;
    }
    if (auto v = r.get_integer("max_batch_size", false, 1, 1024))
      p.max_batch_size = static_cast<int>(*v);
    if (auto v = r.get_integer("max_pipeline_stages", false, 1, 64))
      p.max_pipeline_stages = static_cast<int>(*v);
    if (auto v = r.get_integer("max_intra_op", false, 1, 64)) p.max_intra_op = static_cast<int>(*v);
    if (auto f = r.get_string("placement_file", false)) {
      p.placement_file = f->empty() ? std::string() : resolve(*f);
      std::error_code ec;
      if (!p.placement_file.empty() && !std::filesystem::is_regular_file(p.placement_file, ec))
        r.error("placement_file", "file not found: " + p.placement_file);
    }
    r.report_unknown_keys();
  }

  void read_caf(table_reader r, caf_config& c) {
    if (auto policy = r.get_string("scheduler_policy", false)) {
      if (*policy != "sharing" && *policy != "stealing")
        r.error("scheduler_policy", "unknown scheduler policy " + in_quotes(*policy) +
                                        "; policies are \"sharing\" and \"stealing\"");
      c.scheduler_policy = *policy;
    }
    if (auto v = r.get_integer("max_threads", false, 0, 1024)) c.max_threads = static_cast<int>(*v);
    if (auto v = r.get_integer("heartbeat_interval_ms", false, 0, 3'600'000))
      c.heartbeat_interval_ms = static_cast<int>(*v);
    if (auto f = r.get_string("profiling_output_file", false))
      c.profiling_output_file = resolve(*f);
    if (auto v = r.get_integer("profiling_resolution_ms", false, 1, 3'600'000))
      c.profiling_resolution_ms = static_cast<int>(*v);
    // BASP announces a payload as a uint32.
    if (auto v = r.get_integer("max_message_bytes", false, 2 << 20, 4'294'967'295)) {
      c.max_message_bytes = static_cast<size_t>(*v);
      max_message_bytes_at_ = r.where("max_message_bytes");
    }
    if (auto v = r.get_integer("max_pending_message_bytes", false, 2 << 20, int64_t{1} << 40)) {
      c.max_pending_message_bytes = static_cast<size_t>(*v);
      max_pending_at_ = r.where("max_pending_message_bytes");
    }
    if (auto bind = r.get_string("bind_address", false)) {
      if (has_space_or_control(*bind))
        r.error("bind_address", "must not contain spaces, got " + in_quotes(*bind));
      c.bind_address = *bind;
    }
    r.report_unknown_keys();
  }

  // [caf] max_message_bytes against the largest request input (read after both sections).
  void resolve_message_limit(cluster_config& cfg) {
    constexpr size_t headroom = 1u << 20;  // the request's envelope around its input
    constexpr size_t basp_max = 4'294'967'295u;
    const size_t payload = cfg.dispatcher.max_payload_bytes;
    if (!max_message_bytes_at_)
      cfg.caf.max_message_bytes = std::min(basp_max, payload + (16u << 20));
    if (cfg.caf.max_pending_message_bytes == 0)
      cfg.caf.max_pending_message_bytes = 2 * cfg.caf.max_message_bytes;
    else if (cfg.caf.max_pending_message_bytes < cfg.caf.max_message_bytes)
      sink_.error(*max_pending_at_, "caf.max_pending_message_bytes",
                  "must be at least caf.max_message_bytes (" +
                      std::to_string(cfg.caf.max_message_bytes) +
                      "), or no message of the largest size can be read");
    if (!max_message_bytes_at_) return;
    if (cfg.caf.max_message_bytes < payload + headroom)
      sink_.error(*max_message_bytes_at_, "caf.max_message_bytes",
                  "must be at least dispatcher.max_payload_bytes (" + std::to_string(payload) +
                      ") + 1 MiB, or a request with the largest input is cut off; got " +
                      std::to_string(cfg.caf.max_message_bytes));
  }

  // Only the files every machine shares are checked to exist here (the CA and a shared
  // certificate); each node's own certificate and key are validated by `config check` on the
  // machines that hold them and by the node at start (net/tls_material.hpp).
  void read_tls(table_reader r, tls_config& t) {
    if (auto enabled = r.get_bool("enabled")) t.enabled = *enabled;
    if (auto dir = r.get_string("dir", false)) {
      if (dir->empty())
        r.error("dir", "must name a folder");
      else
        t.dir = resolve(*dir);
    }
    const std::pair<const char*, std::string*> files[] = {
        {"certificate", &t.certificate}, {"key", &t.key}, {"ca_file", &t.ca_file}};
    for (const auto& [key, out] : files) {
      auto value = r.get_string(key, false);
      if (!value) continue;
      if (value->empty()) {
        r.error(key, "must name a file (leave the key out to use the file in tls.dir)");
        continue;
      }
      *out = resolve(*value);
    }
    if (r.has("certificate") != r.has("key"))
      r.error(r.has("certificate") ? "certificate" : "key",
              "certificate and key override the per-node files together: give both or neither");
    if (auto env = r.get_string("passphrase_env", false)) t.passphrase_env = *env;
    if (t.enabled && hooks_.check_tls_files) {
      std::error_code ec;
      for (const auto& [key, out] : files) {
        if (out->empty() || std::filesystem::is_regular_file(*out, ec)) continue;
        r.error(key, "file not found: " + *out);
      }
      if (t.ca_file.empty() && !std::filesystem::is_regular_file(t.ca_path(), ec))
        r.error(r.has("dir") ? "dir" : "enabled",
                "no CA certificate " + t.ca_path() +
                    "; create the cluster's material with `alpaserve tls init --config " +
                    source_name_ + "`");
    }
    r.report_unknown_keys();
  }

  void read_dispatcher(table_reader r, dispatcher_config& d) {
    if (auto v = r.get_number("overhead_s", false, non_negative, ">= 0")) d.overhead_s = *v;
    if (auto v = r.get_integer("max_queue_per_group", false, 1, 1'000'000'000))
      d.max_queue_per_group = static_cast<int>(*v);
    if (auto v = r.get_integer("max_payload_bytes", false, 1, std::numeric_limits<int64_t>::max()))
      d.max_payload_bytes = static_cast<size_t>(*v);
    r.report_unknown_keys();
  }

  void read_runtime(table_reader r, runtime_timeouts_config& t) {
    if (auto v = r.get_number("request_timeout_s", false, positive, "> 0"))
      t.request_timeout_s = *v;
    if (auto v = r.get_number("stage_start_timeout_s", false, positive, "> 0"))
      t.stage_start_timeout_s = *v;
    if (auto v = r.get_number("control_timeout_s", false, positive, "> 0"))
      t.control_timeout_s = *v;
    // A drain shorter than the request timeout would stop a group while its requests may
    // still be answered; by default it follows the request timeout.
    t.drain_timeout_s = t.request_timeout_s + 5;
    if (auto v = r.get_number("drain_timeout_s", false, positive, "> 0")) {
      if (*v < t.request_timeout_s)
        r.error("drain_timeout_s", "must be >= request_timeout_s (" +
                                       format_number(t.request_timeout_s) + "), got " +
                                       format_number(*v));
      else
        t.drain_timeout_s = *v;
    }
    r.report_unknown_keys();
  }

  void read_metrics(table_reader r, metrics_config& m) {
    if (auto enabled = r.get_bool("enabled")) m.enabled = *enabled;
    if (auto v = r.get_integer("port_offset", false, 1, 65534))
      m.port_offset = static_cast<int>(*v);
    if (auto b = r.get_name("bind_address", false)) {
      if (has_space_or_control(*b))
        r.error("bind_address", "must not contain spaces, got " + in_quotes(*b));
      m.bind_address = *b;
    }
    r.report_unknown_keys();
  }

  // Each node's metrics port: its own metrics_port, else port + metrics.port_offset; 0 when
  // metrics are off. Reported where it comes from (the node's metrics_port, else its port).
  void resolve_metrics_ports(cluster_config& cfg) {
    for (size_t i = 0; i < cfg.nodes.size(); ++i) {
      node_config& n = cfg.nodes[i];
      const node_positions& at = node_positions_[i];
      if (!cfg.metrics.enabled) {
        n.metrics_port = 0;
        continue;
      }
      if (at.explicit_metrics_port || n.port <= 0) continue;
      const int derived = n.port + cfg.metrics.port_offset;
      if (derived > 65535) {
        sink_.error(at.port, "nodes[" + std::to_string(i) + "].port",
                    "the metrics port (port + metrics.port_offset = " + std::to_string(derived) +
                        ") is above 65535; set the node's metrics_port or a smaller "
                        "metrics.port_offset");
        continue;
      }
      n.metrics_port = derived;
    }
  }

  // What a node binds: a loopback node listens on its own address (actors/node_runtime.cpp), so
  // 127.0.0.2:7000 and 127.0.0.3:7000 coexist while 127.0.0.1:7000 and localhost:7000 clash.
  static std::string endpoint_key(const node_config& n) { return endpoint_key(n, n.port); }
  static std::string endpoint_key(const node_config& n, int port) {
    std::string host = n.host;
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (host == "localhost") host = "127.0.0.1";
    if (host == "ip6-localhost" || host == "[::1]") host = "::1";
    in_addr addr{};
    char text[INET_ADDRSTRLEN] = {};
    if (inet_pton(AF_INET, host.c_str(), &addr) == 1 &&
        inet_ntop(AF_INET, &addr, text, sizeof(text)) != nullptr)
      host = text;  // one spelling per address
    return host + ":" + std::to_string(port);
  }

  void check_nodes(cluster_config& cfg) {
    resolve_metrics_ports(cfg);
    std::map<std::string, size_t> by_name;
    std::map<std::string, size_t> by_endpoint;
    std::vector<size_t> controllers;
    std::vector<size_t> dispatchers;
    std::map<std::string, position> kinds;
    for (size_t i = 0; i < cfg.nodes.size(); ++i) {
      const node_config& n = cfg.nodes[i];
      const node_positions& at = node_positions_[i];
      const std::string path = "nodes[" + std::to_string(i) + "]";
      if (!n.name.empty()) {
        auto [it, fresh] = by_name.emplace(n.name, i);
        if (!fresh)
          sink_.error(at.name, path + ".name",
                      "duplicate node name " + in_quotes(n.name) + " (first at line " +
                          std::to_string(node_positions_[it->second].name.line) + ")");
      }
      if (!n.host.empty() && n.port > 0) {
        auto [it, fresh] = by_endpoint.emplace(endpoint_key(n), i);
        if (!fresh)
          sink_.error(at.port, path + ".port",
                      "node " + in_quotes(n.name) + " uses the same host and port as node " +
                          in_quotes(cfg.nodes[it->second].name) + " (line " +
                          std::to_string(node_positions_[it->second].table.line) + ")");
      }
      if (n.is_controller()) controllers.push_back(i);
      if (n.is_dispatcher()) dispatchers.push_back(i);
      for (const auto& g : n.devices)
        if (!g.kind.empty()) kinds.emplace(g.kind, at.table);
    }
    // Every metrics endpoint against every node port and every other metrics endpoint.
    std::map<std::string, size_t> by_metrics_endpoint;
    for (size_t i = 0; i < cfg.nodes.size(); ++i) {
      const node_config& n = cfg.nodes[i];
      const node_positions& at = node_positions_[i];
      if (n.host.empty() || n.metrics_port <= 0) continue;
      const std::string key = endpoint_key(n, n.metrics_port);
      const position pos = at.explicit_metrics_port ? at.metrics_port : at.port;
      const std::string path = "nodes[" + std::to_string(i) + "]." +
                               (at.explicit_metrics_port ? "metrics_port" : "port");
      const std::string what =
          at.explicit_metrics_port
              ? "metrics port " + std::to_string(n.metrics_port)
              : "metrics port " + std::to_string(n.metrics_port) + " (port + metrics.port_offset)";
      if (auto it = by_endpoint.find(key); it != by_endpoint.end()) {
        sink_.error(pos, path,
                    "the " + what + " of node " + in_quotes(n.name) + " is the port of node " +
                        in_quotes(cfg.nodes[it->second].name) + " on the same host (line " +
                        std::to_string(node_positions_[it->second].table.line) + ")");
        continue;
      }
      auto [it, fresh] = by_metrics_endpoint.emplace(key, i);
      if (!fresh)
        sink_.error(pos, path,
                    "the " + what + " of node " + in_quotes(n.name) +
                        " is also the metrics port of node " +
                        in_quotes(cfg.nodes[it->second].name) + " on the same host (line " +
                        std::to_string(node_positions_[it->second].table.line) + ")");
    }
    if (cfg.nodes.empty()) return;  // already reported (missing or empty)
    if (controllers.empty()) {
      sink_.error(node_positions_[0].table, "nodes",
                  "no node has the role \"controller\"; at least one node must have it");
    }
    for (size_t k = 1; k < dispatchers.size(); ++k) {
      const size_t i = dispatchers[k];
      sink_.error(node_positions_[i].table, "nodes[" + std::to_string(i) + "].roles",
                  "a second dispatcher node " + in_quotes(cfg.nodes[i].name) +
                      "; at most one node may have the role \"dispatcher\" (first: " +
                      in_quotes(cfg.nodes[dispatchers[0]].name) + ")");
    }
    // Workers without devices are reported one by one; this catches a cluster with no worker.
    if (std::none_of(cfg.nodes.begin(), cfg.nodes.end(),
                     [](const auto& n) { return n.is_worker(); }))
      sink_.error(node_positions_[0].table, "nodes",
                  "the cluster has no devices: no node has the \"worker\" role");
    if (kinds.size() > 1) {
      std::vector<std::string> names;
      for (const auto& [k, at] : kinds) names.push_back(in_quotes(k));
      sink_.warning(std::next(kinds.begin())->second, "nodes",
                    "the cluster mixes device kinds " + join(names, ", ") +
                        "; the planner assumes one kind and plans with the smallest memory");
    }
  }

  void check_models(const cluster_config& cfg) {
    std::map<std::string, size_t> by_name;
    const double total_memory = cfg.total_device_memory();
    double total_weights = 0;
    for (size_t i = 0; i < cfg.models.size(); ++i) {
      const model_config& m = cfg.models[i];
      const model_positions& at = model_positions_[i];
      const std::string path = "models[" + std::to_string(i) + "]";
      if (!m.name.empty()) {
        auto [it, fresh] = by_name.emplace(m.name, i);
        if (!fresh)
          sink_.error(at.name, path + ".name",
                      "duplicate model name " + in_quotes(m.name) + " (first at line " +
                          std::to_string(model_positions_[it->second].name.line) + ")");
      }
      if (!hooks_.model_weight_bytes || (m.type.empty() && m.profile_file.empty())) continue;
      const std::string key = path + (m.type.empty() ? ".profile_file" : ".type");
      std::optional<double> weight;
      try {
        weight = hooks_.model_weight_bytes(m);
      } catch (const std::exception& e) {
        sink_.error(at.source, key, e.what());
        continue;
      }
      if (!weight) continue;
      total_weights += *weight;
      if (total_memory > 0 && *weight > total_memory)
        sink_.error(at.source, key,
                    "impossible placement: model " + in_quotes(m.name) + " needs " +
                        format_number(*weight / gib_bytes) +
                        " GiB of weights but all devices of the "
                        "cluster hold " +
                        format_number(total_memory / gib_bytes) + " GiB together");
    }
    if (total_memory > 0 && total_weights > total_memory && !model_positions_.empty())
      sink_.warning(model_positions_[0].table, "models",
                    "the models' weights (" + format_number(total_weights / gib_bytes) +
                        " GiB) exceed the cluster's device memory (" +
                        format_number(total_memory / gib_bytes) +
                        " GiB): not every model can have a replica");
  }

  issue_sink sink_;
  const validation_hooks& hooks_;
  std::string source_name_;
  std::filesystem::path base_dir_;
  std::vector<node_positions> node_positions_;
  std::optional<position> max_message_bytes_at_;  // where [caf] max_message_bytes was set
  std::optional<position> max_pending_at_;        // where [caf] max_pending_message_bytes was
  std::vector<model_positions> model_positions_;
};

}  // namespace

std::string config_issue::to_string() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  if (!key.empty()) out += ": " + key;
  out += ": " + problem;
  return out;
}

namespace {
std::string issue_where(const config_issue& i) {
  std::string where;
  if (i.line > 0) where = "line " + std::to_string(i.line) + ", column " + std::to_string(i.column);
  if (!i.key.empty()) where += (where.empty() ? "" : ", ") + std::string("key ") + i.key;
  return where;
}
const config_issue& first_issue(const std::vector<config_issue>& issues) {
  static const config_issue none{"", 0, 0, "", "invalid cluster config"};
  return issues.empty() ? none : issues.front();
}
}  // namespace

config_error::config_error(std::vector<config_issue> issues)
    : planner::input_error(first_issue(issues).file, issue_where(first_issue(issues)),
                           first_issue(issues).problem),
      issues_(std::move(issues)) {
  for (size_t i = 0; i < issues_.size(); ++i) message_ += (i ? "\n" : "") + issues_[i].to_string();
  if (issues_.empty()) message_ = first_issue(issues_).to_string();
}

size_t edit_distance(std::string_view a, std::string_view b) noexcept {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

cluster_config parse_cluster_config(std::string_view toml_text, const std::string& source_name,
                                    const validation_hooks& hooks) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const position at = position_of(e.source());
    throw config_error({{source_name, at.line, at.column, "", std::string(e.description())}});
  }
  config_builder builder(source_name, hooks);
  cluster_config cfg = builder.build(root);
  if (!builder.sink().errors().empty()) {
    // Checks run record by record, then across records; the reader wants file order.
    auto errors = builder.sink().errors();
    std::stable_sort(errors.begin(), errors.end(),
                     [](const config_issue& a, const config_issue& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    throw config_error(std::move(errors));
  }
  for (const auto& w : builder.sink().warnings()) cfg.warnings.push_back(w.to_string());
  return cfg;
}

cluster_config load_cluster_config(const std::string& path, const validation_hooks& hooks) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error({{path, 0, 0, "", std::string("cannot open: ") + std::strerror(errno)}});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_cluster_config(text.str(), path, hooks);
}

}  // namespace alpaserve::config
