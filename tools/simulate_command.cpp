// `alpaserve simulate`: predicts SLO attainment and latency of a placement on a workload, with
// the event simulator of our runtime (default) or the reference's approximate simulator.
// Usage and output: docs/cli.md; simulators: docs/event-simulator.md, docs/simulators.md.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "planner/core/input_error.hpp"
#include "planner/policy/placement_io.hpp"
#include "planner/sim/approx_simulator.hpp"
#include "planner/sim/event_simulator.hpp"
#include "planner/sim/sim_stats.hpp"
#include "planner/workload/workload_io.hpp"
#include "tools/cli_inputs.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

using namespace planner;

struct simulate_args {
  std::string profiles, placement_path, workload_path, mode = "event", per_request;
  bool json = false;
  double warmup = 0;
  std::string warmup_rule = "ours";  // or "reference" (docs/simulators.md "Warm-up")
  // event mode only
  double hop_ms = -1;  // < 0: the runtime's measured overheads (default_runtime_overheads)
  double jitter_cv = 0;
  uint64_t seed = 0;
  int max_batch_size = 1;
  int queue_cap = 0;
  std::string strategy = "min_predicted_finish";
  bool no_feedback = false;
  bool batch1_admission = false;
  double window_offset = 0;  // time-segmented placements: workload time + this = schedule time
};

// The approximate simulator's outcome in the event simulator's terms, so both modes print and
// write the same report. It keeps no group per request (-1) and has no late verdict.
event_sim_result from_approx(const workload& w, const sim_result& a,
                             const std::vector<int32_t>& request_model,
                             const std::vector<bool>& placed) {
  event_sim_result r;
  const size_t n = w.size();
  r.finish = a.finish;
  r.group.assign(n, -1);
  r.verdict.resize(n);
  r.batch_size.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int32_t m = request_model[i];
    if (a.good[i] != 0) {
      r.verdict[i] = request_verdict::good;
      r.batch_size[i] = 1;
    } else if (m < 0 || !placed[static_cast<size_t>(m)]) {
      r.verdict[i] = request_verdict::rejected_unknown;
    } else {
      r.verdict[i] = request_verdict::rejected_slo;
    }
    r.last_finish = std::max(r.last_finish, r.finish[i]);
  }
  r.first_arrival = n > 0 ? w.arrivals[0] : 0.0;
  return r;
}

void write_per_request(const std::string& path, const workload& w, const event_sim_result& r) {
  std::ofstream out(path);
  if (!out) throw input_error(path, "", "cannot open the per-request output file for writing");
  out << "arrival_s,model,group,finish_s,latency_s,verdict\n";
  std::string line;
  for (size_t i = 0; i < w.size(); ++i) {
    line.clear();
    fmt::format_to(std::back_inserter(line), "{},{},{},{},{},{}\n", w.arrivals[i],
                   w.model_names[static_cast<size_t>(w.model[i])], r.group[i], r.finish[i],
                   r.finish[i] - w.arrivals[i], to_string(r.verdict[i]));
    out << line;
  }
  if (!out) throw std::runtime_error("writing " + path + " failed");
}

