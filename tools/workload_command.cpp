// `alpaserve workload`: generate synthetic workloads, replay Azure Functions traces, and print the
// statistics of trace CSV files (formats: docs/workloads.md).

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "planner/core/input_error.hpp"
#include "planner/core/text_file.hpp"
#include "planner/workload/azure_fixture.hpp"
#include "planner/workload/azure_trace.hpp"
#include "planner/workload/workload_gen.hpp"
#include "planner/workload/workload_io.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

using namespace alpaserve::planner;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Runs `f`, turning a bad value (std::invalid_argument from the planner) into input_error
// naming `source` (a flag or a trace file), so main() exits with code 2.
template <typename F>
auto as_input_error(const std::string& source, F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw input_error(source, "", e.what());
  }
}

// --models: a count ("8" -> m0..m7) or comma-separated names.
std::vector<std::string> model_names_from(const std::vector<std::string>& models) {
  if (models.size() == 1) {
    int64_t n;
    if (parse_int64(models[0], n)) {
      if (n <= 0) throw input_error("--models", "", "the model count must be > 0");
      return default_model_names(static_cast<size_t>(n));
    }
  }
  for (const auto& m : models) {
    if (m.empty() || m.find_first_of(",\"\r\n ") != std::string::npos) {
      throw input_error("--models", "", fmt::format("'{}' is not a usable model name", m));
    }
  }
  return models;
}

// --rate-distribution: uniform | power-law | triangle-decay | comma-separated weights.
std::vector<double> rates_from(const std::string& distribution, size_t n, double total,
                               double exponent) {
  return as_input_error("--rate-distribution", [&] {
    if (distribution == "uniform") return uniform_rates(n, total);
    if (distribution == "power-law" || distribution == "power_law") {
      return power_law_rates(n, total, exponent);
    }
    if (distribution == "triangle-decay" || distribution == "triangle_decay") {
      return triangle_decay_rates(n, total);
    }
    std::vector<std::string_view> parts;
    split_fields(distribution, ',', parts);
    std::vector<double> weights;
    for (auto p : parts) {
      double w;
      if (!parse_double(p, w)) {
        throw std::invalid_argument(fmt::format(
            "'{}' is not uniform, power-law, triangle-decay or a comma-separated list of weights",
            distribution));
      }
      weights.push_back(w);
    }
    if (weights.size() != n) {
      throw std::invalid_argument(fmt::format("{} weights given for {} models", weights.size(), n));
    }
    return normalize_rates(weights, total);
  });
}

void write_output(const workload& w, const std::string& path) {
  const auto t0 = clock_type::now();
  spdlog::info("writing {} requests to {}", w.size(), path);
  write_workload_csv(w, path);
  spdlog::info("wrote {} in {:.2f} s", path, seconds_since(t0));
}

void print_stats(const workload& w, std::ostream& out) {
  const auto per = per_model_stats(w);
  const auto all = overall_stats(w);
  const double span = w.empty() ? 0.0 : w.arrivals.back() - w.arrivals.front();
  out << fmt::format("{} requests, {} models, first {:.6g} s, last {:.6g} s, span {:.6g} s\n",
                     w.size(), w.model_names.size(), w.empty() ? 0.0 : w.arrivals.front(),
                     w.empty() ? 0.0 : w.arrivals.back(), span);
  out << fmt::format("{:<24} {:>10} {:>12} {:>8}\n", "model", "requests", "rate (1/s)", "cv");
  for (size_t m = 0; m < per.size(); ++m) {
    out << fmt::format("{:<24} {:>10} {:>12.5g} {:>8.4g}\n", w.model_names[m], per[m].count,
                       per[m].rate, per[m].cv);
  }
  out << fmt::format("{:<24} {:>10} {:>12.5g} {:>8.4g}\n", "(all)", all.count, all.rate, all.cv);
}

