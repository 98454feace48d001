// The placement file format (docs/placement-format.md): the shipped example parses, files round
// trip, and every kind of bad input names the file, the key path or line, and the problem.

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "planner/core/input_error.hpp"
#include "planner/policy/placement_io.hpp"

using namespace alpaserve::planner;

namespace {

// The reference's hard-coded test profiles (section 1.2), GB = 2^30.
profile_db test_db() {
  profile_db db;
  model_profile a;
  a.name = "bert-1.3b";
  a.configs[{1, 1, 1}].add_result(1, {0.099}, {2.6 * gib});
  a.configs[{1, 1, 2}].add_result(1, {0.051, 0.052}, {1.3 * gib, 1.3 * gib});
  a.configs[{1, 1, 4}].add_result(1, {0.028, 0.027, 0.027, 0.029},
                                  {0.65 * gib, 0.65 * gib, 0.65 * gib, 0.65 * gib});
  db.add(a);
  model_profile b;
  b.name = "bert-2.6b";
  b.configs[{1, 1, 1}].add_result(1, {0.148}, {5.2 * gib});
  b.configs[{1, 1, 2}].add_result(1, {0.075, 0.076}, {2.6 * gib, 2.6 * gib});
  db.add(b);
  return db;
}

const char* const two_models = R"({
  "cluster": {"num_devices": 2, "mem_budget_gib": 13},
  "models": [{"name": "a", "profile": "bert-1.3b", "slo": 0.5},
             {"name": "b", "profile": "bert-2.6b", "slo_scale": 2}],
  "groups": [{"op": 1, "pp": 1, "models": ["a", "b"]}, {"op": 1, "pp": 1, "models": ["a"]}]
})";

// Parses `text` expecting an input_error; returns it.
input_error parse_error_of(const std::string& text) {
  try {
    (void)parse_placement_json(text, test_db(), "p.json");
  } catch (const input_error& e) {
    return e;
  }
  FAIL("expected an input_error for: " << text);
  return input_error("", "", "");
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the shipped example placement parses against the reference test profiles") {
  const placement_file f = read_placement_file(
      std::string(ALPASERVE_SOURCE_DIR) + "/examples/placements/small.json", test_db());
  REQUIRE(f.cluster.num_devices == 4);
  REQUIRE(f.cluster.mem_budget == 13 * gib);
  REQUIRE(f.models.size() == 4);
  REQUIRE(f.models[0].slo == 0.5);
  REQUIRE(f.models[0].rate == 8);
  REQUIRE(f.models[1].slo == 5 * 0.099);  // slo_scale x single-device latency
  REQUIRE(f.models[1].cv == 2);
  REQUIRE(f.models[3].profile.name == "bert-2.6b");  // profile defaults to the model name
  REQUIRE(f.models[3].slo == 8 * 0.148);
  REQUIRE_FALSE(f.segmented());
  const auto& p = std::get<placement>(f.layout);
  REQUIRE(p.group_configs[0] == parallel_config{1, 1, 2});
  REQUIRE(p.group_models == std::vector<std::vector<int>>{{0, 1, 2}, {0, 3}, {1, 2}});
}

TEST_CASE("a placement file round-trips through write and read") {
  const placement_file f = parse_placement_json(two_models, test_db());
  const std::string path = std::string(ALPASERVE_BINARY_DIR) + "/placement_io_roundtrip.json";
  write_placement_file(path, f);
  const placement_file g = read_placement_file(path, test_db());
  std::remove(path.c_str());
  REQUIRE(g.cluster.num_devices == f.cluster.num_devices);
  REQUIRE(g.cluster.mem_budget == f.cluster.mem_budget);
  REQUIRE(g.models.size() == 2);
  REQUIRE(g.models[1].slo == f.models[1].slo);
  REQUIRE(g.models[1].profile.name == "bert-2.6b");
  REQUIRE(std::get<placement>(g.layout) == std::get<placement>(f.layout));
  REQUIRE(placement_json(g) == placement_json(f));
}

TEST_CASE("segments describe a placement with replacement") {
  const std::string text = R"({
    "cluster": {"num_devices": 1, "mem_budget_gib": 13},
    "models": [{"name": "a", "profile": "bert-1.3b", "slo": 0.5},
               {"name": "b", "profile": "bert-1.3b", "slo": 0.5}],
    "segments": [{"start": 0, "groups": [{"op": 1, "pp": 1, "models": ["a"]}]},
                 {"start": 60, "groups": [{"op": 1, "pp": 1, "models": ["b", "a"]}]}]
  })";
  const placement_file f = parse_placement_json(text, test_db());
  REQUIRE(f.segmented());
  const auto& r = std::get<placement_with_replacement>(f.layout);
  REQUIRE(r.start_times == std::vector<double>{0, 60});
  REQUIRE(r.placements[1].group_models[0] == std::vector<int>{1, 0});
  const placement_file g = parse_placement_json(placement_json(f), test_db());
  REQUIRE(std::get<placement_with_replacement>(g.layout).start_times == r.start_times);

  auto e = parse_error_of(replaced(text, "\"start\": 60", "\"start\": 0"));
  REQUIRE(e.where() == "segments[1].start");
  e = parse_error_of(replaced(text, "[\"b\", \"a\"]", "[\"b\", \"c\"]"));
  REQUIRE(e.where() == "segments[1].groups[0].models[1]");
}

