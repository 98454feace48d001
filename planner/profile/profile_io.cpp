#include "planner/profile/profile_io.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "planner/core/input_error.hpp"

namespace alpaserve::planner {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr const char* format_name = "alpaserve-profiles";
constexpr int format_version = 1;

// Walks the document, naming the key path of every problem.
class json_reader {
 public:
  explicit json_reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw input_error(file_, path.empty() ? std::string() : "key " + path, problem);
  }

  void require_object(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object, found " + std::string(v.type_name()));
  }

  void only_keys(const json& obj, const std::string& path,
                 const std::set<std::string>& keys) const {
    for (const auto& item : obj.items())
      if (keys.count(item.key()) == 0) fail(join(path, item.key()), "unknown key");
  }

  const json& member(const json& obj, const std::string& path, const std::string& key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(join(path, key), "missing key");
    return *it;
  }

  int positive_int(const json& v, const std::string& path) const {
    if (!v.is_number_integer())
      fail(path, "expected an integer, found " + std::string(v.type_name()));
    const auto value = v.get<long long>();
    if (value < 1 || value > 1'000'000) fail(path, "must be a positive integer");
    return static_cast<int>(value);
  }

  std::vector<double> stage_list(const json& v, const std::string& path, int pp,
                                 const char* what) const {
    if (!v.is_array()) fail(path, "expected an array, found " + std::string(v.type_name()));
    if (static_cast<int>(v.size()) != pp)
      fail(path, "has " + std::to_string(v.size()) + " entries but pp is " + std::to_string(pp));
    std::vector<double> out;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string at = path + "[" + std::to_string(i) + "]";
      if (!v[i].is_number()) fail(at, "expected a number, found " + std::string(v[i].type_name()));
      const double x = v[i].get<double>();
      if (!std::isfinite(x) || x < 0) fail(at, std::string("negative or non-finite ") + what);
      out.push_back(x);
    }
    return out;
  }

  // {"<batch size>": [per-stage values]}
  std::map<int, std::vector<double>> batch_map(const json& v, const std::string& path, int pp,
                                               const char* what) const {
    require_object(v, path);
    std::map<int, std::vector<double>> out;
    for (const auto& item : v.items()) {
      const std::string at = path + ".\"" + item.key() + "\"";
      out[batch_size(item.key(), at)] = stage_list(item.value(), at, pp, what);
    }
    return out;
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  int batch_size(const std::string& key, const std::string& path) const {
    int value = 0;
    for (char ch : key) {
      if (ch < '0' || ch > '9' || value > 100'000) {
        value = -1;
        break;
      }
      value = value * 10 + (ch - '0');
    }
    if (key.empty() || value < 1 || key[0] == '0')
      fail(path, "batch size must be a positive integer written in decimal");
    return value;
  }

  std::string file_;
};

