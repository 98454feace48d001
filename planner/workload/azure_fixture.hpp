#pragma once
// A tiny deterministic Azure Functions trace in both schemas, for tests, examples and
// `alpaserve workload make-azure-fixture` (the real traces are not redistributed here).
// Every count and timestamp below is fixed, so tests can state expected replays by hand.
//
// 2019 schema (invocations_per_function_md.anon.d01.csv and .d03.csv; day 2 has no file, so its
// counts are zeros). Row order in d01: f_steady, f_burst, f_zero, f_ramp, f_rand. Minutes m are
// 0-based within the day:
//   f_steady  day 1: 10 per minute for m < 120      day 3: 3 per minute for m < 60
//   f_burst   day 1: 100 at m = 5, 50 at m = 61     day 3: listed, all zero
//   f_zero    all zero (dropped by every replay)    day 3: listed, all zero
//   f_ramp    day 1: m for m < 60 (0, 1, ..., 59)
//   f_rand    day 1: 1 + (7 m mod 5) for m < 180
//   f_late    only in d03 (first seen on day 3): 7 per minute for m < 60
// 2021 schema (AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt, app,func,end_timestamp,
// duration; grouped by function, each function's rows in decreasing time so readers must sort):
//   g_gamma   gamma(rate 2, cv 2) start times on [0, 7200), seed `seed`
//   g_poisson poisson(rate 1) start times on [0, 7200), seed `seed` + 1
//   g_sparse  starts 100, 200.5, 4000
//   g_single  start 50
//   g_outside starts 86410, 86420 (day 1)
// Invocation k of a function has duration 0.25 * (k mod 4) s; end_timestamp = start + duration.

#include <cstdint>
#include <string>
#include <vector>

namespace alpaserve::planner {

struct azure_fixture {
  std::vector<std::string> v1_files;  // d01 and d03
  std::string v2_file;
};

// Writes the fixture into `dir` (created if missing). Throws std::runtime_error on I/O failure.
azure_fixture write_azure_fixture(const std::string& dir, uint64_t seed = 7);

}  // namespace alpaserve::planner