nlohmann::json latency_json(const latency_summary& l) {
  return {{"count", l.count}, {"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90},
          {"p99", l.p99},     {"p999", l.p999}, {"max", l.max}};
}

// The groups a report lists: configs (empty for a time-segmented placement, whose segments may
// differ) and the requests routed to each over the whole run.
struct group_report {
  std::vector<std::string> configs;
  std::vector<size_t> requests;
  bool segmented = false;  // the table leaves out groups no request reached
};

void print_json(const simulate_args& a, const counted_requests& counted, const group_report& gr,
                const event_sim_summary& s, const std::vector<window_summary>& windows) {
  nlohmann::json j;
  j["mode"] = a.mode;
  j["warmup_rule"] = a.warmup_rule;
  j["warmup_s"] = a.warmup;
  if (a.warmup_rule == "reference") j["warmup_skipped_each_end"] = counted.skip_each_end;
  j["requests"] = s.total;
  j["attainment"] = s.attainment;
  nlohmann::json verdicts;
  for (int v = 0; v < num_request_verdicts; ++v)
    verdicts[std::string(to_string(static_cast<request_verdict>(v)))] = s.by_verdict[v];
  j["verdicts"] = verdicts;
  j["latency_s"] = latency_json(s.latency);
  j["per_model"] = nlohmann::json::array();
  for (const model_summary& m : s.per_model)
    j["per_model"].push_back({{"model", m.name},
                              {"requests", m.total},
                              {"good", m.good},
                              {"late", m.late},
                              {"rejected", m.rejected},
                              {"attainment", m.attainment},
                              {"latency_s", latency_json(m.latency)}});
  if (a.mode == "event") j["makespan_s"] = s.makespan;
  j["groups"] = nlohmann::json::array();
  for (size_t g = 0; g < gr.requests.size(); ++g) {
    nlohmann::json jg = {{"requests", gr.requests[g]}};
    if (!gr.configs[g].empty()) jg["config"] = gr.configs[g];
    if (a.mode == "event") jg["stage_utilization"] = s.utilization[g];
    j["groups"].push_back(jg);
  }
  if (!windows.empty()) {
    j["window_offset_s"] = a.window_offset;
    j["windows"] = nlohmann::json::array();
    for (const window_summary& ws : windows) {
      nlohmann::json jw = {{"window", ws.window},     {"requests", ws.total},
                           {"good", ws.good},         {"late", ws.late},
                           {"rejected", ws.rejected}, {"attainment", ws.attainment}};
      jw["from_s"] = std::isfinite(ws.from) ? nlohmann::json(ws.from) : nlohmann::json(nullptr);
      jw["to_s"] = std::isfinite(ws.to) ? nlohmann::json(ws.to) : nlohmann::json(nullptr);
      j["windows"].push_back(jw);
    }
  }
  std::cout << j.dump(2) << "\n";
}

// Per-window attainment of a time-segmented placement (its window starts on the workload's clock).
void print_windows(const std::vector<window_summary>& windows) {
  if (windows.empty()) return;
  // Up to the last window with a request (a policy's schedule may run past the workload).
  size_t shown = 1;
  for (size_t k = 0; k < windows.size(); ++k)
    if (windows[k].total > 0) shown = k + 1;
  fmt::print("\nwindow  from (s)  to (s)    requests  attainment  good  late  rejected\n");
  for (size_t k = 0; k < shown; ++k) {
    const window_summary& ws = windows[k];
    const std::string from = std::isfinite(ws.from) ? fmt::format("{:.3f}", ws.from) : "-";
    const std::string to = std::isfinite(ws.to) ? fmt::format("{:.3f}", ws.to) : "-";
    fmt::print("{:>6}  {:>8}  {:>8}  {:>8}  {:>9.2f}%  {:>4}  {:>4}  {:>8}\n", ws.window, from, to,
               ws.total, 100 * ws.attainment, ws.good, ws.late, ws.rejected);
  }
  if (shown < windows.size())
    fmt::print("(windows {} to {} have no request)\n", shown, windows.size() - 1);
}

void print_table(const simulate_args& a, const event_sim_options& o,
                 const counted_requests& counted, const group_report& gr,
                 const event_sim_summary& s) {
  auto count = [&](request_verdict v) { return s.by_verdict[static_cast<int>(v)]; };
  if (a.mode == "event")
    fmt::print(
        "mode: event (client {:.3g} ms, to stage 0 {:.3g} ms, hop {:.3g} ms, reply {:.3g} ms; "
        "{}; feedback {}; jitter cv {}; max batch {}; queue cap {})\n",
        o.client_to_dispatcher_s * 1e3, o.overheads.before_first_stage * 1e3,
        o.overheads.per_stage_hop * 1e3, o.overheads.after_last_stage * 1e3, a.strategy,
        o.feedback ? "on" : "off", o.jitter_cv, o.max_batch_size,
        o.max_queue_per_group > 0 ? std::to_string(o.max_queue_per_group) : "none");
  else
    fmt::print(
        "mode: approx (reference approximate simulator: 11 ms overhead, latency x (1 + "
        "0.009 pp))\n");
  if (a.warmup_rule == "reference")
    fmt::print("requests: {} (first and last {} trimmed: the reference's rule for {} s)\n", s.total,
               counted.skip_each_end, a.warmup);
  else
    fmt::print("requests: {} (arriving >= {} s after the first)\n", s.total, a.warmup);
  fmt::print(
      "SLO attainment: {:.2f} %  (good {}, late {}, rejected: slo {}, unknown {}, "
      "overloaded {})\n",
      100 * s.attainment, count(request_verdict::good), count(request_verdict::late),
      count(request_verdict::rejected_slo), count(request_verdict::rejected_unknown),
      count(request_verdict::rejected_overloaded));
  fmt::print(
      "latency of served requests (s): mean {:.4f}  p50 {:.4f}  p90 {:.4f}  p99 {:.4f}  "
      "p99.9 {:.4f}  max {:.4f}\n\n",
      s.latency.mean, s.latency.p50, s.latency.p90, s.latency.p99, s.latency.p999, s.latency.max);
  size_t width = 5;
  for (const model_summary& m : s.per_model) width = std::max(width, m.name.size());
  fmt::print("{:<{}}  {:>9}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8}  {:>8}\n", "model", width,
             "requests", "attainment", "good", "late", "rejected", "p50 (s)", "p99 (s)");
  for (const model_summary& m : s.per_model)
    fmt::print("{:<{}}  {:>9}  {:>9.2f}%  {:>9}  {:>6}  {:>9}  {:>8.4f}  {:>8.4f}\n", m.name, width,
               m.total, 100 * m.attainment, m.good, m.late, m.rejected, m.latency.p50,
               m.latency.p99);
  if (gr.requests.empty()) return;
  if (a.mode == "event")
    fmt::print("\ngroup  config   requests  stage utilization (busy / {:.1f} s)\n", s.makespan);
  else
    fmt::print("\ngroup  config   requests\n");
  size_t idle = 0;
  for (size_t g = 0; g < gr.requests.size(); ++g) {
    if (gr.segmented && gr.requests[g] == 0) {
      ++idle;
      continue;
    }
    std::string stages;
    if (a.mode == "event")
      for (double u : s.utilization[g]) stages += fmt::format(" {:5.1f}%", 100 * u);
    fmt::print("{:>5}  {:<7} {:>9}{}\n", g, gr.configs[g].empty() ? "-" : gr.configs[g],
               gr.requests[g], stages);
  }
  if (idle > 0) fmt::print("({} groups of windows no request reached left out)\n", idle);
}

int run_simulate(const simulate_args& a) {
  const profile_db profiles = load_profiles(a.profiles);
  const placement_file pf = read_placement_file(a.placement_path, profiles);
  const workload w = read_workload_csv(a.workload_path);
  if (a.warmup < 0) throw input_error("", "--warmup", "must be >= 0");
  counted_requests counted;
  if (a.warmup_rule == "reference")
    counted.skip_each_end = reference_warmup_skip(w.arrivals, a.warmup);
  else
    counted.warmup_s = a.warmup;

  event_sim_options o;
  if (a.hop_ms >= 0) {
    const double hop = a.hop_ms * 1e-3;
    o.client_to_dispatcher_s = hop;
    o.overheads = {2 * hop, hop, 2 * hop};
  }
  o.jitter_cv = a.jitter_cv;
  o.seed = a.seed;
  o.max_batch_size = a.max_batch_size;
  o.max_queue_per_group = a.queue_cap;
  o.strategy = a.strategy == "min_last_stage_clock" ? dispatch_strategy::min_last_stage_clock
                                                    : dispatch_strategy::min_predicted_finish;
  o.feedback = !a.no_feedback;
  o.batch_admission = !a.batch1_admission;

  event_sim_result r;
  group_report groups;
  auto name_configs = [&groups](const placement& p) {
    for (const parallel_config& c : p.group_configs) groups.configs.push_back(c.to_string());
  };
  o.window_clock_offset_s = a.window_offset;
  std::vector<window_summary> windows;
  if (a.mode == "event") {
    try {
      if (pf.segmented()) {
        // Every window's groups are new groups (docs/event-simulator.md "Time windows").
        const auto& schedule = std::get<placement_with_replacement>(pf.layout);
        for (const placement& p : schedule.placements) name_configs(p);
        r = simulate_events(pf.models, schedule, w, o);
      } else {
        const placement& shown = std::get<placement>(pf.layout);
        name_configs(shown);
        r = simulate_events(pf.models, shown, w, o);
      }
    } catch (const std::invalid_argument& e) {
      throw input_error(a.placement_path, "", e.what());
    }
  } else {
    const approx_simulator sim(pf.models, w);
    std::vector<bool> placed(pf.models.size(), false);
    auto mark = [&](const placement& p) {
      for (const auto& models : p.group_models)
        for (int m : models) placed[static_cast<size_t>(m)] = true;
    };
    sim_result ar;
    if (pf.segmented()) {
      const auto& pr = std::get<placement_with_replacement>(pf.layout);
      for (const placement& p : pr.placements) mark(p);
      ar = sim.run(pr);
    } else {
      mark(std::get<placement>(pf.layout));
      name_configs(std::get<placement>(pf.layout));
      ar = sim.run(std::get<placement>(pf.layout));
    }
    r = from_approx(w, ar, sim.request_model(), placed);
    // The approximate simulator's own per-group counters (summed per group index over the
    // segments of a time-segmented placement, whose configs may differ: left unnamed).
    groups.requests.assign(ar.group_num_requests.begin(), ar.group_num_requests.end());
    groups.configs.resize(groups.requests.size());
  }
  groups.segmented = a.mode == "event" && pf.segmented();
  const event_sim_summary s = summarize(pf.models, w, r, counted);
  if (a.mode == "event") groups.requests = s.group_requests;
  if (a.mode == "event" && pf.segmented())
    windows = summarize_windows(std::get<placement_with_replacement>(pf.layout).start_times, w, r,
                                counted, a.window_offset);
  if (!a.per_request.empty()) write_per_request(a.per_request, w, r);
  if (a.json) {
    print_json(a, counted, groups, s, windows);
  } else {
    print_table(a, o, counted, groups, s);
    print_windows(windows);
  }
  return 0;
}

void add_simulate(CLI::App& app, run_fn& run) {
  auto* sub = app.add_subcommand(
      "simulate",
      "Predict SLO attainment and latency of a placement on a workload (event simulator of our "
      "runtime, or the reference's approximate simulator)");
  auto args = std::make_shared<simulate_args>();
  sub->add_option("--profiles", args->profiles, profiles_spec_help)->required();
  sub->add_option("--placement", args->placement_path,
                  "placement file (JSON, docs/placement-format.md)")
      ->required();
  sub->add_option("--workload", args->workload_path,
                  "workload trace (CSV arrival_s,model, docs/workloads.md)")
      ->required();
  sub->add_option("--mode", args->mode,
                  "event: our runtime's event-driven model (default); approx: the reference's "
                  "approximate simulator")
      ->check(CLI::IsMember({"event", "approx"}));
  sub->add_option(
      "--per-request", args->per_request,
      "write one CSV line per request: arrival_s,model,group,finish_s,latency_s,verdict");
  sub->add_flag("--json", args->json, "print a JSON object instead of tables");
  auto* warmup = sub->add_option(
      "--warmup", args->warmup,
      "warm-up seconds left out of the statistics (default 0; 10 with --warmup-rule reference)");
  sub->add_option("--warmup-rule", args->warmup_rule,
                  "ours: leave out the requests arriving within --warmup s of the first "
                  "(default); reference: the reference's compute_stats, the first and last "
                  "int(warmup / span x N) requests")
      ->check(CLI::IsMember({"ours", "reference"}));
  sub->add_option("--hop-ms", args->hop_ms,
                  "event mode: one message hop in ms (client->dispatcher and per stage hand-off = "
                  "1 hop, dispatcher->stage 0 and reply = 2 hops); default: the overheads "
                  "measured in the runtime (docs/event-simulator.md)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--jitter-cv", args->jitter_cv,
                  "event mode: coefficient of variation of real stage times around the profile")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", args->seed, "event mode: seed of the jitter");
  sub->add_option("--max-batch-size", args->max_batch_size,
                  "event mode: largest batch stage 0 may form (1 = no batching)")
      ->check(CLI::Range(1, 16));
  sub->add_option("--queue-cap", args->queue_cap,
                  "event mode: admitted unfinished requests per group before it counts as "
                  "overloaded (0 = no cap)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--strategy", args->strategy,
                  "event mode: dispatch rule, min_predicted_finish (ours) or min_last_stage_clock "
                  "(the reference's)")
      ->check(CLI::IsMember({"min_predicted_finish", "min_last_stage_clock"}));
  sub->add_flag("--batch1-admission", args->batch1_admission,
                "with --max-batch-size > 1: admission predicts batch-1 service for every request "
                "instead of the batch it will join (event mode)");
  sub->add_option("--window-offset", args->window_offset,
                  "event mode, time-segmented placement: seconds to add to the workload's times "
                  "to get the schedule's (a request arriving at t is dispatched in the window in "
                  "force at t + offset; docs/runtime.md \"Time windows (Clockwork++)\")");
  sub->add_flag("--no-feedback", args->no_feedback,
                "event mode: measured stage times do not correct the dispatcher's predictions");
  sub->callback([&run, args, warmup] {
    if (warmup->count() == 0 && args->warmup_rule == "reference") args->warmup = default_warmup;
    run = [args] { return run_simulate(*args); };
  });
}

const command_registration registration{"simulate", 30, &add_simulate};

}  // namespace
}  // namespace alpaserve::tools
