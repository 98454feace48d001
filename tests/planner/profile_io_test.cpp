// profile_io: the JSON profile database (round trips, the shipped example, every kind of bad
// input naming its key path) and the reference CSV importer.

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "planner/core/input_error.hpp"
#include "planner/profile/profile_io.hpp"
#include "planner/profile/reference_profiles.hpp"
#include "planner/profile/zoo_profiles.hpp"

using namespace alpaserve::planner;

namespace {

void require_same(const profile_db& a, const profile_db& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, p] : a.models()) {
    const model_profile* q = b.find(name);
    REQUIRE(q != nullptr);
    REQUIRE(q->configs.size() == p.configs.size());
    for (const auto& [pc, cp] : p.configs) {
      const config_profile* cq = q->find(pc);
      REQUIRE(cq != nullptr);
      REQUIRE(cq->latency == cp.latency);  // exact: doubles round-trip through JSON
      REQUIRE(cq->act_mem == cp.act_mem);
      REQUIRE(cq->weight_mem == cp.weight_mem);
    }
  }
}

// The input_error a parse throws, or fails the test.
input_error parse_error_of(const std::string& text) {
  try {
    (void)parse_profile_db(text, "bad.json");
  } catch (const input_error& e) {
    return e;
  }
  FAIL("no input_error for: " << text);
  throw;
}

std::string with_config(const std::string& config) {
  return R"({"models": [{"name": "m", "configs": [)" + config + "]}]}";
}

const std::string good_config =
    R"({"dp": 1, "op": 1, "pp": 2, "weight_mem": [1, 2], "latency": {"1": [0.1, 0.2]}})";

std::string temp_path(const std::string& name) {
  return std::string(ALPASERVE_BINARY_DIR) + "/" + name;
}

}  // namespace

TEST_CASE("profile databases round-trip through JSON exactly") {
  const profile_db ref = reference_test_profiles();
  require_same(ref, parse_profile_db(profile_db_to_json(ref), "mem"));
  const profile_db zoo = zoo_profile_db(device_preset("v100"), {"bert-tiny", "moe-1.3b"});
  const std::string path = temp_path("profile_io_roundtrip.json");
  write_profile_db(zoo, path);
  require_same(zoo, read_profile_db(path));
  std::remove(path.c_str());
}

TEST_CASE("the shipped example examples/profiles/small.json parses") {
  const profile_db db =
      read_profile_db(std::string(ALPASERVE_SOURCE_DIR) + "/examples/profiles/small.json");
  REQUIRE(db.size() == 1);
  const auto& p = db.at("test-2GB-100ms");
  REQUIRE(p.configs.size() == 3);
  REQUIRE(p.single_device_latency() == 0.100);
  REQUIRE(p.find({1, 1, 1})->stage_latency(2) == std::vector<double>{0.180});
  REQUIRE(p.find({1, 1, 1})->act_mem.at(1) == std::vector<double>{268435456});
  REQUIRE(p.weight_per_device({1, 2, 1}) == gib);
}

TEST_CASE("malformed JSON is reported with its line and column") {
  const auto e = parse_error_of("{\n  \"models\": [\n    {\"name\": \"m\",, }\n  ]\n}");
  REQUIRE(e.file() == "bad.json");
  REQUIRE(e.where().find("line 3") != std::string::npos);
  REQUIRE(e.problem().find("malformed JSON") != std::string::npos);
}