// Generates model by model (seed base + i each), so long runs show progress, then merges:
// the same result as generate_workload (ties by model index).
workload generate_with_progress(const std::vector<std::string>& names,
                                const std::vector<arrival_process_ptr>& processes, double start,
                                double duration, uint64_t seed) {
  const auto t0 = clock_type::now();
  std::vector<workload> parts;
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<arrival_process_ptr> one;
    one.push_back(processes[i]->clone());
    parts.push_back(generate_workload({names[i]}, one, start, duration, seed + i));
    spdlog::info("model {}/{} {}: {} -> {} requests", i + 1, names.size(), names[i],
                 processes[i]->describe(), parts.back().size());
  }
  auto w = merge_workloads(parts);
  spdlog::info("generated {} requests in {:.2f} s", w.size(), seconds_since(t0));
  return w;
}

struct synthetic_options {
  std::vector<std::string> models{"8"};
  double total_rate = 10.0;
  std::string rate_distribution = "uniform";
  double exponent = 0.5;
  double cv = 1.0;
  double duration = 60.0;
  double start = 0.0;
  uint64_t seed = 0;
  std::string output;
  std::vector<double> state_durations;
  std::vector<double> state_rates;
};

enum class synthetic_kind { gamma, poisson, mmpp };

void add_synthetic(CLI::App& parent, run_fn& run, synthetic_kind kind) {
  auto o = std::make_shared<synthetic_options>();
  const char* name = kind == synthetic_kind::gamma     ? "gamma"
                     : kind == synthetic_kind::poisson ? "poisson"
                                                       : "mmpp";
  const char* help =
      kind == synthetic_kind::gamma
          ? "Gamma arrivals per model (rate r_i, CV cv), model i seeded with seed + i"
      : kind == synthetic_kind::poisson
          ? "Poisson arrivals per model (rate r_i), model i seeded with seed + i"
          : "Uniform Markov-modulated Poisson arrivals, the same states for every model";
  auto* sub = parent.add_subcommand(name, help);
  sub->add_option("--models", o->models,
                  "Number of models (names m0..m{N-1}) or comma-separated model names")
      ->delimiter(',')
      ->capture_default_str();
  if (kind != synthetic_kind::mmpp) {
    sub->add_option("--total-rate", o->total_rate, "Requests/s over all models")
        ->capture_default_str();
    sub->add_option("--rate-distribution", o->rate_distribution,
                    "uniform, power-law, triangle-decay, or comma-separated weights "
                    "(normalised to --total-rate)")
        ->capture_default_str();
    sub->add_option("--power-law-exponent", o->exponent, "r_i ~ (i+1)^-exponent")
        ->capture_default_str();
  }
  if (kind == synthetic_kind::gamma) {
    sub->add_option("--cv", o->cv, "Coefficient of variation of the gaps (> 0)")
        ->capture_default_str();
  }
  if (kind == synthetic_kind::mmpp) {
    sub->add_option("--state-durations", o->state_durations, "Mean seconds spent in each state")
        ->delimiter(',')
        ->required();
    sub->add_option("--state-rates", o->state_rates, "Requests/s in each state")
        ->delimiter(',')
        ->required();
  }
  sub->add_option("--duration", o->duration, "Seconds of arrivals")->capture_default_str();
  sub->add_option("--start", o->start, "Time of the window start (s)")->capture_default_str();
  sub->add_option("--seed", o->seed, "Base seed: model i uses seed + i")->capture_default_str();
  sub->add_option("-o,--output", o->output, "Trace CSV to write")->required();
  sub->callback([o, &run, kind] {
    run = [o, kind] {
      const auto names = model_names_from(o->models);
      std::vector<arrival_process_ptr> processes;
      as_input_error("<command line>", [&] {
        if (kind == synthetic_kind::mmpp) {
          for (size_t i = 0; i < names.size(); ++i) {
            processes.push_back(std::make_unique<uniform_mmpp>(o->state_durations, o->state_rates));
          }
          return 0;
        }
        const auto rates =
            rates_from(o->rate_distribution, names.size(), o->total_rate, o->exponent);
        for (double r : rates) {
          if (kind == synthetic_kind::gamma) {
            processes.push_back(std::make_unique<gamma_process>(r, o->cv));
          } else {
            processes.push_back(std::make_unique<poisson_process>(r));
          }
        }
        return 0;
      });
      const auto w = as_input_error("<command line>", [&] {
        return generate_with_progress(names, processes, o->start, o->duration, o->seed);
      });
      write_output(w, o->output);
      return 0;
    };
  });
}

