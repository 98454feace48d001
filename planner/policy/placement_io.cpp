#include "planner/policy/placement_io.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "planner/core/input_error.hpp"

namespace alpaserve::planner {
namespace {

using json = nlohmann::json;

// Validating reader over one parsed document; every error names the file and a key path.
class reader {
 public:
  reader(std::string file, const profile_db& profiles)
      : file_(std::move(file)), profiles_(profiles) {}

  placement_file read(const json& doc) {
    expect_object(doc, "");
    check_keys(doc, "", {"cluster", "models", "groups", "segments"});
    placement_file f;
    f.cluster = read_cluster(member(doc, "", "cluster"));
    f.models = read_models(member(doc, "", "models"));
    const bool has_groups = doc.contains("groups");
    const bool has_segments = doc.contains("segments");
    if (has_groups == has_segments)
      fail("", has_groups ? "give either \"groups\" or \"segments\", not both"
                          : "missing key \"groups\" (or \"segments\")");
    if (has_groups) {
      placement p = read_groups(doc.at("groups"), "groups");
      check_placement(p, f, "");
      f.layout = std::move(p);
    } else {
      f.layout = read_segments(doc.at("segments"), f);
    }
    return f;
  }

 private:
  [[noreturn]] void fail(const std::string& where, const std::string& problem) const {
    throw input_error(file_, where, problem);
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  void expect_object(const json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, std::string("expected an object, found ") + j.type_name());
  }
  void expect_array(const json& j, const std::string& path) const {
    if (!j.is_array()) fail(path, std::string("expected an array, found ") + j.type_name());
  }