TEST_CASE("bad profile databases name the JSON key path and the problem") {
  struct bad_case {
    std::string text, where, problem;
  };
  const std::vector<bad_case> cases = {
      {R"([])", "", "expected an object"},
      {R"({})", "key models", "missing key"},
      {R"({"models": {}})", "key models", "expected an array"},
      {R"({"models": [], "extra": 1})", "key extra", "unknown key"},
      {R"({"models": [], "version": 7})", "key version", "unsupported version"},
      {R"({"models": [{"configs": []}]})", "key models[0].name", "missing key"},
      {R"({"models": [{"name": 5, "configs": []}]})", "key models[0].name", "non-empty string"},
      {R"({"models": [{"name": "m", "configs": []}, {"name": "m", "configs": []}]})",
       "key models[1].name", "appears twice"},
      {with_config(R"({"dp": 1, "op": 1, "weight_mem": [1], "latency": {"1": [0.1]}})"),
       "key models[0].configs[0].pp", "missing key"},
      {with_config(R"({"dp": 1, "op": "2", "pp": 1, "weight_mem": [1], "latency": {"1": [0.1]}})"),
       "key models[0].configs[0].op", "expected an integer"},
      {with_config(R"({"dp": 1, "op": 0, "pp": 1, "weight_mem": [1], "latency": {"1": [0.1]}})"),
       "key models[0].configs[0].op", "positive integer"},
      {with_config(
           R"({"dp": 1, "op": 1, "pp": 2, "weight_mem": [1], "latency": {"1": [0.1, 0.1]}})"),
       "key models[0].configs[0].weight_mem", "has 1 entries but pp is 2"},
      {with_config(good_config + "," +
                   R"({"dp": 1, "op": 2, "pp": 2, "weight_mem": [1, 2], "latency": {"4": [0.1]}})"),
       "key models[0].configs[1].latency.\"4\"", "has 1 entries but pp is 2"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weight_mem": [1], "latency": {"4": [-0.1]}})"),
       "key models[0].configs[0].latency.\"4\"[0]", "negative"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weight_mem": [1], "latency": {"0": [0.1]}})"),
       "key models[0].configs[0].latency.\"0\"", "batch size"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weight_mem": [1], "latency": {"two": [0.1]}})"),
       "key models[0].configs[0].latency.\"two\"", "batch size"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weight_mem": [1], "latency": {}})"),
       "key models[0].configs[0].latency", "at least one batch size"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weight_mem": ["1"], "latency": {"1": [0.1]}})"),
       "key models[0].configs[0].weight_mem[0]", "expected a number"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weight_mem": [1], "latency": {"1": [0.1]},
                       "act_mem": {"1": [1, 2]}})"),
       "key models[0].configs[0].act_mem.\"1\"", "has 2 entries but pp is 1"},
      {with_config(good_config + "," + good_config), "key models[0].configs[1]", "appears twice"},
      {with_config(R"({"dp": 1, "op": 1, "pp": 1, "weigth_mem": [1], "latency": {"1": [0.1]}})"),
       "key models[0].configs[0].weigth_mem", "unknown key"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto e = parse_error_of(c.text);
    REQUIRE(e.file() == "bad.json");
    REQUIRE(e.where() == c.where);
    REQUIRE(e.problem().find(c.problem) != std::string::npos);
  }
  REQUIRE_NOTHROW(parse_profile_db(with_config(good_config), "good.json"));
}

TEST_CASE("reading or writing a missing path names the file") {
  REQUIRE_THROWS_WITH(read_profile_db("/nonexistent/x.json"),
                      Catch::Contains("/nonexistent/x.json"));
  REQUIRE_THROWS_AS(write_profile_db(profile_db{}, "/nonexistent/dir/x.json"), input_error);
  REQUIRE_THROWS_AS(import_reference_csv("/nonexistent/x.tsv"), input_error);
}