struct replay_cli_options {
  std::vector<std::string> traces;
  std::vector<std::string> models{"8"};
  std::string mapping = "stripe";
  std::string start = "0.0.0";
  std::string end = "13.23.60";
  std::string distribution = "exponential";
  double interval = 600;
  double rate_scale = 1.0;
  double cv_scale = 1.0;
  double time_scale = 1.0;
  int replication = 1;
  uint64_t seed = 0;
  std::string output;
};

void print_replay(const trace_replay& r) {
  std::cout << fmt::format("{:<24} {:>10} {:>12} {:>8}\n", "model", "requests", "rate (1/s)", "cv");
  for (const auto& m : r.models) {
    std::cout << fmt::format("{:<24} {:>10} {:>12.5g} {:>8.4g}\n", m.model, m.count, m.rate, m.cv);
  }
}

void add_replay(CLI::App& parent, run_fn& run, bool v2) {
  auto o = std::make_shared<replay_cli_options>();
  auto* sub = parent.add_subcommand(
      v2 ? "azure-v2" : "azure-v1",
      v2 ? "Replay the Azure Functions 2021 trace (app,func,end_timestamp,duration CSV)"
         : "Replay the Azure Functions 2019 trace (per-minute counts, one CSV per day)");
  sub->add_option("--trace", o->traces,
                  v2 ? "The 2021 CSV, or the directory holding "
                       "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt"
                     : "A directory of invocations_per_function_md.anon.dNN.csv files, or the "
                       "day files themselves")
      ->required();
  sub->add_option("--models", o->models, "Number of models (m0..) or comma-separated names")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--mapping", o->mapping,
                  "Function -> model: stripe (models[i mod M]) or round_robin "
                  "(models[M*i/F]), the reference's names")
      ->capture_default_str();
  sub->add_option("--start", o->start, "Window start, day.hour.minute")->capture_default_str();
  sub->add_option("--end", o->end, "Window end, day.hour.minute (13.23.60 = trace end)")
      ->capture_default_str();
  sub->add_option(
         "--distribution", o->distribution,
         v2 ? "vanilla (real timestamps), exponential, gamma or pareto" : "exponential or gamma")
      ->capture_default_str();
  sub->add_option("--interval", o->interval,
                  v2 ? "Seconds per fitted interval" : "Seconds per fitted interval (x60)")
      ->capture_default_str();
  sub->add_option("--rate-scale", o->rate_scale, "Multiplies fitted rates")->capture_default_str();
  sub->add_option("--cv-scale", o->cv_scale,
                  v2 ? "Multiplies fitted CVs (gamma only)" : "The CV of every interval (gamma)")
      ->capture_default_str();
  if (v2) {
    sub->add_option("--time-scale", o->time_scale, "vanilla: compress time by this factor")
        ->capture_default_str();
    sub->add_option("--replication", o->replication, "vanilla: repeat every arrival N times")
        ->capture_default_str();
  }
  sub->add_option("--seed", o->seed, "First seed (+1 per generated interval)")
      ->capture_default_str();
  sub->add_option("-o,--output", o->output, "Trace CSV to write")->required();
  sub->callback([o, &run, v2] {
    run = [o, v2] {
      trace_replay_options options = as_input_error("<command line>", [&] {
        trace_replay_options x;
        x.models = model_names_from(o->models);
        x.mapping = parse_model_mapping(o->mapping);
        x.start_time = o->start;
        x.end_time = o->end;
        x.distribution = parse_arrival_fit(o->distribution);
        x.interval_seconds = o->interval;
        x.rate_scale = o->rate_scale;
        x.cv_scale = o->cv_scale;
        x.time_scale = o->time_scale;
        x.replication = o->replication;
        x.seed = o->seed;
        check_replay_options(x, v2);
        return x;
      });
      const std::string source = o->traces.front();
      const auto t0 = clock_type::now();
      trace_replay r;
      if (v2) {
        if (o->traces.size() != 1) throw input_error("--trace", "", "azure-v2 takes one file");
        spdlog::info("reading {}", source);
        const auto trace = read_azure_v2(source);
        spdlog::info("{} functions read in {:.2f} s; replaying", trace.functions.size(),
                     seconds_since(t0));
        r = as_input_error(source, [&] { return replay_azure_v2(trace, options); });
      } else {
        // Keep only the window's minutes in memory (a full day is ~270 MB of counts).
        const int first = static_cast<int>(parse_trace_time(options.start_time) / 60.0);
        const int end = static_cast<int>(std::ceil(parse_trace_time(options.end_time) / 60.0));
        const auto trace = as_input_error(source, [&] {
          return o->traces.size() == 1 ? read_azure_v1_dir(source, first, end)
                                       : read_azure_v1(o->traces, first, end);
        });
        spdlog::info("{} functions read in {:.2f} s; replaying", trace.functions.size(),
                     seconds_since(t0));
        r = as_input_error(source, [&] { return replay_azure_v1(trace, options); });
      }
      spdlog::info("replayed {} requests in {:.2f} s", r.merged.size(), seconds_since(t0));
      write_output(r.merged, o->output);
      print_replay(r);
      return 0;
    };
  });
}