  void check_keys(const json& j, const std::string& path,
                  std::initializer_list<const char*> allowed) const {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::none_of(allowed.begin(), allowed.end(),
                       [&](const char* a) { return it.key() == a; })) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(join(path, it.key()), "unknown key (allowed: " + list + ")");
      }
    }
  }

  const json& member(const json& j, const std::string& path, const char* key) const {
    if (!j.contains(key)) fail(join(path, key), "missing required key");
    return j.at(key);
  }

  double number(const json& j, const std::string& path) const {
    if (!j.is_number()) fail(path, std::string("expected a number, found ") + j.type_name());
    const double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "expected a finite number");
    return v;
  }
  double positive(const json& j, const std::string& path) const {
    const double v = number(j, path);
    if (!(v > 0)) fail(path, "must be > 0");
    return v;
  }
  int integer(const json& j, const std::string& path, int min) const {
    if (!j.is_number_integer())
      fail(path, std::string("expected an integer, found ") + j.type_name());
    const auto v = j.get<int64_t>();
    if (v < min || v > 1'000'000) fail(path, "must be an integer >= " + std::to_string(min));
    return static_cast<int>(v);
  }
  std::string string(const json& j, const std::string& path) const {
    if (!j.is_string()) fail(path, std::string("expected a string, found ") + j.type_name());
    return j.get<std::string>();
  }

  cluster_env read_cluster(const json& j) {
    const std::string path = "cluster";
    expect_object(j, path);
    check_keys(j, path, {"num_devices", "mem_budget_gib", "devices_per_node"});
    cluster_env c;
    c.num_devices = integer(member(j, path, "num_devices"), join(path, "num_devices"), 1);
    c.mem_budget = positive(member(j, path, "mem_budget_gib"), join(path, "mem_budget_gib")) * gib;
    if (j.contains("devices_per_node"))
      c.devices_per_node = integer(j.at("devices_per_node"), join(path, "devices_per_node"), 1);
    return c;
  }

  std::vector<model_data> read_models(const json& j) {
    expect_array(j, "models");
    std::vector<model_data> models;
    for (size_t i = 0; i < j.size(); ++i) {
      const std::string path = index("models", i);
      const json& e = j[i];
      expect_object(e, path);
      check_keys(e, path, {"name", "profile", "slo", "slo_scale", "rate", "cv"});
      model_data m;
      m.name = string(member(e, path, "name"), join(path, "name"));
      if (m.name.empty()) fail(join(path, "name"), "must not be empty");
      if (id_of_.count(m.name)) fail(join(path, "name"), "duplicate model name \"" + m.name + "\"");
      std::string profile_key = join(path, "name");
      std::string profile_name = m.name;
      if (e.contains("profile")) {
        profile_key = join(path, "profile");
        profile_name = string(e.at("profile"), profile_key);
      }
      const model_profile* prof = profiles_.find(profile_name);
      if (prof == nullptr)
        fail(profile_key, "unknown profile \"" + profile_name + "\" (not in the profile database)");
      m.profile = *prof;
      const bool has_slo = e.contains("slo");
      const bool has_scale = e.contains("slo_scale");
      if (has_slo == has_scale)
        fail(path, has_slo ? "give either \"slo\" or \"slo_scale\", not both"
                           : "missing key \"slo\" (or \"slo_scale\")");
      if (has_slo) {
        m.slo = positive(e.at("slo"), join(path, "slo"));
      } else {
        const double scale = positive(e.at("slo_scale"), join(path, "slo_scale"));
        const config_profile* single = prof->find(parallel_config{1, 1, 1});
        if (single == nullptr || single->latency.count(1) == 0)
          fail(join(path, "slo_scale"),
               "profile \"" + profile_name + "\" has no (1,1,1) batch-1 latency to scale");
        m.slo = scale * prof->single_device_latency();
      }
      if (e.contains("rate")) {
        m.rate = number(e.at("rate"), join(path, "rate"));
        if (m.rate < 0) fail(join(path, "rate"), "must be >= 0");
      }
      if (e.contains("cv")) {
        m.cv = number(e.at("cv"), join(path, "cv"));
        if (m.cv < 0) fail(join(path, "cv"), "must be >= 0");
      }
      id_of_[m.name] = static_cast<int>(models.size());
      models.push_back(std::move(m));
    }
    return models;
  }

  placement read_groups(const json& j, const std::string& path) {
    expect_array(j, path);
    placement p;
    for (size_t g = 0; g < j.size(); ++g) {
      const std::string gpath = index(path, g);
      const json& e = j[g];
      expect_object(e, gpath);
      check_keys(e, gpath, {"dp", "op", "pp", "models"});
      parallel_config c;
      if (e.contains("dp")) c.dp = integer(e.at("dp"), join(gpath, "dp"), 1);
      c.op = integer(member(e, gpath, "op"), join(gpath, "op"), 1);
      c.pp = integer(member(e, gpath, "pp"), join(gpath, "pp"), 1);
      const std::string mpath = join(gpath, "models");
      const json& names = member(e, gpath, "models");
      expect_array(names, mpath);
      std::vector<int> ids;
      for (size_t k = 0; k < names.size(); ++k) {
        const std::string name = string(names[k], index(mpath, k));
        auto it = id_of_.find(name);
        if (it == id_of_.end()) fail(index(mpath, k), "unknown model \"" + name + "\"");
        if (std::find(ids.begin(), ids.end(), it->second) != ids.end())
          fail(index(mpath, k), "model \"" + name + "\" appears twice in this group");
        ids.push_back(it->second);
      }
      p.group_configs.push_back(c);
      p.group_models.push_back(std::move(ids));
    }
    return p;
  }

  // placement_problems names a group as "group N (...)"; point at its key when it does.
  void check_placement(const placement& p, const placement_file& f, const std::string& prefix) {
    const auto problems = placement_problems(p, f.models, f.cluster);
    if (problems.empty()) return;
    const std::string& problem = problems.front();
    std::string where = join(prefix, "groups");
    if (problem.rfind("group ", 0) == 0) {
      size_t end = 6;
      while (end < problem.size() && std::isdigit(static_cast<unsigned char>(problem[end]))) ++end;
      if (end > 6) where = index(where, std::stoul(problem.substr(6, end - 6)));
    }
    fail(where, problem);
  }

  placement_with_replacement read_segments(const json& j, const placement_file& f) {
    expect_array(j, "segments");
    if (j.empty()) fail("segments", "must list at least one segment");
    placement_with_replacement r;
    for (size_t s = 0; s < j.size(); ++s) {
      const std::string path = index("segments", s);
      const json& e = j[s];
      expect_object(e, path);
      check_keys(e, path, {"start", "groups"});
      const double start = number(member(e, path, "start"), join(path, "start"));
      if (!r.start_times.empty() && !(start > r.start_times.back()))
        fail(join(path, "start"), "segment starts must increase");
      placement p = read_groups(member(e, path, "groups"), join(path, "groups"));
      check_placement(p, f, path);
      r.start_times.push_back(start);
      r.placements.push_back(std::move(p));
    }
    return r;
  }

  std::string file_;
  const profile_db& profiles_;
  std::map<std::string, int> id_of_;
};