TEST_CASE(
    "the reference CSV importer reads rows, act_mem = peak - weight, with or without header") {
  const profile_db db = import_reference_csv(std::string(ALPASERVE_SOURCE_DIR) +
                                             "/examples/profiles/reference_profiles.tsv");
  const auto& p = db.at("bert-1.3b");
  REQUIRE(p.configs.size() == 3);
  REQUIRE(p.find({1, 1, 2})->stage_latency(1) == std::vector<double>{0.051, 0.052});
  REQUIRE(p.find({1, 1, 2})->act_mem.at(1) ==
          std::vector<double>{1800000000.0 - 1396703232.0, 1700000000.0 - 1396703232.0});
  REQUIRE(p.find({1, 2, 1})->stage_latency(2) == std::vector<double>{0.120});
  REQUIRE(p.single_device_latency() == 0.099);

  // Without the header line the reference's column order applies.
  profile_db headless;
  parse_reference_csv("bert-x\t1\t1\t1\t1\t1\t1\t0.2\t0\t1\t[100]\t[150]\t[0.2]\n\n", "h.tsv",
                      headless);
  REQUIRE(headless.at("bert-x").find({1, 1, 1})->act_mem.at(1) == std::vector<double>{50});
  // A header may order columns differently.
  profile_db reordered;
  parse_reference_csv(
      "ModelName\tStageLatencies(s)\tBS\t#Microbatch\tDP\tOP\tPP\t#GPU\tMeanTime(s)\tStdTime(s)\t"
      "TFLOPs\tStageWeights(B)\tStagePeakMem(B)\nm\t[0.3]\t2\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\n",
      "r.tsv", reordered);
  REQUIRE(reordered.at("m").find({1, 1, 1})->stage_latency(2) == std::vector<double>{0.3});
}

TEST_CASE("CSV rows merge with the reference's replace rule") {
  profile_db db;
  const std::string row_slow = "m\t1\t1\t1\t1\t2\t2\t0\t0\t0\t[10,10]\t[20,20]\t[0.5,0.5]\n";
  const std::string row_slower = "m\t1\t1\t1\t1\t2\t2\t0\t0\t0\t[30,30]\t[40,40]\t[0.6,0.1]\n";
  const std::string row_fast = "m\t1\t1\t1\t1\t2\t2\t0\t0\t0\t[50,50]\t[60,60]\t[0.4,0.3]\n";
  parse_reference_csv(row_slow, "a.tsv", db);
  parse_reference_csv(row_slower, "b.tsv", db);  // max 0.6 > 0.5: kept the first
  REQUIRE(db.at("m").find({1, 1, 2})->weight_mem == std::vector<double>{10, 10});
  parse_reference_csv(row_fast, "c.tsv", db);  // max 0.4 < 0.5: replaced, weights too
  REQUIRE(db.at("m").find({1, 1, 2})->stage_latency(1) == std::vector<double>{0.4, 0.3});
  REQUIRE(db.at("m").find({1, 1, 2})->weight_mem == std::vector<double>{50, 50});
}

TEST_CASE("bad CSV rows are reported with their line, column and problem") {
  struct bad_case {
    std::string row, where, problem;
  };
  const std::string header =
      "ModelName\tBS\t#Microbatch\tDP\tOP\tPP\t#GPU\tMeanTime(s)\tStdTime(s)\tTFLOPs\t"
      "StageWeights(B)\tStagePeakMem(B)\tStageLatencies(s)\n";
  const std::string ok = "m\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\t[0.1]\n";
  const std::vector<bad_case> cases = {
      {"m\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\n", "line 3", "expected 13 tab-separated fields"},
      {"m\tx\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\t[0.1]\n", "line 3, column BS", "expected a number"},
      {"m\t0\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\t[0.1]\n", "line 3, column BS", "positive integer"},
      {"m\t1\t1\t1\t1\t2\t1\t0\t0\t0\t[1,1]\t[2,2]\t[0.1,0.1]\n", "line 3, column #GPU",
       "DP*OP*PP"},
      {"m\t1\t1\t1\t1\t2\t2\t0\t0\t0\t[1]\t[2,2]\t[0.1,0.1]\n", "line 3, column StageWeights(B)",
       "has 1 entries but PP is 2"},
      {"m\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[1]\t[0.1]\n", "line 3, column StagePeakMem(B)",
       "must exceed"},
      {"m\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\t0.1\n", "line 3, column StageLatencies(s)",
       "expected a list"},
      {"m\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\t[-0.1]\n", "line 3, column StageLatencies(s)",
       "negative"},
      {"\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[2]\t[0.1]\n", "line 3, column ModelName", "empty"},
  };
  for (const auto& c : cases) {
    INFO(c.row);
    profile_db db;
    try {
      parse_reference_csv(header + ok + c.row, "p.tsv", db);
      FAIL("no input_error");
    } catch (const input_error& e) {
      REQUIRE(e.file() == "p.tsv");
      REQUIRE(e.where() == c.where);
      REQUIRE(e.problem().find(c.problem) != std::string::npos);
    }
  }
  profile_db db;
  REQUIRE_THROWS_WITH(parse_reference_csv("ModelName\tBS\n", "h.tsv", db),
                      Catch::Contains("header lacks column #Microbatch"));
}

