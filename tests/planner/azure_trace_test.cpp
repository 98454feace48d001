// The Azure readers and replay, end to end on the deterministic fixture of
// planner/workload/azure_fixture.hpp (whose counts and timestamps the expectations below are built
// from).

#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "planner/core/input_error.hpp"
#include "planner/workload/azure_fixture.hpp"
#include "planner/workload/azure_trace.hpp"
#include "planner/workload/workload_gen.hpp"
#include "test_temp_dir.hpp"

using namespace alpaserve::planner;
using alpaserve::testing::fresh_temp_dir;
using alpaserve::testing::write_text;

namespace {
constexpr uint64_t fixture_seed = 7;

const std::string& fixture_dir() {
  static const std::string dir = [] {
    const auto d = fresh_temp_dir("azure_fixture");
    (void)write_azure_fixture(d.string(), fixture_seed);
    return d.string();
  }();
  return dir;
}

const azure_v1_trace& v1() {
  static const azure_v1_trace t = read_azure_v1_dir(fixture_dir());
  return t;
}

const azure_v2_trace& v2() {
  static const azure_v2_trace t = read_azure_v2(fixture_dir());
  return t;
}

std::vector<double> arrivals_of(const trace_replay& r, int32_t model) {
  std::vector<double> out;
  for (size_t j = 0; j < r.merged.size(); ++j) {
    if (r.merged.model[j] == model) out.push_back(r.merged.arrivals[j]);
  }
  return out;
}

trace_replay_options options(std::vector<std::string> models, std::string start, std::string end,
                             arrival_fit fit, double interval) {
  trace_replay_options o;
  o.models = std::move(models);
  o.start_time = std::move(start);
  o.end_time = std::move(end);
  o.distribution = fit;
  o.interval_seconds = interval;
  return o;
}

input_error read_error(const std::function<void()>& read) {
  try {
    read();
  } catch (const input_error& e) {
    return e;
  }
  FAIL("no input_error");
  return input_error("", "", "");
}
}  // namespace

TEST_CASE("trace time strings are day.hour.minute with the reference's bounds") {
  REQUIRE(parse_trace_time("0.0.0") == 0.0);
  REQUIRE(parse_trace_time("13.0.0") == 1123200.0);
  REQUIRE(parse_trace_time("13.23.60") == 14 * 86400.0);
  REQUIRE(parse_trace_time("1.2.3") == 86400 + 7200 + 180);
  REQUIRE_THROWS_WITH(parse_trace_time("14.0.0"), Catch::Contains("day"));
  REQUIRE_THROWS_WITH(parse_trace_time("0.24.0"), Catch::Contains("hour"));
  REQUIRE_THROWS_WITH(parse_trace_time("0.0.61"), Catch::Contains("minute"));
  REQUIRE_THROWS_WITH(parse_trace_time("0.0"), Catch::Contains("day.hour.minute"));
  REQUIRE_THROWS_AS(parse_trace_time("a.b.c"), std::invalid_argument);
}

TEST_CASE("azure_v1 reader: functions in first-appearance order, missing days are zeros") {
  const auto& t = v1();
  REQUIRE(t.functions ==
          std::vector<std::string>{"f_steady", "f_burst", "f_zero", "f_ramp", "f_rand", "f_late"});
  REQUIRE(t.first_minute == 0);
  for (const auto& c : t.counts) REQUIRE(c.size() == 14 * 1440);
  REQUIRE(t.counts[0][0] == 10);
  REQUIRE(t.counts[0][119] == 10);
  REQUIRE(t.counts[0][120] == 0);
  REQUIRE(t.counts[0][1440 + 5] == 0);      // day 2: no file
  REQUIRE(t.counts[0][2 * 1440 + 5] == 3);  // day 3
  REQUIRE(t.counts[1][5] == 100);
  REQUIRE(t.counts[3][59] == 59);
  REQUIRE(t.counts[5][5] == 0);  // f_late only exists from day 3
  REQUIRE(t.counts[5][2 * 1440 + 5] == 7);

  // Only a minute range kept: day 3's first hour (day 1's file is not needed).
  const auto part = read_azure_v1(
      {t.functions.empty() ? "" : fixture_dir() + "/invocations_per_function_md.anon.d03.csv"},
      2 * 1440, 2 * 1440 + 60);
  REQUIRE(part.first_minute == 2880);
  REQUIRE(part.functions == std::vector<std::string>{"f_steady", "f_zero", "f_late", "f_burst"});
  REQUIRE(part.counts[2] == std::vector<int32_t>(60, 7));
}

