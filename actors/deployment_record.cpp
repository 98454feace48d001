#include "actors/deployment_record.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "planner/core/input_error.hpp"

namespace alpaserve::actors {

using json = nlohmann::json;

std::string deployment_record_path(const std::string& config_path) {
  const auto slash = config_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : config_path.substr(0, slash + 1);
  std::string stem = slash == std::string::npos ? config_path : config_path.substr(slash + 1);
  const auto dot = stem.find_last_of('.');
  if (dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  return dir + stem + ".deployment.json";
}

namespace {

json to_json(const deployment_record& r) {
  json j;
  j["format"] = "alpaserve-deployment-record/1";
  j["epoch"] = r.epoch;
  j["serving"] = r.serving;
  json groups = json::array();
  for (size_t g = 0; g < r.placement.group_configs.size(); ++g) {
    const auto& c = r.placement.group_configs[g];
    json jg = {{"dp", c.dp}, {"op", c.op}, {"pp", c.pp}, {"models", r.placement.group_models.at(g)}};
    if (g < r.layout.size()) {  // where the group runs (a re-shard keeps groups in place)
      jg["id"] = r.layout[g].group;
      json stages = json::array();
      for (const auto& s : r.layout[g].stages)
        stages.push_back({{"node", s.node}, {"devices", s.local_devices}});
      jg["stages"] = stages;
    }
    groups.push_back(jg);
  }
  j["groups"] = groups;
  json nodes = json::array();
  for (const auto& n : r.nodes)
    nodes.push_back({{"name", n.name},
                     {"num_devices", n.num_devices},
                     {"memory_bytes", n.memory_bytes},
                     {"device_kind", n.device_kind}});
  j["nodes"] = nodes;
  j["first_group"] = r.first_group;
  j["next_group_id"] = r.next_group_id;
  json planned = json::array();
  for (const auto& t : r.planned)
    planned.push_back({{"model", t.model}, {"rate", t.rate}, {"cv", t.cv}});
  j["planned"] = planned;
  j["replans"] = r.replans;
  return j;
}

deployment_record from_json(const json& j, const std::string& path) {
  std::string key;
  try {
    deployment_record r;
    key = "format";
    if (j.at(key).get<std::string>() != "alpaserve-deployment-record/1")
      throw planner::input_error(path, "key format", "unknown format " + j.at(key).dump());
    key = "epoch";
    r.epoch = j.at(key).get<uint64_t>();
    key = "serving";
    r.serving = j.at(key).get<bool>();
    key = "groups";
    for (const auto& g : j.at(key)) {
      r.placement.group_configs.push_back(
          {g.at("dp").get<int>(), g.at("op").get<int>(), g.at("pp").get<int>()});
      r.placement.group_models.push_back(g.at("models").get<std::vector<int>>());
      if (g.contains("stages")) {
        group_layout l;
        l.group = g.at("id").get<int>();
        l.config = r.placement.group_configs.back();
        l.models = r.placement.group_models.back();
        for (const auto& s : g.at("stages"))
          l.stages.push_back({s.at("node").get<int>(), s.at("devices").get<std::vector<int>>()});
        r.layout.push_back(std::move(l));
      }
    }
    if (!r.layout.empty() && r.layout.size() != r.placement.group_configs.size())
      throw std::invalid_argument("every group or none has its stages");
    key = "nodes";
    for (const auto& n : j.at(key))
      r.nodes.push_back({n.at("name").get<std::string>(), n.at("num_devices").get<int>(),
                         n.at("memory_bytes").get<double>(), n.at("device_kind").get<std::string>()});
    key = "first_group";
    r.first_group = j.at(key).get<int>();
    key = "next_group_id";
    r.next_group_id = j.at(key).get<int>();
    key = "planned";
    for (const auto& t : j.at(key))
      r.planned.push_back(
          {t.at("model").get<std::string>(), t.at("rate").get<double>(), t.at("cv").get<double>()});
    key = "replans";
    r.replans = j.at(key).get<uint64_t>();
    return r;
  } catch (const planner::input_error&) {
    throw;
  } catch (const std::exception& e) {
    throw planner::input_error(path, "key " + key, e.what());
  }
}

}  // namespace

std::string deployment_record_json(const deployment_record& record) {
  return to_json(record).dump(2) + "\n";
}

deployment_record parse_deployment_record(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    throw planner::input_error(source, "", e.what());
  }
  return from_json(j, source);
}

std::optional<deployment_record> read_deployment_record(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw planner::input_error(path, "", std::string("cannot read: ") + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_deployment_record(text.str(), path);
}

void write_deployment_record(const std::string& path, const deployment_record& record) {
  const std::string tmp = path + ".tmp";
  const std::string text = deployment_record_json(record);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  // Flushed before the rename: after a crash the record is the old one or the new one, whole.
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw std::runtime_error("cannot flush " + tmp + ": " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot replace " + path + ": " + std::strerror(errno));
}

}  // namespace alpaserve::actors
