// `alpaserve bench`: replay a generated (Gamma arrivals per model) or recorded workload against a
// running cluster, with a progress bar; print SLO attainment and latency percentiles; write a
// per-request CSV and a PNG (gnuplot). --overhead and --admission measure the runtime itself.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "net/tensor_wire.hpp"
#include "planner/core/input_error.hpp"
#include "planner/policy/placement.hpp"
#include "planner/workload/arrival_process.hpp"
#include "planner/workload/workload_gen.hpp"
#include "planner/workload/workload_io.hpp"
#include "tools/cli_checks.hpp"
#include "tools/cluster_launch.hpp"
#include "tools/command_registry.hpp"
#include "tools/endpoint_options.hpp"
#include "tools/expected_outputs.hpp"

namespace alpaserve::tools {
namespace {

struct bench_args {
  endpoint_options endpoint;
  std::string workload_file;
  double duration_s = 60;
  double rate_scale = 1.0;
  double total_rate = 0;                        // >0: overrides the configured rates, split evenly
  double cv = -1;                               // >0: overrides the configured CVs
  std::string rate_distribution = "power-law";  // how --total-rate is split
  uint64_t seed = 1;
  std::string csv;  // empty: no per-request CSV (unless --png needs one: <png>.csv)
  std::string png;
  std::string write_workload;
  std::vector<int64_t> shape = {1, 16};
  std::vector<std::string> expect;  // MODEL=FILE: every ok reply's output must equal FILE's
  double expect_tolerance = 2e-5;
  int overhead = 0;
  int admission = 0;
  int window = 256;
  std::string model;
  // Per-window attainment (docs/runtime.md "Time windows (Clockwork++)"): window starts in
  // seconds on the cluster's window clock, and that clock's zero as a unix time (the controller
  // logs it); without a zero the starts are in seconds of the replay.
  std::vector<double> windows;
  double window_clock_zero = -1;
};

struct schedule {
  std::vector<double> offsets;  // seconds after the replay starts
  std::vector<std::string> models;
};

// The replayed schedule of a planner workload: arrivals shifted so the first is at 0.
schedule to_schedule(const planner::workload& w) {
  schedule s;
  s.offsets.reserve(w.size());
  s.models.reserve(w.size());
  const double t0 = w.empty() ? 0.0 : w.arrivals.front();
  for (size_t i = 0; i < w.size(); ++i) {
    s.offsets.push_back(w.arrivals[i] - t0);
    s.models.push_back(w.model_names[static_cast<size_t>(w.model[i])]);
  }
  return s;
}

// The generated workload: Gamma arrivals per model (seed base + i, as `alpaserve workload` and
// the planner generate them). --total-rate splits a total over the models by --rate-distribution
// with one --cv; otherwise each model gets its configured rate x --rate-scale and its CV.
planner::workload generate(const bench_args& a, const config::cluster_config& cfg) {
  std::vector<std::string> names;
  for (const auto& m : cfg.models) names.push_back(m.name);
  if (a.total_rate > 0) {
    std::vector<double> rates;
    if (a.rate_distribution == "power-law")
      rates = planner::power_law_rates(names.size(), a.total_rate);
    else if (a.rate_distribution == "uniform")
      rates = planner::uniform_rates(names.size(), a.total_rate);
    else
      throw planner::input_error("--rate-distribution", a.rate_distribution,
                                 "expected power-law or uniform");
    const double cv = a.cv > 0 ? a.cv : 1.0;
    return planner::gamma_workload(names, rates, cv, a.duration_s, a.seed);
  }
  std::vector<planner::arrival_process_ptr> processes;
  for (const auto& m : cfg.models)
    processes.push_back(
        std::make_unique<planner::gamma_process>(m.rate * a.rate_scale, a.cv > 0 ? a.cv : m.cv));
  return planner::generate_workload(names, processes, 0.0, a.duration_s, a.seed);
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

void progress_bar(size_t sent, size_t answered, size_t total) {
  const int width = 40;
  const int filled = total == 0 ? width : static_cast<int>(width * answered / total);
  std::fprintf(stderr, "\r[%s%s] %zu/%zu answered, %zu sent", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), answered, total, sent);
  std::fflush(stderr);
}

std::string make_payload(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
  // Small integers: valid token ids for real models (emulated stages ignore the values).
  std::vector<float> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<float>((i * 7 + 3) % 100);
  return net::encode_f32(shape, data.data());
}

int run_overhead(const bench_args& a, net::client& c, const net::cluster_info& info) {
  const std::string model = a.model.empty() ? info.models.at(0).name : a.model;
  const std::string payload = make_payload(a.shape);
  std::vector<double> added, e2e, overshoot, messaging;
  std::vector<std::vector<double>> stage_run;  // [stage] measured run times
  std::vector<double> stage_nominal;           // [stage] the profile's prediction
  size_t stages = 0;
  for (int i = 0; i < a.overhead + 5; ++i) {
    const auto r = c.submit(model, payload, 1e6);  // no SLO: measure, never reject
    if (r.reply.status != net::reply_status::ok)
      throw std::runtime_error("overhead request failed: " + r.reply.message);
    if (i < 5) continue;  // warm-up: connections, first-touch allocations
    stages = r.reply.stage_nominal_s.size();
    double nominal = 0, run = 0, queued = 0;
    for (double s : r.reply.stage_nominal_s) nominal += s;
    for (double s : r.reply.stage_run_s) run += s;
    for (double s : r.reply.stage_queue_s) queued += s;
    stage_run.resize(stages);
    stage_nominal = r.reply.stage_nominal_s;
    for (size_t k = 0; k < stages && k < r.reply.stage_run_s.size(); ++k)
      stage_run[k].push_back(r.reply.stage_run_s[k]);
    added.push_back(r.e2e_s - nominal);
    overshoot.push_back(run - nominal);           // emulated timer lateness
    messaging.push_back(r.e2e_s - run - queued);  // hops, (de)serialization, scheduling
    e2e.push_back(r.e2e_s);
  }
  std::cout << fmt::format(
      "overhead: model {} ({} stages), {} sequential requests\n"
      "  end-to-end   p50 {:.3f} ms  p99 {:.3f} ms\n"
      "  added (end-to-end minus emulated stage time)  p50 {:.3f} ms  p90 {:.3f} ms  p99 {:.3f} "
      "ms\n"
      "    of which stage timer lateness              p50 {:.3f} ms  p99 {:.3f} ms\n"
      "    of which messaging (all hops, per request) p50 {:.3f} ms  p99 {:.3f} ms\n",
      model, stages, added.size(), percentile(e2e, 0.5) * 1e3, percentile(e2e, 0.99) * 1e3,
      percentile(added, 0.5) * 1e3, percentile(added, 0.9) * 1e3, percentile(added, 0.99) * 1e3,
      percentile(overshoot, 0.5) * 1e3, percentile(overshoot, 0.99) * 1e3,
      percentile(messaging, 0.5) * 1e3, percentile(messaging, 0.99) * 1e3);
  // Real backends: how well the profile predicts each stage's measured compute time.
  for (size_t k = 0; k < stages && k < stage_run.size(); ++k) {
    const double p50 = percentile(stage_run[k], 0.5);
    const double nominal = stage_nominal[k];
    std::cout << fmt::format(
        "  stage {}: measured run p50 {:.3f} ms, profile {:.3f} ms, error {:+.1f}%\n", k, p50 * 1e3,
        nominal * 1e3, nominal > 0 ? (p50 / nominal - 1) * 100 : 0.0);
  }
  return 0;
}

int run_admission(const bench_args& a, net::client& c, const net::cluster_info& info) {
  const std::string model = a.model.empty() ? info.models.at(0).name : a.model;
  const std::string payload = make_payload(a.shape);
  c.burst(1000, static_cast<size_t>(a.window), model, payload, 1e-9);  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  const auto replies = c.burst(static_cast<size_t>(a.admission), static_cast<size_t>(a.window),
                               model, payload, 1e-9);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t rejected = 0;
  for (const auto& r : replies) rejected += r.reply.status == net::reply_status::rejected_slo;
  std::cout << fmt::format(
      "admission: {} requests (window {}) decided in {:.3f} s = {:.0f} requests/s "
      "({} rejected by the SLO rule, as intended: a 1 ns SLO)\n",
      replies.size(), a.window, s, static_cast<double>(replies.size()) / s, rejected);
  return 0;
}

int run_bench(const bench_args& a) {
  auto opts = a.endpoint.client();
  net::client c(opts);
  const net::cluster_info info = c.wait_ready(60);
  if (a.overhead > 0) return run_overhead(a, c, info);
  if (a.admission > 0) return run_admission(a, c, info);

  const planner::workload w = a.workload_file.empty()
                                  ? generate(a, load_config_or_demo(a.endpoint.config))
                                  : planner::read_workload_csv(a.workload_file);
  if (!a.write_workload.empty()) planner::write_workload_csv(w, a.write_workload);
  const schedule s = to_schedule(w);
  expected_outputs expected;
  expected.tolerance = a.expect_tolerance;
  for (const auto& e : a.expect) expected.add(e);  // bad files fail before any request goes out
  output_check outputs;
  std::map<std::string, double> slo;
  for (const auto& m : info.models) slo[m.name] = m.slo_s;
  std::cerr << fmt::format("replaying {} requests over {:.1f} s against {}:{}\n", s.offsets.size(),
                           s.offsets.empty() ? 0.0 : s.offsets.back(), opts.host, opts.port);
  const size_t total = s.offsets.size();
  const bool tty = ::isatty(2) != 0;
  size_t last_printed = 0;
  const double replay_start_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::cerr << fmt::format("replay started at unix {:.3f}\n", replay_start_unix);
  const auto replies =
      c.replay(s.offsets, s.models, make_payload(a.shape), [&](size_t sent, size_t answered) {
        if (tty || answered >= last_printed + total / 10 + 1 || answered == total) {
          progress_bar(sent, answered, total);
          last_printed = answered;
        }
      });
  std::cerr << "\n";

  std::map<net::reply_status, size_t> by_status;
  struct per_model {
    size_t total = 0, good = 0;
  };
  std::map<std::string, per_model> models;
  std::vector<double> served_latency;
  size_t good = 0;
  // Per window: a request counts in the window in force at its scheduled send time on the
  // window clock (planner::window_at, the rule of the controller and the event simulator).
  const double clock_shift =
      a.window_clock_zero >= 0 ? replay_start_unix - a.window_clock_zero : 0.0;
  struct per_window {
    size_t total = 0, good = 0, ok = 0;
  };
  std::vector<per_window> windows(std::max<size_t>(a.windows.size(), 1));
  // The PNG is plotted from the CSV: without --csv it goes next to the PNG.
  const std::string csv_path = !a.csv.empty() ? a.csv : (a.png.empty() ? "" : a.png + ".csv");
  std::ofstream csv;
  if (!csv_path.empty()) {
    csv.open(csv_path);
    if (!csv) throw planner::input_error(csv_path, "--csv", "cannot be written");
  }
  csv << "request,model,arrival_s,status,e2e_ms,server_ms,predicted_ms,group,stage_ms,slo_ms,good,"
         "queue_ms,nominal_ms,message\n";
  for (size_t i = 0; i < replies.size(); ++i) {
    const auto& r = replies[i];
    ++by_status[r.reply.status];
    const double model_slo = slo.count(s.models[i]) ? slo[s.models[i]] : 0.0;
    const bool ok = r.reply.status == net::reply_status::ok;
    const bool is_good = ok && r.e2e_s <= model_slo;
    good += is_good;
    auto& pm = models[s.models[i]];
    ++pm.total;
    pm.good += is_good;
    if (!a.windows.empty()) {
      auto& pw = windows[planner::window_at(a.windows, s.offsets[i] + clock_shift)];
      ++pw.total;
      pw.good += is_good;
      pw.ok += ok;
    }
    if (ok) served_latency.push_back(r.e2e_s);
    if (ok) outputs.check(expected, s.models[i], i, r.reply.result);
    double stages = 0, queued = 0, nominal = 0;
    for (double x : r.reply.stage_run_s) stages += x;
    for (double x : r.reply.stage_queue_s) queued += x;
    for (double x : r.reply.stage_nominal_s) nominal += x;
    std::string msg = r.reply.message;
    std::replace(msg.begin(), msg.end(), ',', ';');
    if (csv.is_open())
      csv << fmt::format(
          "{},{},{:.6f},{},{:.3f},{:.3f},{:.3f},{},{:.3f},{:.1f},{},{:.3f},{:.3f},{}\n", i,
          s.models[i], s.offsets[i], net::to_string(r.reply.status), r.e2e_s * 1e3,
          r.reply.server_s * 1e3, r.reply.predicted_s * 1e3, r.reply.group, stages * 1e3,
          model_slo * 1e3, is_good ? 1 : 0, queued * 1e3, nominal * 1e3, msg);
  }
  csv.close();
  const double attainment = total == 0 ? 0 : static_cast<double>(good) / static_cast<double>(total);
  std::cout << fmt::format("requests: {}  SLO attainment: {:.2f}%\n", total, attainment * 100);
  for (const auto& [st, n] : by_status)
    std::cout << fmt::format("  {:<24} {}\n", net::to_string(st), n);
  std::cout << fmt::format(
      "latency of served requests (ms): p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  max {:.1f}\n",
      percentile(served_latency, 0.5) * 1e3, percentile(served_latency, 0.9) * 1e3,
      percentile(served_latency, 0.99) * 1e3, percentile(served_latency, 1.0) * 1e3);
  for (const auto& [name, pm] : models)
    std::cout << fmt::format("  {:<20} {:>6} requests  attainment {:.2f}%\n", name, pm.total,
                             pm.total ? 100.0 * static_cast<double>(pm.good) / pm.total : 0.0);
  if (!expected.empty())
    std::cout << fmt::format(
        "outputs checked: {} ok replies of {} models; {} differ (max |served - expected| = {:.3g} "
        "x max(1, |expected|), tolerance {:g}){}\n",
        outputs.checked, expected.by_model.size(), outputs.differing, outputs.max_error,
        expected.tolerance, outputs.differing ? "; first: " + outputs.first_problem : "");
  if (!a.windows.empty()) {
    std::cout << fmt::format(
        "per window (starts on the window clock; the replay's time 0 is at {:.3f} s on it):\n",
        clock_shift);
    // Up to the last window with a request (a policy's schedule may run far past the replay).
    size_t shown = 1;
    for (size_t k = 0; k < windows.size(); ++k)
      if (windows[k].total > 0) shown = k + 1;
    for (size_t k = 0; k < shown; ++k) {
      const auto& pw = windows[k];
      const std::string to =
          k + 1 < a.windows.size() ? fmt::format("{:.3f}", a.windows[k + 1]) : std::string("-");
      std::cout << fmt::format(
          "  window {} from {:.3f} to {}: {} requests, {} served, {} good, attainment {:.2f}%\n", k,
          a.windows[k], to, pw.total, pw.ok, pw.good,
          pw.total ? 100.0 * static_cast<double>(pw.good) / static_cast<double>(pw.total) : 0.0);
    }
    if (shown < windows.size())
      std::cout << fmt::format("  (windows {} to {} had no request)\n", shown, windows.size() - 1);
  }
  if (!csv_path.empty()) std::cout << "per-request CSV: " << csv_path << "\n";
  if (!a.png.empty()) {
    const std::string script_path = a.png + ".gp";
    std::ofstream(script_path) << fmt::format(
        "set terminal pngcairo size 1000,600\nset output '{}'\nset datafile separator ','\n"
        "set xlabel 'arrival (s)'\nset ylabel 'latency (ms)'\n"
        "set title 'alpaserve bench: SLO attainment {:.2f}%'\n"
        "plot '{}' every ::1 using 3:($11==1?$5:1/0) with points pt 7 ps 0.4 title 'within SLO', "
        "'' every ::1 using 3:($11==0 && strcol(4) eq 'ok' ? $5 : 1/0) with points pt 7 ps 0.4 "
        "title 'late'\n",
        a.png, attainment * 100, csv_path);
    const std::string cmd = "gnuplot '" + script_path + "' 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("plot " + a.png + ": gnuplot failed (is gnuplot installed?)");
    std::cout << "plot: " << a.png << "\n";
  }
  if (outputs.differing > 0) {
    std::cerr << "error: " << outputs.differing << " replies differ from the expected output\n";
    return 1;
  }
  return 0;
}

void add_bench(CLI::App& app, run_fn& run) {
  auto args = std::make_shared<bench_args>();
  auto* sub = app.add_subcommand(
      "bench",
      "Replay a workload against a running cluster; print SLO attainment and latency percentiles, "
      "optionally write a per-request CSV and a PNG. --overhead / --admission measure the "
      "runtime's added latency and the dispatcher's admission throughput instead.");
  args->endpoint.add_to(sub);
  sub->add_option("--workload", args->workload_file,
                  "trace CSV 'arrival_s,model' to replay (docs/workloads.md; the format "
                  "`alpaserve workload` writes and `simulate` reads)");
  sub->add_option("--duration", args->duration_s, "seconds of generated Gamma workload")
      ->check(finite_positive)
      ->capture_default_str();
  sub->add_option("--rate-scale", args->rate_scale, "multiplies every model's configured rate")
      ->check(finite_positive)
      ->capture_default_str();
  sub->add_option("--total-rate", args->total_rate,
                  "requests per second over all models, split by --rate-distribution (overrides "
                  "the config rates)")
      ->check(finite_positive);
  sub->add_option("--rate-distribution", args->rate_distribution,
                  "power-law (the reference's, exponent 0.5) or uniform, for --total-rate")
      ->check(CLI::IsMember({"power-law", "uniform"}))
      ->capture_default_str();
  sub->add_option("--cv", args->cv, "inter-arrival CV for every model (default: configured)")
      ->check(finite_positive);
  sub->add_option("--seed", args->seed, "random seed of the generated workload")
      ->capture_default_str();
  sub->add_option("--csv", args->csv, "write a per-request CSV here (default: none)");
  sub->add_option("--png", args->png, "latency plot (PNG, needs gnuplot)");
  sub->add_option("--write-workload", args->write_workload,
                  "also write the replayed arrivals as 'arrival_s,model' CSV");
  sub->add_option("--shape", args->shape, "input tensor shape")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--expect", args->expect,
                  "MODEL=FILE: check every ok reply of MODEL against the output in FILE (JSON "
                  "array, e.g. a NumPy reference); exit 1 when one differs (repeatable)");
  sub->add_option("--expect-tol", args->expect_tolerance,
                  "tolerance of --expect, relative to max(1, max |expected|)")
      ->check(finite_positive)
      ->capture_default_str();
  sub->add_option("--overhead", args->overhead,
                  "measure added latency over N sequential requests of --model instead")
      ->check(at_least_one);
  sub->add_option("--admission", args->admission,
                  "measure admission throughput over N requests (rejected by a 1 ns SLO)")
      ->check(at_least_one);
  sub->add_option("--window", args->window, "outstanding requests for --admission")
      ->check(at_least_one)
      ->capture_default_str();
  sub->add_option("--model", args->model, "model for --overhead / --admission (default: first)");
  sub->add_option("--windows", args->windows,
                  "report attainment per time window: window starts in seconds, increasing "
                  "(e.g. 0,15,30; the first start is not used), on the cluster's window clock "
                  "with --window-clock-zero, else on the replay's")
      ->delimiter(',');
  sub->add_option("--window-clock-zero", args->window_clock_zero,
                  "unix time of the cluster's window clock zero (the controller logs \"window "
                  "clock zero at unix T\")")
      ->check(CLI::NonNegativeNumber);
  sub->callback([&run, args] {
    for (size_t i = 1; i < args->windows.size(); ++i)
      if (!(args->windows[i] > args->windows[i - 1]))
        throw planner::input_error("--windows", std::to_string(args->windows[i]),
                                   "window starts must increase");
    run = [args] { return run_bench(*args); };
  });
}

const command_registration registration{"bench", 70, &add_bench};

}  // namespace
}  // namespace alpaserve::tools