TEST_CASE("azure_v1 replay, stripe: model histograms, per-minute rates, global seed counter") {
  auto o = options({"a", "b"}, "0.0.0", "0.1.0", arrival_fit::exponential, 60);
  o.rate_scale = 2.0;
  o.seed = 10;
  const auto r = replay_azure_v1(v1(), o);
  REQUIRE(r.merged.model_names == std::vector<std::string>{"a", "b"});
  REQUIRE(r.models.size() == 2);
  // Live functions in the first hour: f_steady, f_burst, f_ramp, f_rand (f_zero and f_late are
  // empty and dropped). Stripe: a <- f_steady + f_ramp, b <- f_burst + f_rand.
  const auto& a = r.models[0].intervals;
  const auto& b = r.models[1].intervals;
  REQUIRE(a.size() == 60);
  REQUIRE(b.size() == 60);
  double expected_a = 0;
  for (int i = 0; i < 60; ++i) {
    CAPTURE(i);
    REQUIRE(a[i].start == 60.0 * i);
    REQUIRE(a[i].process->rate() == Approx((10.0 + i) / 60.0 * 2.0));
    REQUIRE(a[i].process->cv() == 1.0);
    REQUIRE(a[i].seed == 10u + i);
    const double b_count = 1 + (7 * i) % 5 + (i == 5 ? 100 : 0);
    REQUIRE(b[i].process->rate() == Approx(b_count / 60.0 * 2.0));
    REQUIRE(b[i].seed == 70u + i);
    expected_a += (10.0 + i) * 2.0;
  }
  // Generated counts follow the fitted rates (Poisson: 4740 +- 69).
  REQUIRE(r.models[0].count == arrivals_of(r, 0).size());
  REQUIRE(static_cast<double>(r.models[0].count) == Approx(expected_a).epsilon(0.05));
  REQUIRE(r.models[0].rate == Approx(r.models[0].count / 3600.0));
  REQUIRE(std::is_sorted(r.merged.arrivals.begin(), r.merged.arrivals.end()));
  REQUIRE(r.merged.arrivals.front() >= 0.0);
  REQUIRE(r.merged.arrivals.back() < 3600.0);
  // Same options, same arrivals.
  REQUIRE(replay_azure_v1(v1(), o).merged.arrivals == r.merged.arrivals);
}

TEST_CASE("azure_v1 replay, round_robin maps blocks of functions: models[floor(M*i/F)]") {
  const auto o = options({"a", "b"}, "0.0.0", "0.1.0", arrival_fit::exponential, 60);
  const auto r = replay_azure_v1(v1(), {[&] {
                                   auto x = o;
                                   x.mapping = model_mapping::round_robin;
                                   return x;
                                 }()});
  // a <- f_steady + f_burst, b <- f_ramp + f_rand.
  REQUIRE(r.models[0].intervals[5].process->rate() == Approx(110.0 / 60.0));
  REQUIRE(r.models[1].intervals[0].process->rate() == Approx(1.0 / 60.0));
  REQUIRE(r.models[1].intervals[3].process->rate() == Approx((3.0 + 1 + 21 % 5) / 60.0));
}

TEST_CASE("azure_v1 replay, gamma: CV set to cv_scale, short last interval generates a full one") {
  auto o = options({"a", "b"}, "0.0.0", "0.0.25", arrival_fit::gamma, 600);
  o.cv_scale = 4.0;
  const auto r = replay_azure_v1(v1(), o);
  const auto& a = r.models[0].intervals;
  REQUIRE(a.size() == 3);  // minutes 0-9, 10-19, 20-24
  REQUIRE(a[0].process->rate() == Approx((100.0 + 45) / 600.0));
  REQUIRE(a[2].process->rate() == Approx((50.0 + 110) / 600.0));
  REQUIRE(a[2].process->cv() == 4.0);
  REQUIRE(a[2].start == 1200.0);
  const auto arr = arrivals_of(r, 0);
  REQUIRE(arr.back() < 1800.0);
}