// nlohmann's message carries "at line N, column M"; fall back to counting newlines.
std::string where_of_parse_error(const std::string& what, const std::string& text, size_t byte) {
  const size_t at = what.find("at line ");
  if (at != std::string::npos) {
    size_t end = at + 8;
    while (end < what.size() && std::isdigit(static_cast<unsigned char>(what[end]))) ++end;
    if (end > at + 8) return "line " + what.substr(at + 8, end - at - 8);
  }
  const size_t end = std::min(byte, text.size());
  return "line " +
         std::to_string(std::count(text.begin(), text.begin() + static_cast<long>(end), '\n') + 1);
}

std::string short_parse_message(const std::string& what) {
  // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
  const size_t colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

using ordered_json = nlohmann::ordered_json;

ordered_json groups_json(const placement& p, const std::vector<model_data>& models) {
  ordered_json groups = ordered_json::array();
  for (size_t g = 0; g < p.num_groups(); ++g) {
    const parallel_config& c = p.group_configs[g];
    ordered_json e;
    if (c.dp != 1) e["dp"] = c.dp;
    e["op"] = c.op;
    e["pp"] = c.pp;
    ordered_json names = ordered_json::array();
    for (int m : p.group_models[g]) {
      if (m < 0 || static_cast<size_t>(m) >= models.size())
        throw std::invalid_argument("placement_json: model id " + std::to_string(m) +
                                    " out of range");
      names.push_back(models[m].name);
    }
    e["models"] = std::move(names);
    groups.push_back(std::move(e));
  }
  return groups;
}

}  // namespace

placement_file parse_placement_json(const std::string& text, const profile_db& profiles,
                                    const std::string& file) {
  json doc;
  try {
    doc = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    throw input_error(file, where_of_parse_error(e.what(), text, e.byte),
                      "malformed JSON: " + short_parse_message(e.what()));
  }
  return reader(file, profiles).read(doc);
}

placement_file read_placement_file(const std::string& path, const profile_db& profiles) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path, "", "cannot open the placement file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_placement_json(text.str(), profiles, path);
}

std::string placement_json(const placement_file& f) {
  ordered_json doc;
  ordered_json cluster;
  cluster["num_devices"] = f.cluster.num_devices;
  cluster["mem_budget_gib"] = f.cluster.mem_budget / gib;
  if (f.cluster.devices_per_node != 8) cluster["devices_per_node"] = f.cluster.devices_per_node;
  doc["cluster"] = std::move(cluster);
  ordered_json models = ordered_json::array();
  for (const auto& m : f.models) {
    ordered_json e;
    e["name"] = m.name;
    if (!m.profile.name.empty() && m.profile.name != m.name) e["profile"] = m.profile.name;
    e["slo"] = m.slo;
    if (m.rate != 0) e["rate"] = m.rate;
    if (m.cv != 1) e["cv"] = m.cv;
    models.push_back(std::move(e));
  }
  doc["models"] = std::move(models);
  if (const auto* p = std::get_if<placement>(&f.layout)) {
    doc["groups"] = groups_json(*p, f.models);
  } else {
    const auto& r = std::get<placement_with_replacement>(f.layout);
    ordered_json segments = ordered_json::array();
    for (size_t s = 0; s < r.placements.size(); ++s) {
      ordered_json e;
      e["start"] = s < r.start_times.size() ? r.start_times[s] : 0.0;
      e["groups"] = groups_json(r.placements[s], f.models);
      segments.push_back(std::move(e));
    }
    doc["segments"] = std::move(segments);
  }
  return doc.dump(2) + "\n";
}

void write_placement_file(const std::string& path, const placement_file& f) {
  const std::string text = placement_json(f);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write placement file " + path);
  out << text;
  if (!out) throw std::runtime_error("error writing placement file " + path);
}

}  // namespace alpaserve::planner