TEST_CASE("malformed JSON names the line") {
  const auto e =
      parse_error_of("{\n  \"cluster\": {\"num_devices\": 2,\n  \"mem_budget_gib\" 13}\n}");
  REQUIRE(e.file() == "p.json");
  REQUIRE(e.where() == "line 3");
  REQUIRE(e.problem().find("malformed JSON") != std::string::npos);
}

TEST_CASE("bad placement files name the key and the problem") {
  SECTION("unknown key") {
    const auto e = parse_error_of(replaced(two_models, "\"op\": 1, \"pp\": 1, \"models\": [\"a\"]",
                                           "\"op\": 1, \"pp\": 1, \"model\": [\"a\"]"));
    REQUIRE(e.where() == "groups[1].model");
    REQUIRE(e.problem().find("unknown key") != std::string::npos);
  }
  SECTION("wrong type") {
    const auto e =
        parse_error_of(replaced(two_models, "\"num_devices\": 2", "\"num_devices\": \"2\""));
    REQUIRE(e.where() == "cluster.num_devices");
    REQUIRE(e.problem().find("integer") != std::string::npos);
  }
  SECTION("missing field") {
    const auto e =
        parse_error_of(replaced(two_models, "\"op\": 1, \"pp\": 1, \"models\": [\"a\", \"b\"]",
                                "\"op\": 1, \"models\": [\"a\", \"b\"]"));
    REQUIRE(e.where() == "groups[0].pp");
    REQUIRE(e.problem().find("missing") != std::string::npos);
  }
  SECTION("missing SLO") {
    const auto e = parse_error_of(replaced(two_models, ", \"slo\": 0.5", ""));
    REQUIRE(e.where() == "models[0]");
  }
  SECTION("unknown model in a group") {
    const auto e = parse_error_of(replaced(two_models, "[\"a\", \"b\"]", "[\"a\", \"zz\"]"));
    REQUIRE(e.where() == "groups[0].models[1]");
    REQUIRE(e.problem().find("zz") != std::string::npos);
  }
  SECTION("unknown profile") {
    const auto e = parse_error_of(replaced(two_models, "bert-2.6b", "gpt-9"));
    REQUIRE(e.where() == "models[1].profile");
    REQUIRE(e.problem().find("gpt-9") != std::string::npos);
  }
  SECTION("duplicate model names") {
    const auto e = parse_error_of(replaced(two_models, "{\"name\": \"b\"", "{\"name\": \"a\""));
    REQUIRE(e.where() == "models[1].name");
    REQUIRE(e.problem().find("duplicate") != std::string::npos);
  }
  SECTION("a group over the memory budget") {
    const auto e =
        parse_error_of(replaced(two_models, "\"mem_budget_gib\": 13", "\"mem_budget_gib\": 7"));
    REQUIRE(e.where() == "groups[0]");  // 2.6 + 5.2 GiB > 7 GiB
    REQUIRE(e.problem().find("budget") != std::string::npos);
  }
  SECTION("more devices than the cluster") {
    const auto e = parse_error_of(replaced(two_models, "\"num_devices\": 2", "\"num_devices\": 1"));
    REQUIRE(e.where() == "groups");
    REQUIRE(e.problem().find("devices") != std::string::npos);
  }
  SECTION("both groups and segments") {
    const auto e =
        parse_error_of(replaced(two_models, "\"groups\":", "\"segments\": [], \"groups\":"));
    REQUIRE(e.where().empty());
    REQUIRE(e.problem().find("not both") != std::string::npos);
  }
  SECTION("a config the model has no profile for") {
    const std::string wide = replaced(two_models, "\"num_devices\": 2", "\"num_devices\": 8");
    const auto e = parse_error_of(replaced(wide, "\"pp\": 1, \"models\": [\"a\", \"b\"]",
                                           "\"pp\": 4, \"models\": [\"a\", \"b\"]"));
    REQUIRE(e.where() == "groups[0]");
    REQUIRE(e.problem().find("no profile") != std::string::npos);
  }
}

TEST_CASE("a missing placement file is an input error naming it") {
  try {
    (void)read_placement_file("/nonexistent/placement.json", test_db());
    FAIL("expected an input_error");
  } catch (const input_error& e) {
    REQUIRE(e.file() == "/nonexistent/placement.json");
  }
}