TEST_CASE("azure_v1 replay on day 3 uses the zero-filled days and a function first seen there") {
  const auto r =
      replay_azure_v1(v1(), options({"a", "b"}, "2.0.0", "2.1.0", arrival_fit::exponential, 3600));
  // Live: f_steady (3/min), f_late (7/min).
  REQUIRE(r.models[0].intervals[0].process->rate() == Approx(180.0 / 3600));
  REQUIRE(r.models[1].intervals[0].process->rate() == Approx(420.0 / 3600));
  REQUIRE(r.models[0].intervals[0].start == 2 * 86400.0);
  const auto arr = arrivals_of(r, 1);
  REQUIRE(arr.front() >= 2 * 86400.0);
  // Day 2 has no file: every function is empty there.
  REQUIRE_THROWS_WITH(
      replay_azure_v1(v1(), options({"a"}, "1.0.0", "1.1.0", arrival_fit::exponential, 60)),
      Catch::Contains("0 functions with invocations"));
}

TEST_CASE("azure_v1 replay rejects what the reference rejects") {
  const auto base = options({"a", "b"}, "0.0.0", "0.1.0", arrival_fit::gamma, 60);
  auto with = [&](auto change) {
    auto o = base;
    change(o);
    return o;
  };
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) { o.interval_seconds = 90; })),
                      Catch::Contains("multiple of 60"));
  REQUIRE_THROWS_WITH(
      replay_azure_v1(v1(), with([](auto& o) { o.distribution = arrival_fit::pareto; })),
      Catch::Contains("only exponential or gamma"));
  REQUIRE_THROWS_AS(
      replay_azure_v1(v1(), with([](auto& o) { o.distribution = arrival_fit::vanilla; })),
      std::invalid_argument);
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) {
                                        o.distribution = arrival_fit::exponential;
                                        o.cv_scale = 2;
                                      })),
                      Catch::Contains("cv scaling"));
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) { o.time_scale = 2; })),
                      Catch::Contains("time scaling"));
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) { o.replication = 2; })),
                      Catch::Contains("replication"));
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) {
                                        o.models = {"a", "a"};
                                      })),
                      Catch::Contains("twice"));
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) { o.end_time = "0.0.0"; })),
                      Catch::Contains("must be after"));
  REQUIRE_THROWS_WITH(replay_azure_v1(v1(), with([](auto& o) {
                                        o.models = {"a", "b", "c", "d", "e"};
                                      })),
                      Catch::Contains("fewer than the 5 models"));
  const auto part =
      read_azure_v1({fixture_dir() + "/invocations_per_function_md.anon.d03.csv"}, 2880, 2940);
  REQUIRE_THROWS_WITH(replay_azure_v1(part, base), Catch::Contains("outside the loaded minutes"));
}

TEST_CASE("azure_v1 reader errors name file, line and problem") {
  const auto dir = fresh_temp_dir("azure_v1_errors");
  std::string header = "HashOwner,HashApp,HashFunction,Trigger";
  std::string row = "o,a,f,http";
  for (int m = 1; m <= 1440; ++m) {
    header += "," + std::to_string(m);
    row += m == 7 ? ",x" : ",1";
  }
  auto e = read_error([&] {
    (void)read_azure_v1(
        {write_text(dir / "invocations_per_function_md.anon.d02.csv", header + "\n" + row + "\n")});
  });
  REQUIRE(e.where() == "line 2");
  REQUIRE_THAT(e.problem(), Catch::Contains("column '7'") && Catch::Contains("'x'"));

  e = read_error([&] {
    (void)read_azure_v1({write_text(dir / "invocations_per_function_md.anon.d04.csv",
                                    "HashFunction,1,2\nf,1,2\n")});
  });
  REQUIRE_THAT(e.problem(), Catch::Contains("no column '3'"));

  e = read_error([&] { (void)read_azure_v1({write_text(dir / "counts.csv", header + "\n")}); });
  REQUIRE_THAT(e.problem(), Catch::Contains("dNN.csv"));

  e = read_error([&] { (void)read_azure_v1_dir((dir / "nowhere").string()); });
  REQUIRE_THAT(e.problem(), Catch::Contains("no such file"));
}