TEST_CASE("a reference CSV without activation memory imports with no act_mem, and says so") {
  // The reference's synthetic profiles have no activation memory ("TODO"). Three spellings: no
  // StagePeakMem(B) column in the header, no such column without a header (12 fields), and a
  // TODO / empty field. Latencies and weights are imported as usual; act_mem stays absent.
  profile_db db;
  const auto with_header = parse_reference_csv(
      "ModelName\tBS\t#Microbatch\tDP\tOP\tPP\t#GPU\tMeanTime(s)\tStdTime(s)\tTFLOPs\t"
      "StageWeights(B)\tStageLatencies(s)\n"
      "a\t1\t1\t1\t1\t2\t2\t0\t0\t0\t[10,10]\t[0.05,0.06]\n",
      "a.tsv", db);
  REQUIRE(with_header.rows == 1);
  REQUIRE(with_header.rows_without_act_mem == 1);
  REQUIRE(db.at("a").find({1, 1, 2})->stage_latency(1) == std::vector<double>{0.05, 0.06});
  REQUIRE(db.at("a").find({1, 1, 2})->weight_mem == std::vector<double>{10, 10});
  REQUIRE(db.at("a").find({1, 1, 2})->act_mem.empty());

  const auto headless =
      parse_reference_csv("b\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[7]\t[0.1]\n", "b.tsv", db);
  REQUIRE(headless.rows_without_act_mem == 1);
  REQUIRE(db.at("b").find({1, 1, 1})->weight_mem == std::vector<double>{7});
  REQUIRE(db.at("b").find({1, 1, 1})->stage_latency(1) == std::vector<double>{0.1});

  const auto mixed = parse_reference_csv(
      "c\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[7]\tTODO\t[0.1]\n"
      "c\t2\t1\t1\t1\t1\t1\t0\t0\t0\t[7]\t[9]\t[0.15]\n"
      "c\t4\t1\t1\t1\t1\t1\t0\t0\t0\t[7]\t\t[0.2]\n",
      "c.tsv", db);
  REQUIRE(mixed.rows == 3);
  REQUIRE(mixed.rows_without_act_mem == 2);
  const config_profile& c = *db.at("c").find({1, 1, 1});
  REQUIRE(c.act_mem.size() == 1);
  REQUIRE(c.act_mem.at(2) == std::vector<double>{2});
  REQUIRE(c.stage_latency(4) == std::vector<double>{0.2});

  // A present peak that does not exceed the weights is still an error, as in the reference.
  REQUIRE_THROWS_WITH(
      parse_reference_csv("d\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[7]\t[7]\t[0.1]\n", "d.tsv", db),
      Catch::Contains("must exceed"));
  // A faster result without activation memory replaces the old one's act_mem too.
  parse_reference_csv("c\t2\t1\t1\t1\t1\t1\t0\t0\t0\t[7]\tTODO\t[0.12]\n", "e.tsv", db);
  REQUIRE(db.at("c").find({1, 1, 1})->act_mem.empty());
}
