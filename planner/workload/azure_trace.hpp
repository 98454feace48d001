#pragma once
// Azure Functions traces and their replay as model workloads, following the reference's
// Trace.replay (../shared/reference/alpaserve.md section 3; formats in docs/workloads.md).
//
// * 2019 schema ("azure_v1", MAF1): per-minute invocation counts, one file per day,
//   invocations_per_function_md.anon.dNN.csv with columns HashOwner,HashApp,HashFunction,Trigger,
//   1..1440. Functions are keyed by HashFunction, in order of first appearance (day files read in
//   day order); missing days are zeros.
// * 2021 schema ("azure_v2", MAF2): one CSV with columns app,func,end_timestamp,duration (seconds);
//   an invocation starts at end_timestamp - duration. Functions are keyed by func.
//
// The replay maps functions to models, cuts the window into intervals, fits an arrival process
// per (model, interval) and regenerates arrivals from it ("vanilla" on v2 replays the real
// timestamps). Arrival times are absolute seconds since the start of the 14-day trace.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "planner/workload/arrival_process.hpp"
#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

inline constexpr int azure_trace_days = 14;
inline constexpr int minutes_per_day = 1440;

// "d.h.m" -> d*86400 + h*3600 + m*60, with the reference's bounds: d < 14, h < 24, m <= 60
// ("13.23.60" is the end of the trace). Throws std::invalid_argument naming the string.
[[nodiscard]] double parse_trace_time(const std::string& dhm);

struct azure_v1_trace {
  int first_minute = 0;                      // trace minute of counts[f][0]
  std::vector<std::string> functions;        // HashFunction, first-appearance order
  std::vector<std::vector<int32_t>> counts;  // per function, per minute from first_minute
};

// Reads day files; the day comes from the "dNN" in each file name (1..14). A function listed
// twice in one day has its counts added; days without a file are zeros. Only minutes in
// [first_minute, end_minute) of the 14-day trace are kept (the full 2019 trace is ~3.7 GB of
// counts; one day ~270 MB), and files of days outside it are not read.
// Throws input_error(file, "line N", problem); std::invalid_argument for a bad minute range.
[[nodiscard]] azure_v1_trace read_azure_v1(const std::vector<std::string>& day_files,
                                           int first_minute = 0,
                                           int end_minute = azure_trace_days * minutes_per_day);
// Every invocations_per_function_md.anon.dNN.csv in `dir` (at least one must exist); a path
// that is a file is read as a single day file.
[[nodiscard]] azure_v1_trace read_azure_v1_dir(const std::string& dir, int first_minute = 0,
                                               int end_minute = azure_trace_days * minutes_per_day);

struct azure_v2_trace {
  std::vector<std::string> functions;            // func, first-appearance order
  std::vector<std::vector<double>> start_times;  // per function, sorted (s)
};

// Reads the 2021 CSV (header names the columns; others are ignored). A directory is accepted
// and means <dir>/AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt.
[[nodiscard]] azure_v2_trace read_azure_v2(const std::string& path);

// Function i of F (non-empty in the window) goes to models[i mod M] ("stripe") or
// models[floor(M*i/F)] ("round_robin"): the reference's names, reversed from intuition.
enum class model_mapping { stripe, round_robin };
// What replaces the real arrivals of each (model, interval).
enum class arrival_fit { vanilla, exponential, gamma, pareto };

[[nodiscard]] model_mapping parse_model_mapping(const std::string& name);  // invalid_argument
[[nodiscard]] arrival_fit parse_arrival_fit(const std::string& name);      // invalid_argument
[[nodiscard]] const char* to_string(model_mapping m) noexcept;
[[nodiscard]] const char* to_string(arrival_fit f) noexcept;

struct trace_replay_options {
  std::vector<std::string> models;  // at most as many as non-empty functions in the window
  model_mapping mapping = model_mapping::stripe;
  std::string start_time = "0.0.0";
  std::string end_time = "13.23.60";
  arrival_fit distribution = arrival_fit::exponential;
  double interval_seconds = 600;  // v1: a multiple of 60
  double rate_scale = 1.0;        // multiplies fitted rates (not pareto, as the reference)
  double cv_scale = 1.0;          // gamma only: v1 sets cv = cv_scale, v2 multiplies the fit
  double time_scale = 1.0;        // v2 vanilla only: t' = (t - start) / time_scale + start
  int replication = 1;            // v2 vanilla only: each arrival repeated this many times
  uint64_t seed = 0;              // first seed; +1 after every interval that generates
};

// One interval of one model: where generation starts and what it draws from.
struct fitted_interval {
  double start = 0.0;                              // seconds
  std::shared_ptr<const arrival_process> process;  // null: no arrivals in this interval
  uint64_t seed = 0;                               // the seed it generated with (if process)
};

struct model_replay {
  std::string model;
  std::vector<fitted_interval> intervals;  // empty for vanilla
  size_t count = 0;
  // The reference's TraceReplay statistics: rate = count / floor((end - start) / time_scale),
  // cv = std(gaps) / (mean(gaps) + 1e-5); both 0 with fewer than two arrivals.
  double rate = 0.0;
  double cv = 0.0;
};

struct trace_replay {
  workload merged;                   // model_names = options.models, arrival order, ties by model
  std::vector<model_replay> models;  // in options.models order
};

// Checks options without a trace (cheap: run it before reading a large trace file); the replay
// functions run it too. Throws std::invalid_argument like them.
void check_replay_options(const trace_replay_options& options, bool azure_v2);

// Throws std::invalid_argument for options the reference rejects (bad combinations of
// distribution and scaling, bad window, interval not a multiple of 60 on v1, more models than
// non-empty functions, ...), with a message naming the option.
[[nodiscard]] trace_replay replay_azure_v1(const azure_v1_trace& trace,
                                           const trace_replay_options& options);
[[nodiscard]] trace_replay replay_azure_v2(const azure_v2_trace& trace,
                                           const trace_replay_options& options);

}  // namespace alpaserve::planner