std::string location_of(const std::string& text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path, "", std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

profile_db parse_profile_db(const std::string& json_text, const std::string& file_name) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    std::string message = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
    if (auto colon = message.find(": "); colon != std::string::npos)
      message = message.substr(colon + 2);
    throw input_error(file_name, location_of(json_text, e.byte), "malformed JSON: " + message);
  }
  const json_reader r(file_name);
  r.require_object(doc, "");
  r.only_keys(doc, "", {"format", "version", "models"});
  if (doc.contains("format") && doc["format"] != format_name)
    r.fail("format", std::string("expected \"") + format_name + "\"");
  if (doc.contains("version") && doc["version"] != format_version)
    r.fail("version",
           "unsupported version (this build reads version " + std::to_string(format_version) + ")");
  const json& models = r.member(doc, "", "models");
  if (!models.is_array()) r.fail("models", "expected an array");

  profile_db db;
  std::set<std::string> seen;
  for (size_t m = 0; m < models.size(); ++m) {
    const std::string mpath = "models[" + std::to_string(m) + "]";
    const json& mj = models[m];
    r.require_object(mj, mpath);
    r.only_keys(mj, mpath, {"name", "configs"});
    const json& name = r.member(mj, mpath, "name");
    if (!name.is_string() || name.get<std::string>().empty())
      r.fail(mpath + ".name", "expected a non-empty string");
    model_profile profile;
    profile.name = name.get<std::string>();
    if (!seen.insert(profile.name).second)
      r.fail(mpath + ".name", "model \"" + profile.name + "\" appears twice");
    const json& configs = r.member(mj, mpath, "configs");
    if (!configs.is_array()) r.fail(mpath + ".configs", "expected an array");
    for (size_t c = 0; c < configs.size(); ++c) {
      const std::string cpath = mpath + ".configs[" + std::to_string(c) + "]";
      const json& cj = configs[c];
      r.require_object(cj, cpath);
      r.only_keys(cj, cpath, {"dp", "op", "pp", "weight_mem", "latency", "act_mem", "boundaries"});
      parallel_config pc;
      pc.dp = r.positive_int(r.member(cj, cpath, "dp"), cpath + ".dp");
      pc.op = r.positive_int(r.member(cj, cpath, "op"), cpath + ".op");
      pc.pp = r.positive_int(r.member(cj, cpath, "pp"), cpath + ".pp");
      if (profile.configs.count(pc) != 0)
        r.fail(cpath, "config " + pc.to_string() + " appears twice in model " + profile.name);
      config_profile cp;
      cp.weight_mem =
          r.stage_list(r.member(cj, cpath, "weight_mem"), cpath + ".weight_mem", pc.pp, "weight");
      cp.latency =
          r.batch_map(r.member(cj, cpath, "latency"), cpath + ".latency", pc.pp, "latency");
      if (cp.latency.empty()) r.fail(cpath + ".latency", "needs at least one batch size");
      if (cj.contains("act_mem"))
        cp.act_mem = r.batch_map(cj["act_mem"], cpath + ".act_mem", pc.pp, "activation memory");
      if (cj.contains("boundaries")) {
        const std::string bpath = cpath + ".boundaries";
        const json& bj = cj["boundaries"];
        if (!bj.is_array() || static_cast<int>(bj.size()) != pc.pp + 1)
          r.fail(bpath,
                 "expected an array of pp + 1 = " + std::to_string(pc.pp + 1) + " layer indices");
        for (size_t i = 0; i < bj.size(); ++i) {
          const std::string at = bpath + "[" + std::to_string(i) + "]";
          if (!bj[i].is_number_integer() || bj[i].get<long long>() < 0)
            r.fail(at, "expected a non-negative integer");
          cp.boundaries.push_back(static_cast<int>(bj[i].get<long long>()));
          if (i == 0 && cp.boundaries[0] != 0) r.fail(at, "the first boundary must be 0");
          if (i > 0 && cp.boundaries[i] <= cp.boundaries[i - 1])
            r.fail(at, "boundaries must increase (every stage holds at least one layer)");
        }
      }
      profile.configs[pc] = std::move(cp);
    }
    db.add(std::move(profile));
  }
  return db;
}

profile_db read_profile_db(const std::string& path) {
  return parse_profile_db(read_file(path), path);
}

std::string profile_db_to_json(const profile_db& db) {
  ordered_json doc;
  doc["format"] = format_name;
  doc["version"] = format_version;
  doc["models"] = ordered_json::array();
  for (const auto& [name, profile] : db.models()) {
    ordered_json mj;
    mj["name"] = name;
    mj["configs"] = ordered_json::array();
    for (const auto& [pc, cp] : profile.configs) {
      ordered_json cj;
      cj["dp"] = pc.dp;
      cj["op"] = pc.op;
      cj["pp"] = pc.pp;
      cj["weight_mem"] = cp.weight_mem;
      cj["latency"] = ordered_json::object();
      for (const auto& [bs, lat] : cp.latency) cj["latency"][std::to_string(bs)] = lat;
      if (!cp.act_mem.empty()) {
        cj["act_mem"] = ordered_json::object();
        for (const auto& [bs, act] : cp.act_mem) cj["act_mem"][std::to_string(bs)] = act;
      }
      if (!cp.boundaries.empty()) cj["boundaries"] = cp.boundaries;
      mj["configs"].push_back(std::move(cj));
    }
    doc["models"].push_back(std::move(mj));
  }
  return doc.dump(2) + "\n";
}

void write_profile_db(const profile_db& db, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw input_error(path, "", std::string("cannot open for writing: ") + std::strerror(errno));
  out << profile_db_to_json(db);
  if (!out.flush()) throw input_error(path, "", "write failed");
}

profile_db import_reference_csv(const std::string& path) {
  profile_db db;
  import_reference_csv(path, db);
  return db;
}

reference_csv_import import_reference_csv(const std::string& path, profile_db& into) {
  return parse_reference_csv(read_file(path), path, into);
}

}  // namespace alpaserve::planner
