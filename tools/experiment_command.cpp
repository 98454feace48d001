// `alpaserve experiment <name>`: reproduces the paper's evaluation (section 6 of the reference)
// on the built-in model zoo and writes, per experiment, <out>/<name>.csv, <out>/<name>-setup.txt
// and one PNG per sweep (gnuplot), then prints a summary table and PASS/FAIL per finding.
// Exit status 1 when a finding FAILs or a plot could not be made (unless --no-plot).
// The sweeps and checks live in planner/experiment/experiment_suites.hpp; docs/experiments.md.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "planner/core/input_error.hpp"
#include "planner/experiment/experiment_suites.hpp"
#include "planner/policy/policy_registry.hpp"
#include "planner/workload/azure_trace.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

using namespace alpaserve::planner;
namespace fs = std::filesystem;

struct experiment_options {
  std::string name;
  std::string out = "experiments-out";
  bool quick = false;
  std::string trace_v1;
  std::string trace_v2;
  std::vector<std::string> policies;
  double ours_budget = 5.0;
  bool no_plot = false;
};

// A one-line progress bar on stderr (only when stderr is a terminal).
class progress_bar {
 public:
  explicit progress_bar(bool enabled) : enabled_(enabled), t0_(std::chrono::steady_clock::now()) {}
  void update(size_t done, size_t total, const std::string& what) {
    if (!enabled_ || total == 0) return;
    const int width = 28;
    const int filled = static_cast<int>(width * done / total);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::string line = fmt::format("[{}] {}/{} {:.0f}s {}", bar, done, total, secs, what);
    if (line.size() > 110) line.resize(110);
    std::cerr << "\r" << line << std::string(line.size() < last_ ? last_ - line.size() : 0, ' ')
              << std::flush;
    last_ = line.size();
  }
  void finish() {
    if (enabled_ && last_ > 0) std::cerr << "\n";
    last_ = 0;
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point t0_;
  size_t last_ = 0;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void write_csv(const fs::path& path, const std::vector<experiment_row>& rows) {
  std::ofstream f(path);
  if (!f) throw input_error(path.string(), "", "cannot write the CSV file");
  f << "experiment,x_name,x,policy,label,attainment,latency_mean,train_score,solve_seconds,"
       "groups,replicas,shapes\n";
  for (const auto& r : rows) {
    const auto& o = r.outcome;
    f << fmt::format("{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.3f},{},{},{}\n", r.experiment,
                     r.x_name, r.x, o.policy, csv_field(policy_label(o.policy)), o.attainment,
                     o.latency_mean, o.train_score, o.solve_seconds, o.groups, o.replicas,
                     csv_field(o.shapes));
  }
}

// Wraps a string in single quotes for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The gnuplot program: $ALPASERVE_GNUPLOT when set (also how tests make plotting fail), else
// `gnuplot` on PATH.
std::string gnuplot_program() {
  const char* env = std::getenv("ALPASERVE_GNUPLOT");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("gnuplot");
}

// The exit status of a /bin/sh command line; -1 when it did not exit normally.
int shell_status(const std::string& command) {
  const int st = std::system(command.c_str());
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

std::string status_text(int rc) {
  if (rc == 127) return "was not found";
  if (rc < 0) return "did not exit normally";
  return "exited " + std::to_string(rc);
}

// Checked before the sweeps run, so a missing gnuplot costs seconds, not the whole run.
void check_gnuplot(const std::string& gnuplot) {
  const int rc = shell_status(shell_quote(gnuplot) + " --version >/dev/null 2>&1");
  if (rc != 0)
    throw std::runtime_error(fmt::format(
        "cannot plot: '{} --version' {}; install gnuplot, name it in ALPASERVE_GNUPLOT, or pass "
        "--no-plot",
        gnuplot, status_text(rc)));
}

// One data file (x, then one column per policy) and one PNG per sweep. Returns why the PNG
// could not be made; empty on success.
std::string plot_sweep(const std::string& gnuplot, const fs::path& dir, const sweep_spec& sweep,
                       const std::vector<experiment_row>& rows, std::vector<std::string>& made) {
  const std::string stem = sweep.experiment + "-" + sweep.x_name;
  const fs::path dat = dir / (stem + ".dat");
  {
    std::ofstream f(dat);
    f << "x";
    for (const auto& p : sweep.policies) f << "\t\"" << policy_label(p) << "\"";
    f << "\n";
    for (double x : sweep.xs) {
      f << x;
      for (const auto& p : sweep.policies) {
        double y = NAN;
        for (const auto& r : rows)
          if (r.x_name == sweep.x_name && r.x == x && r.outcome.policy == p)
            y = sweep.y_name == "latency_mean" ? r.outcome.latency_mean : r.outcome.attainment;
        f << "\t" << y;
      }
      f << "\n";
    }
  }
  const fs::path png = dir / (stem + ".png");
  const fs::path gp = dir / (stem + ".gp");
  const fs::path log = dir / (stem + ".gnuplot.log");
  // A PNG left by an earlier run must not pass for this one.
  std::error_code ec;
  fs::remove(png, ec);
  const bool cairo = shell_status("echo 'set terminal' | " + shell_quote(gnuplot) +
                                  " 2>&1 | grep -q pngcairo") == 0;
  {
    std::ofstream f(gp);
    f << "set terminal " << (cairo ? "pngcairo" : "png") << " size 800,520\n"
      << "set output '" << png.string() << "'\n"
      << "set title '" << sweep.experiment << ": " << sweep.y_name << " vs " << sweep.x_name
      << "'\n"
      << "set xlabel '" << sweep.x_name << "'\n"
      << "set ylabel '" << (sweep.y_name == "latency_mean" ? "mean latency (s)" : "SLO attainment")
      << "'\n"
      << "set termoption noenhanced\nset key bottom left\nset grid\n";
    if (sweep.y_name != "latency_mean")
      f << "set yrange [0:1.05]\nset arrow from graph 0, first 0.99 to graph 1, first 0.99 nohead "
           "dt 2 lc rgb 'gray'\n";
    f << "plot for [i=2:" << sweep.policies.size() + 1 << "] '" << dat.string()
      << "' using 1:i with linespoints lw 2 pt i title columnheader(i)\n";
  }
  const int rc = shell_status(shell_quote(gnuplot) + " " + shell_quote(gp.string()) +
                              " >/dev/null 2>" + shell_quote(log.string()));
  if (rc == 0 && fs::exists(png) && fs::file_size(png, ec) > 0) {
    fs::remove(log, ec);
    made.push_back(png.string());
    return "";
  }
  std::string first;
  std::ifstream in(log);
  while (first.empty() && std::getline(in, first)) {
  }
  std::string why =
      rc != 0 ? "'" + gnuplot + "' " + status_text(rc) : "'" + gnuplot + "' wrote no PNG";
  if (!first.empty()) why += " (" + first + "; " + log.string() + ")";
  return png.string() + ": " + why;
}

void print_summary(const experiment_plan& plan, const std::vector<experiment_row>& rows) {
  std::map<std::pair<std::string, std::string>, std::vector<const experiment_row*>> by_sweep;
  for (const auto& r : rows) by_sweep[{r.experiment, r.x_name}].push_back(&r);
  for (const auto& sweep : plan.sweeps) {
    const auto& rs = by_sweep[{sweep.experiment, sweep.x_name}];
    if (rs.empty()) continue;
    std::cout << "\n" << sweep.experiment << ": " << sweep.y_name << " vs " << sweep.x_name << "\n";
    std::cout << fmt::format("{:>10}", sweep.x_name);
    for (const auto& p : sweep.policies)
      std::cout << fmt::format(" {:>14}", policy_label(p).substr(0, 14));
    std::cout << "\n";
    for (double x : sweep.xs) {
      std::cout << fmt::format("{:>10g}", x);
      for (const auto& p : sweep.policies) {
        double y = NAN;
        for (const auto* r : rs)
          if (r->x == x && r->outcome.policy == p)
            y = sweep.y_name == "latency_mean" ? r->outcome.latency_mean : r->outcome.attainment;
        std::cout << fmt::format(" {:>14.4f}", y);
      }
      std::cout << "\n";
    }
  }
}

// For testing the exit status: ALPASERVE_EXPERIMENT_FORCE_FAIL=<text> marks every finding whose
// claim contains <text> as FAIL after it was checked ("*": all of them).
void force_failures(std::vector<finding>& findings) {
  const char* env = std::getenv("ALPASERVE_EXPERIMENT_FORCE_FAIL");
  if (env == nullptr || *env == '\0') return;
  const std::string what = env;
  for (auto& f : findings)
    if (what == "*" || f.claim.find(what) != std::string::npos) {
      f.pass = false;
      f.detail += " [forced FAIL by ALPASERVE_EXPERIMENT_FORCE_FAIL, for testing]";
    }
}

int run_experiments(const experiment_options& o) {
  std::vector<std::string> names;
  if (o.name == "all")
    names = experiment_names();
  else
    names = {o.name};
  for (const auto& p : o.policies)
    if (!is_known_policy(p)) (void)make_policy(p);  // throws input_error naming the policy

  azure_v1_trace v1;
  azure_v2_trace v2;
  experiment_settings settings;
  settings.quick = o.quick;
  settings.policies = o.policies;
  settings.ours_time_budget_s = o.ours_budget;
  if (!o.trace_v1.empty()) {
    v1 = read_azure_v1_dir(o.trace_v1, 0, 24 * 60);
    settings.trace_v1 = &v1;
  }
  if (!o.trace_v2.empty()) {
    v2 = read_azure_v2(o.trace_v2);
    settings.trace_v2 = &v2;
  }
  // Validate every name before the long runs start.
  std::vector<experiment_plan> plans;
  for (const auto& n : names) plans.push_back(make_experiment(n, settings));
  const std::string gnuplot = gnuplot_program();
  if (!o.no_plot) check_gnuplot(gnuplot);

  const fs::path dir(o.out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw input_error(o.out, "", "cannot create the output folder: " + ec.message());

  std::vector<finding> all_findings;
  std::vector<std::string> plot_errors;
  for (const auto& plan : plans) {
    std::cout << "== experiment " << plan.name << (o.quick ? " (quick)" : "") << "\n" << plan.setup;
    std::ofstream(dir / (plan.name + "-setup.txt")) << plan.setup;
    std::vector<experiment_row> rows;
    std::vector<std::string> pngs;
    progress_bar bar(isatty(STDERR_FILENO) != 0);
    size_t total = 0, before = 0;
    for (const auto& s : plan.sweeps) total += s.xs.size() * s.policies.size();
    for (const auto& s : plan.sweeps) {
      auto part = run_sweep(s, settings, [&](size_t done, size_t, const std::string& what) {
        bar.update(before + done, total, what);
      });
      before += s.xs.size() * s.policies.size();
      rows.insert(rows.end(), part.begin(), part.end());
      write_csv(dir / (plan.name + ".csv"), rows);  // keep partial results
    }
    bar.finish();
    if (!o.no_plot)
      for (const auto& s : plan.sweeps)
        if (auto why = plot_sweep(gnuplot, dir, s, rows, pngs); !why.empty())
          plot_errors.push_back(std::move(why));
    print_summary(plan, rows);
    std::cout << "\nwrote " << (dir / (plan.name + ".csv")).string();
    for (const auto& p : pngs) std::cout << ", " << p;
    std::cout << "\n";
    std::set<std::string> experiments;
    for (const auto& r : rows) experiments.insert(r.experiment);
    for (const auto& e : experiments) {
      std::vector<experiment_row> mine;
      for (const auto& r : rows)
        if (r.experiment == e) mine.push_back(r);
      for (auto& f : check_findings(e, mine)) all_findings.push_back(std::move(f));
    }
  }
  force_failures(all_findings);
  int failed = 0;
  if (!all_findings.empty()) {
    std::cout << "\nfindings:\n";
    std::ofstream f(dir / (o.name + "-findings.txt"));
    for (const auto& x : all_findings) {
      const std::string line =
          fmt::format("{} [{}] {}: {}", x.pass ? "PASS" : "FAIL", x.experiment, x.claim, x.detail);
      std::cout << line << "\n";
      f << line << "\n";
      failed += x.pass ? 0 : 1;
    }
  }
  std::cout << std::flush;
  for (const auto& why : plot_errors) spdlog::error("plot failed: {}", why);
  if (!plot_errors.empty())
    spdlog::error("{} plot(s) failed; the CSVs are written; pass --no-plot to skip plotting",
                  plot_errors.size());
  if (failed > 0)
    spdlog::error("{} of {} findings FAIL (see {})", failed, all_findings.size(),
                  (dir / (o.name + "-findings.txt")).string());
  return failed > 0 || !plot_errors.empty() ? 1 : 0;
}

void add_experiment(CLI::App& app, run_fn& run) {
  auto opts = std::make_shared<experiment_options>();
  auto* sub = app.add_subcommand(
      "experiment",
      "Reproduce the paper's evaluation on the built-in model zoo: CSV, PNG plots (gnuplot), "
      "a summary table and PASS/FAIL per finding (docs/experiments.md)");
  sub->add_option("name", opts->name,
                  "s1, s2, s3 (devices/rate/cv/slo sweeps), s4 (large model), robustness, "
                  "ablation, motivation, or all")
      ->required();
  sub->add_option("--out", opts->out, "output folder (created)")->capture_default_str();
  sub->add_flag("--quick", opts->quick, "fewer points and shorter workloads");
  sub->add_option("--trace-v1", opts->trace_v1,
                  "Azure Functions 2019 folder (invocations_per_function_md.anon.dNN.csv): also "
                  "run the MAF1 sweeps of s1/s2/s3 on its first hour");
  sub->add_option("--trace-v2", opts->trace_v2,
                  "Azure Functions 2021 trace file: also run the MAF2 sweeps of s1/s2/s3");
  sub->add_option("--policies", opts->policies,
                  "comma-separated policies replacing each experiment's default lines")
      ->delimiter(',');
  sub->add_option("--ours-budget", opts->ours_budget,
                  "seconds the 'ours' local search may take per case")
      ->capture_default_str();
  sub->add_flag("--no-plot", opts->no_plot,
                "skip gnuplot (otherwise a missing or failing gnuplot is an error)");
  sub->callback([opts, &run] { run = [opts] { return run_experiments(*opts); }; });
}

const command_registration registration{"experiment", 60, &add_experiment};

}  // namespace
}  // namespace alpaserve::tools