TEST_CASE("azure_v2 reader: start = end_timestamp - duration, sorted per function") {
  const auto& t = v2();
  REQUIRE(t.functions ==
          std::vector<std::string>{"g_gamma", "g_poisson", "g_sparse", "g_single", "g_outside"});
  REQUIRE(t.start_times[2].size() == 3);
  REQUIRE(t.start_times[2][0] == Approx(100.0).margin(1e-9));
  REQUIRE(t.start_times[2][1] == Approx(200.5).margin(1e-9));
  REQUIRE(t.start_times[2][2] == Approx(4000.0).margin(1e-9));
  const auto truth = gamma_process(2.0, 2.0).generate_arrivals(0.0, 7200.0, fixture_seed);
  REQUIRE(t.start_times[0].size() == truth.size());
  for (const auto& s : t.start_times) REQUIRE(std::is_sorted(s.begin(), s.end()));
  for (size_t i = 0; i < truth.size(); i += 97) {
    REQUIRE(t.start_times[0][i] == Approx(truth[i]).margin(1e-9));
  }
}

TEST_CASE("azure_v2 vanilla replays the real start times, replicated and time-compressed") {
  const auto& t = v2();
  auto o = options({"a", "b"}, "0.0.0", "0.2.0", arrival_fit::vanilla, 3600);
  const auto r = replay_azure_v2(t, o);
  // Stripe: a <- g_gamma + g_sparse, b <- g_poisson + g_single (g_outside is empty, dropped).
  auto expected_a = t.start_times[0];
  expected_a.insert(expected_a.end(), t.start_times[2].begin(), t.start_times[2].end());
  std::sort(expected_a.begin(), expected_a.end());
  REQUIRE(arrivals_of(r, 0) == expected_a);
  REQUIRE(r.models[1].count == t.start_times[1].size() + 1);
  REQUIRE(r.models[0].rate == Approx(expected_a.size() / 7200.0));
  REQUIRE(r.models[0].intervals.empty());

  o.replication = 3;
  o.time_scale = 2.0;
  const auto scaled = replay_azure_v2(t, o);
  const auto a3 = arrivals_of(scaled, 0);
  REQUIRE(a3.size() == 3 * expected_a.size());
  REQUIRE(a3[0] == expected_a[0] / 2.0);
  REQUIRE(a3[2] == expected_a[0] / 2.0);
  REQUIRE(a3[3] == expected_a[1] / 2.0);
  REQUIRE(scaled.models[0].rate == Approx(a3.size() / 3600.0));

  o = options({"a", "b"}, "0.0.0", "0.2.0", arrival_fit::vanilla, 3600);
  o.mapping = model_mapping::round_robin;  // a <- g_gamma + g_poisson
  REQUIRE(replay_azure_v2(t, o).models[0].count ==
          t.start_times[0].size() + t.start_times[1].size());
}

TEST_CASE("azure_v2 exponential fit: MLE rate, 5x empirical cap, empty intervals skip seeds") {
  auto o = options({"a", "b", "c", "d"}, "0.0.0", "0.2.0", arrival_fit::exponential, 3600);
  o.seed = 100;
  const auto r = replay_azure_v2(v2(), o);
  const auto& a = r.models[0].intervals;
  const auto& b = r.models[1].intervals;
  const auto& c = r.models[2].intervals;
  const auto& d = r.models[3].intervals;
  REQUIRE(a.size() == 2);
  REQUIRE(a[0].process->rate() == Approx(2.0).epsilon(0.05));
  REQUIRE(b[1].process->rate() == Approx(1.0).epsilon(0.05));
  // c's first hour: starts 100 and 200.5 -> MLE 1/100.5 > 5 x empirical 2/3600 -> capped.
  REQUIRE(c[0].process->rate() == Approx(2.0 / 3600).epsilon(1e-12));
  REQUIRE(!c[1].process);  // one arrival: no gaps
  REQUIRE(!d[0].process);
  REQUIRE(!d[1].process);
  REQUIRE(a[0].seed == 100);
  REQUIRE(a[1].seed == 101);
  REQUIRE(b[0].seed == 102);
  REQUIRE(b[1].seed == 103);
  REQUIRE(c[0].seed == 104);
  REQUIRE(c[1].start == 3600.0);
  REQUIRE(r.models[3].count == 0);
  REQUIRE(r.merged.model_names == std::vector<std::string>{"a", "b", "c", "d"});
  // The generated workload is what the fitted processes give with those seeds.
  REQUIRE(arrivals_of(r, 2) == c[0].process->generate_arrivals(0.0, 3600.0, 104));
}

