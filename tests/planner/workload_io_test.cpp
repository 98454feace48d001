#include <catch2/catch.hpp>

#include "planner/core/input_error.hpp"
#include "planner/workload/workload_gen.hpp"
#include "planner/workload/workload_io.hpp"
#include "test_temp_dir.hpp"

using namespace alpaserve::planner;
using alpaserve::testing::fresh_temp_dir;
using alpaserve::testing::write_text;

namespace {
// The input_error a read throws, for inspecting where and what.
input_error read_error(const std::string& path) {
  try {
    (void)read_workload_csv(path);
  } catch (const input_error& e) {
    return e;
  }
  FAIL("no input_error thrown for " << path);
  return input_error("", "", "");
}
}  // namespace

TEST_CASE("trace CSV round-trips every double exactly and keeps model names") {
  const auto dir = fresh_temp_dir("workload_io_roundtrip");
  const auto w = gamma_workload({"bert-1.3b-0", "moe_2", "m3"}, {3.0, 1.0, 0.5}, 4.0, 300.0, 5);
  const std::string path = (dir / "w.csv").string();
  write_workload_csv(w, path);
  const auto r = read_workload_csv(path);
  REQUIRE(r.arrivals == w.arrivals);
  // Names are numbered in order of first appearance in the file.
  REQUIRE(r.size() == w.size());
  for (size_t j = 0; j < w.size(); ++j) {
    REQUIRE(r.model_names[r.model[j]] == w.model_names[w.model[j]]);
  }
}

TEST_CASE("trace CSV reader accepts comments, blank lines, CRLF and sorts unsorted lines stably") {
  const auto dir = fresh_temp_dir("workload_io_lenient");
  const auto path = write_text(dir / "w.csv",
                               "# recorded 2024-01-01\r\narrival_s,model\r\n2.5,b\r\n\r\n"
                               "1e-1,a\r\n2.5,a\r\n 0 , b \r\n# done\r\n");
  const auto w = read_workload_csv(path);
  REQUIRE(w.arrivals == std::vector<double>{0.0, 0.1, 2.5, 2.5});
  REQUIRE(w.model_names == std::vector<std::string>{"b", "a"});
  // The two 2.5 requests keep file order: b then a.
  REQUIRE(w.model == std::vector<int32_t>{0, 1, 0, 1});
}

TEST_CASE("trace CSV reader names file, line and problem for bad input") {
  const auto dir = fresh_temp_dir("workload_io_errors");
  auto e = read_error(write_text(dir / "noheader.csv", "0.5,a\n"));
  REQUIRE(e.where() == "line 1");
  REQUIRE_THAT(e.problem(), Catch::Contains("arrival_s,model"));

  e = read_error(write_text(dir / "empty.csv", ""));
  REQUIRE_THAT(e.problem(), Catch::Contains("empty"));

  e = read_error(write_text(dir / "bad.csv", "arrival_s,model\n0.5,a\nabc,b\n"));
  REQUIRE(e.file() == (dir / "bad.csv").string());
  REQUIRE(e.where() == "line 3");
  REQUIRE_THAT(e.problem(), Catch::Contains("'abc' is not a number"));

  e = read_error(write_text(dir / "neg.csv", "arrival_s,model\n-1,a\n"));
  REQUIRE(e.where() == "line 2");
  REQUIRE_THAT(e.problem(), Catch::Contains(">= 0"));

  e = read_error(write_text(dir / "nan.csv", "arrival_s,model\n0,a\nnan,a\n"));
  REQUIRE(e.where() == "line 3");
  REQUIRE_THAT(e.problem(), Catch::Contains("finite"));

  e = read_error(write_text(dir / "inf.csv", "arrival_s,model\ninf,a\n"));
  REQUIRE_THAT(e.problem(), Catch::Contains("finite"));

  e = read_error(write_text(dir / "noname.csv", "arrival_s,model\n1,\n"));
  REQUIRE_THAT(e.problem(), Catch::Contains("empty model name"));

  e = read_error(write_text(dir / "onecol.csv", "arrival_s,model\n1\n"));
  REQUIRE_THAT(e.problem(), Catch::Contains("found 1"));

  e = read_error(write_text(dir / "threecol.csv", "arrival_s,model\n1,a,x\n"));
  REQUIRE_THAT(e.problem(), Catch::Contains("found more"));

  e = read_error((dir / "missing.csv").string());
  REQUIRE_THAT(e.problem(), Catch::Contains("cannot open"));
}

TEST_CASE("trace CSV writer refuses names it could not read back") {
  const auto dir = fresh_temp_dir("workload_io_badname");
  workload w;
  w.arrivals = {0.0};
  w.model = {0};
  w.model_names = {"a,b"};
  REQUIRE_THROWS_WITH(write_workload_csv(w, (dir / "x.csv").string()), Catch::Contains("'a,b'"));
  w.model_names = {"ok"};
  w.model = {2};
  REQUIRE_THROWS_AS(write_workload_csv(w, (dir / "x.csv").string()), std::invalid_argument);
  w.model = {0};
  REQUIRE_THROWS_AS(write_workload_csv(w, (dir / "no_such_dir" / "x.csv").string()),
                    std::runtime_error);
}