void add_workload(CLI::App& app, run_fn& run) {
  auto* sub = app.add_subcommand(
      "workload", "Generate, replay and inspect workloads (trace CSV: arrival_s,model)");
  sub->require_subcommand(1);
  add_synthetic(*sub, run, synthetic_kind::gamma);
  add_synthetic(*sub, run, synthetic_kind::poisson);
  add_synthetic(*sub, run, synthetic_kind::mmpp);
  add_replay(*sub, run, false);
  add_replay(*sub, run, true);

  auto stats_file = std::make_shared<std::string>();
  auto* stats =
      sub->add_subcommand("stats", "Print requests, rate and CV per model of a trace CSV");
  stats->add_option("file", *stats_file, "Trace CSV")->required();
  stats->callback([stats_file, &run] {
    run = [stats_file] {
      const auto t0 = clock_type::now();
      const auto w = read_workload_csv(*stats_file);
      spdlog::debug("read {} requests in {:.2f} s", w.size(), seconds_since(t0));
      print_stats(w, std::cout);
      return 0;
    };
  });

  auto fixture = std::make_shared<std::pair<std::string, uint64_t>>("", 7);
  auto* fix = sub->add_subcommand(
      "make-azure-fixture",
      "Write a tiny deterministic Azure Functions trace in both schemas (for tests and demos)");
  fix->add_option("--dir", fixture->first, "Directory to write into")->required();
  fix->add_option("--seed", fixture->second, "Seed of the 2021 schema's arrivals")
      ->capture_default_str();
  fix->callback([fixture, &run] {
    run = [fixture] {
      const auto files = write_azure_fixture(fixture->first, fixture->second);
      for (const auto& f : files.v1_files) std::cout << f << "\n";
      std::cout << files.v2_file << "\n";
      return 0;
    };
  });
}

const command_registration registration{"workload", 30, &add_workload};

}  // namespace
}  // namespace alpaserve::tools