TEST_CASE("azure_v2 gamma fit: rate and CV of the source, then scaled") {
  auto o = options({"a", "b", "c", "d"}, "0.0.0", "0.2.0", arrival_fit::gamma, 3600);
  auto r = replay_azure_v2(v2(), o);
  const auto& a = r.models[0].intervals;
  // ~7200 gaps per hour; the +1e-6 the reference adds to every gap lifts the smallest gaps of a
  // CV-2 stream, pulling the fitted CV slightly down (1.97 here): 10% tolerance.
  REQUIRE(a[0].process->rate() == Approx(2.0).epsilon(0.05));
  REQUIRE(*a[0].process->cv() == Approx(2.0).epsilon(0.1));
  REQUIRE(*r.models[1].intervals[0].process->cv() == Approx(1.0).epsilon(0.1));
  REQUIRE(!r.models[2].intervals[0].process);  // one gap is not enough for gamma

  o.rate_scale = 3.0;
  o.cv_scale = 2.0;
  const auto scaled = replay_azure_v2(v2(), o);
  REQUIRE(scaled.models[0].intervals[0].process->rate() ==
          Approx(3.0 * a[0].process->rate()).epsilon(1e-12));
  REQUIRE(*scaled.models[0].intervals[0].process->cv() ==
          Approx(2.0 * *a[0].process->cv()).epsilon(1e-12));
  REQUIRE(scaled.models[0].count == Approx(3.0 * r.models[0].count).epsilon(0.2));
}

TEST_CASE("azure_v2 pareto fit: shape n / sum(log(gap + 1e-6 + 1)), no rate scaling") {
  const auto& t = v2();
  auto o = options({"a", "b", "c", "d"}, "0.0.0", "0.2.0", arrival_fit::pareto, 3600);
  const auto r = replay_azure_v2(t, o);
  const auto& b = t.start_times[1];
  const auto end = std::lower_bound(b.begin(), b.end(), 3600.0);
  double log_sum = 0;
  for (auto it = b.begin(); it + 1 != end; ++it) log_sum += std::log(*(it + 1) - *it + 1e-6 + 1.0);
  const auto* p = dynamic_cast<const pareto_process*>(r.models[1].intervals[0].process.get());
  REQUIRE(p != nullptr);
  REQUIRE(p->shape() == Approx((end - b.begin() - 1) / log_sum).epsilon(1e-12));
  REQUIRE(p->scale() == 1.0);
  REQUIRE(std::is_sorted(r.merged.arrivals.begin(), r.merged.arrivals.end()));
}

TEST_CASE("azure_v2 replay validation and reader errors") {
  auto o = options({"a"}, "0.0.0", "0.2.0", arrival_fit::gamma, 3600);
  o.replication = 2;
  REQUIRE_THROWS_WITH(replay_azure_v2(v2(), o), Catch::Contains("replication"));
  o = options({"a"}, "0.0.0", "0.2.0", arrival_fit::vanilla, 3600);
  o.time_scale = 2;
  o.rate_scale = 2;
  REQUIRE_THROWS_WITH(replay_azure_v2(v2(), o), Catch::Contains("choose one"));

  const auto dir = fresh_temp_dir("azure_v2_errors");
  auto e = read_error(
      [&] { (void)read_azure_v2(write_text(dir / "a.txt", "app,func,end_timestamp\na,f,1\n")); });
  REQUIRE_THAT(e.problem(), Catch::Contains("'duration'"));
  e = read_error([&] {
    (void)read_azure_v2(
        write_text(dir / "b.txt", "app,func,end_timestamp,duration\na,f,1,0.1\na,f,2,-3\n"));
  });
  REQUIRE(e.where() == "line 3");
  REQUIRE_THAT(e.problem(), Catch::Contains("duration '-3'"));
  e = read_error([&] {
    (void)read_azure_v2(write_text(dir / "c.txt", "app,func,end_timestamp,duration\na,f,1\n"));
  });
  REQUIRE_THAT(e.problem(), Catch::Contains("expected 4 columns, found 3"));
  // Interleaved rows: functions in order of first appearance.
  const auto t = read_azure_v2(
      write_text(dir / "d.txt", "app,func,end_timestamp,duration\nx,g2,5,1\nx,g1,3,0\nx,g2,2,0\n"));
  REQUIRE(t.functions == std::vector<std::string>{"g2", "g1"});
  REQUIRE(t.start_times[0] == std::vector<double>{2.0, 4.0});
}
