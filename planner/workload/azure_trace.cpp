#include "planner/workload/azure_trace.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "planner/core/distribution_fit.hpp"
#include "planner/core/input_error.hpp"
#include "planner/core/text_file.hpp"
#include "planner/workload/workload_gen.hpp"

namespace alpaserve::planner {

namespace fs = std::filesystem;

namespace {

constexpr const char* v1_file_prefix = "invocations_per_function_md.anon.d";
constexpr const char* v2_file_name = "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt";

// Day number of ".../...dNN.csv", or 0 when the name has no such suffix.
int day_of_file(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  const std::string suffix = ".csv";
  if (name.size() < suffix.size() + 2 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return 0;
  }
  size_t end = name.size() - suffix.size();
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(name[begin - 1]))) --begin;
  if (begin == end || begin == 0 || name[begin - 1] != 'd' || end - begin > 3) return 0;
  return std::stoi(name.substr(begin, end - begin));
}

// Column index by name in a header, or -1.
int column_of(const std::vector<std::string_view>& header, std::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (trim(header[i]) == name) return static_cast<int>(i);
  }
  return -1;
}

void read_v1_day(const std::string& path, int day, int first_minute, int end_minute,
                 azure_v1_trace& trace, std::unordered_map<std::string, size_t>& index_of) {
  const std::string text = read_text_file(path);
  line_cursor lines(text);
  std::string_view line;
  if (!lines.next(line)) throw input_error(path, "", "empty file: no header");
  std::vector<std::string_view> fields;
  split_fields(line, ',', fields);
  const size_t columns = fields.size();
  const int function_col = column_of(fields, "HashFunction");
  if (function_col < 0) throw input_error(path, "line 1", "header has no 'HashFunction' column");
  std::vector<int> minute_col(minutes_per_day);
  for (int m = 0; m < minutes_per_day; ++m) {
    minute_col[m] = column_of(fields, std::to_string(m + 1));
    if (minute_col[m] < 0) {
      throw input_error(path, "line 1", fmt::format("header has no column '{}'", m + 1));
    }
  }
  const int day_start = (day - 1) * minutes_per_day;
  const int from = std::max(first_minute, day_start);
  const int to = std::min(end_minute, day_start + minutes_per_day);
  const size_t width = static_cast<size_t>(end_minute - first_minute);
  while (lines.next(line)) {
    if (trim(line).empty()) continue;
    split_fields(line, ',', fields);
    if (fields.size() != columns) {
      throw input_error(path, lines.where(),
                        fmt::format("expected {} columns, found {}", columns, fields.size()));
    }
    const std::string name(trim(fields[function_col]));
    if (name.empty()) throw input_error(path, lines.where(), "empty HashFunction");
    auto [it, inserted] = index_of.emplace(name, trace.functions.size());
    if (inserted) {
      trace.functions.push_back(name);
      trace.counts.emplace_back(width, 0);
    }
    auto& counts = trace.counts[it->second];
    for (int m = 0; m < minutes_per_day; ++m) {
      int64_t c;
      const std::string_view field = fields[minute_col[m]];
      if (!parse_int64(field, c) || c < 0 || c > std::numeric_limits<int32_t>::max()) {
        throw input_error(
            path, lines.where(),
            fmt::format("column '{}': '{}' is not a count (integer >= 0)", m + 1, trim(field)));
      }
      const int minute = day_start + m;
      if (minute < from || minute >= to) continue;
      int64_t sum = int64_t{counts[minute - first_minute]} + c;
      counts[minute - first_minute] =
          static_cast<int32_t>(std::min<int64_t>(sum, std::numeric_limits<int32_t>::max()));
    }
  }
}

struct window {
  double start;
  double end;
};

window parse_window(const trace_replay_options& o) {
  const double start = parse_trace_time(o.start_time);
  const double end = parse_trace_time(o.end_time);
  if (!(end > start)) {
    throw std::invalid_argument(
        fmt::format("end time '{}' must be after start time '{}'", o.end_time, o.start_time));
  }
  return {start, end};
}

void validate_options_impl(const trace_replay_options& o, bool v2) {
  if (o.models.empty()) throw std::invalid_argument("models: at least one model is needed");
  std::unordered_set<std::string> seen;
  for (const auto& m : o.models) {
    if (!seen.insert(m).second) {
      throw std::invalid_argument(fmt::format("models: '{}' is listed twice", m));
    }
  }
  if (o.replication < 1) {
    throw std::invalid_argument(fmt::format("replication must be >= 1, got {}", o.replication));
  }
  if (o.replication > 1 && !(v2 && o.distribution == arrival_fit::vanilla)) {
    throw std::invalid_argument("replication > 1 is only possible for azure_v2 with vanilla");
  }
  if (!std::isfinite(o.time_scale) || o.time_scale <= 0.0) {
    throw std::invalid_argument(fmt::format("time scale must be > 0, got {}", o.time_scale));
  }
  if (o.time_scale != 1.0 && !(v2 && o.distribution == arrival_fit::vanilla)) {
    throw std::invalid_argument("time scaling is only possible for azure_v2 with vanilla");
  }
  if (!std::isfinite(o.rate_scale) || o.rate_scale < 0.0) {
    throw std::invalid_argument(fmt::format("rate scale must be >= 0, got {}", o.rate_scale));
  }
  if (!std::isfinite(o.cv_scale) || o.cv_scale <= 0.0) {
    throw std::invalid_argument(fmt::format("cv scale must be > 0, got {}", o.cv_scale));
  }
  if (o.distribution != arrival_fit::gamma && o.cv_scale != 1.0) {
    throw std::invalid_argument(fmt::format(
        "cv scaling needs the gamma distribution (got {}): the others have no CV to scale",
        to_string(o.distribution)));
  }
  if (o.time_scale != 1.0 && (o.rate_scale != 1.0 || o.cv_scale != 1.0)) {
    throw std::invalid_argument("choose one: scale rate/cv, or scale time");
  }
  if (!v2 && o.distribution != arrival_fit::exponential && o.distribution != arrival_fit::gamma) {
    throw std::invalid_argument(
        fmt::format("azure_v1 (per-minute counts) supports only exponential or gamma, got {}",
                    to_string(o.distribution)));
  }
  if (!std::isfinite(o.interval_seconds) || o.interval_seconds <= 0.0) {
    throw std::invalid_argument(
        fmt::format("interval must be > 0 seconds, got {}", o.interval_seconds));
  }
  if (!v2 && (std::fmod(o.interval_seconds, 60.0) != 0.0)) {
    throw std::invalid_argument(fmt::format(
        "azure_v1 interval must be a multiple of 60 seconds, got {}", o.interval_seconds));
  }
}

// Model (index into models) of each of n_functions functions, in function order.
std::vector<size_t> map_functions(size_t n_functions, const trace_replay_options& o) {
  const size_t n_models = o.models.size();
  if (n_functions < n_models) {
    throw std::invalid_argument(fmt::format(
        "the window has {} functions with invocations, fewer than the {} models to map them to",
        n_functions, n_models));
  }
  std::vector<size_t> model_of(n_functions);
  for (size_t i = 0; i < n_functions; ++i) {
    model_of[i] =
        o.mapping == model_mapping::round_robin ? n_models * i / n_functions : i % n_models;
  }
  return model_of;
}

// Step 8 of the replay: generate every fitted interval, seeds counting up across intervals
// and models; then statistics and the merged workload.
trace_replay generate_replay(std::vector<std::vector<fitted_interval>> fits,
                             const trace_replay_options& o) {
  trace_replay out;
  std::vector<workload> parts;
  uint64_t seed = o.seed;
  for (size_t m = 0; m < o.models.size(); ++m) {
    model_replay replay;
    replay.model = o.models[m];
    workload part;
    part.model_names = {o.models[m]};
    for (auto& interval : fits[m]) {
      if (!interval.process) continue;
      interval.seed = seed;
      auto ticks = interval.process->generate_arrivals(interval.start, o.interval_seconds, seed);
      part.arrivals.insert(part.arrivals.end(), ticks.begin(), ticks.end());
      ++seed;
    }
    replay.intervals = std::move(fits[m]);
    part.model.assign(part.arrivals.size(), 0);
    parts.push_back(std::move(part));
    out.models.push_back(std::move(replay));
  }
  out.merged = merge_workloads(parts);
  return out;
}

void fill_stats(trace_replay& r, const trace_replay_options& o, const window& win) {
  const double seconds = std::floor((win.end - win.start) / o.time_scale);
  std::vector<std::vector<double>> per_model(o.models.size());
  for (size_t j = 0; j < r.merged.size(); ++j)
    per_model[r.merged.model[j]].push_back(r.merged.arrivals[j]);
  for (size_t m = 0; m < o.models.size(); ++m) {
    auto& stats = r.models[m];
    const auto& a = per_model[m];
    stats.count = a.size();
    if (a.size() < 2) continue;
    stats.rate = seconds > 0.0 ? static_cast<double>(a.size()) / seconds : 0.0;
    double mean = 0.0, m2 = 0.0;
    for (size_t i = 1; i < a.size(); ++i) {
      const double gap = a[i] - a[i - 1];
      const double delta = gap - mean;
      mean += delta / static_cast<double>(i);
      m2 += delta * (gap - mean);
    }
    stats.cv = std::sqrt(m2 / static_cast<double>(a.size() - 1)) / (mean + 1e-5);
  }
}

void log_replay(const char* trace, const trace_replay& r) {
  for (const auto& m : r.models) {
    spdlog::debug("{} replay: model {}: {} arrivals, rate {:.4g}/s, cv {:.3g}", trace, m.model,
                  m.count, m.rate, m.cv);
  }
}

}  // namespace

void check_replay_options(const trace_replay_options& options, bool azure_v2) {
  validate_options_impl(options, azure_v2);
  (void)parse_window(options);
}

// ---- time strings and option names
// ---------------------------------------------------------------

double parse_trace_time(const std::string& dhm) {
  std::vector<std::string_view> parts;
  split_fields(dhm, '.', parts);
  int64_t v[3];
  if (parts.size() != 3 || !parse_int64(parts[0], v[0]) || !parse_int64(parts[1], v[1]) ||
      !parse_int64(parts[2], v[2])) {
    throw std::invalid_argument(
        fmt::format("time '{}' is not 'day.hour.minute' (e.g. 0.0.0 or 13.23.60)", dhm));
  }
  if (v[0] < 0 || v[0] >= azure_trace_days) {
    throw std::invalid_argument(fmt::format("time '{}': day must be in 0..13", dhm));
  }
  if (v[1] < 0 || v[1] >= 24) {
    throw std::invalid_argument(fmt::format("time '{}': hour must be in 0..23", dhm));
  }
  if (v[2] < 0 || v[2] > 60) {
    throw std::invalid_argument(fmt::format("time '{}': minute must be in 0..60", dhm));
  }
  return static_cast<double>(v[0] * 86400 + v[1] * 3600 + v[2] * 60);
}

model_mapping parse_model_mapping(const std::string& name) {
  if (name == "stripe") return model_mapping::stripe;
  if (name == "round_robin" || name == "round-robin") return model_mapping::round_robin;
  throw std::invalid_argument(
      fmt::format("model mapping '{}' is not one of stripe, round_robin", name));
}

arrival_fit parse_arrival_fit(const std::string& name) {
  if (name == "vanilla") return arrival_fit::vanilla;
  if (name == "exponential" || name == "poisson") return arrival_fit::exponential;
  if (name == "gamma") return arrival_fit::gamma;
  if (name == "pareto") return arrival_fit::pareto;
  throw std::invalid_argument(fmt::format(
      "arrival distribution '{}' is not one of vanilla, exponential, gamma, pareto", name));
}

const char* to_string(model_mapping m) noexcept {
  return m == model_mapping::stripe ? "stripe" : "round_robin";
}

const char* to_string(arrival_fit f) noexcept {
  switch (f) {
    case arrival_fit::vanilla:
      return "vanilla";
    case arrival_fit::exponential:
      return "exponential";
    case arrival_fit::gamma:
      return "gamma";
    case arrival_fit::pareto:
      return "pareto";
  }
  return "?";
}

// ---- readers ------------------------------------------------------------------------------------

azure_v1_trace read_azure_v1(const std::vector<std::string>& day_files, int first_minute,
                             int end_minute) {
  constexpr int total = azure_trace_days * minutes_per_day;
  if (first_minute < 0 || end_minute > total || first_minute >= end_minute) {
    throw std::invalid_argument(
        fmt::format("read_azure_v1: minute range [{}, {}) is not inside [0, {})", first_minute,
                    end_minute, total));
  }
  if (day_files.empty()) throw input_error("", "", "no azure_v1 day files given");
  std::map<int, std::string> by_day;
  for (const auto& f : day_files) {
    const int day = day_of_file(f);
    if (day < 1 || day > azure_trace_days) {
      throw input_error(f, "",
                        fmt::format("file name must end in dNN.csv with NN in 01..{} "
                                    "(e.g. {}01.csv)",
                                    azure_trace_days, v1_file_prefix));
    }
    if (!by_day.emplace(day, f).second) {
      throw input_error(f, "", fmt::format("day {} is also given by {}", day, by_day[day]));
    }
  }
  azure_v1_trace trace;
  trace.first_minute = first_minute;
  std::unordered_map<std::string, size_t> index_of;
  for (const auto& [day, file] : by_day) {
    const int day_start = (day - 1) * minutes_per_day;
    if (day_start + minutes_per_day <= first_minute || day_start >= end_minute) continue;
    spdlog::info("reading azure_v1 day {} from {}", day, file);
    read_v1_day(file, day, first_minute, end_minute, trace, index_of);
  }
  return trace;
}

azure_v1_trace read_azure_v1_dir(const std::string& dir, int first_minute, int end_minute) {
  std::error_code ec;
  if (fs::is_regular_file(dir, ec)) return read_azure_v1({dir}, first_minute, end_minute);
  if (!fs::is_directory(dir, ec)) throw input_error(dir, "", "no such file or directory");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(v1_file_prefix, 0) == 0 && day_of_file(name) >= 1) {
      files.push_back(entry.path().string());
    }
  }
  if (files.empty()) {
    throw input_error(dir, "", fmt::format("no {}NN.csv files in this directory", v1_file_prefix));
  }
  return read_azure_v1(files, first_minute, end_minute);
}

azure_v2_trace read_azure_v2(const std::string& path_or_dir) {
  std::string path = path_or_dir;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path = (fs::path(path) / v2_file_name).string();
  const std::string text = read_text_file(path);
  line_cursor lines(text);
  std::string_view line;
  if (!lines.next(line)) throw input_error(path, "", "empty file: no header");
  std::vector<std::string_view> fields;
  split_fields(line, ',', fields);
  const size_t columns = fields.size();
  const int func_col = column_of(fields, "func");
  const int end_col = column_of(fields, "end_timestamp");
  const int duration_col = column_of(fields, "duration");
  for (auto [col, name] : {std::pair{func_col, "func"}, std::pair{end_col, "end_timestamp"},
                           std::pair{duration_col, "duration"}}) {
    if (col < 0) {
      throw input_error(path, "line 1",
                        fmt::format("header has no '{}' column (expected app,func,end_timestamp,"
                                    "duration)",
                                    name));
    }
  }
  azure_v2_trace trace;
  std::unordered_map<std::string, size_t> index_of;
  while (lines.next(line)) {
    if (trim(line).empty()) continue;
    split_fields(line, ',', fields);
    if (fields.size() != columns) {
      throw input_error(path, lines.where(),
                        fmt::format("expected {} columns, found {}", columns, fields.size()));
    }
    double end, duration;
    if (!parse_double(fields[end_col], end) || !std::isfinite(end)) {
      throw input_error(path, lines.where(),
                        fmt::format("end_timestamp '{}' is not a number", trim(fields[end_col])));
    }
    if (!parse_double(fields[duration_col], duration) || !std::isfinite(duration) ||
        duration < 0.0) {
      throw input_error(
          path, lines.where(),
          fmt::format("duration '{}' is not a number >= 0", trim(fields[duration_col])));
    }
    const std::string name(trim(fields[func_col]));
    if (name.empty()) throw input_error(path, lines.where(), "empty func");
    auto [it, inserted] = index_of.emplace(name, trace.functions.size());
    if (inserted) {
      trace.functions.push_back(name);
      trace.start_times.emplace_back();
    }
    trace.start_times[it->second].push_back(end - duration);
  }
  for (auto& times : trace.start_times) std::sort(times.begin(), times.end());
  return trace;
}

// ---- replay -------------------------------------------------------------------------------------

trace_replay replay_azure_v1(const azure_v1_trace& trace, const trace_replay_options& o) {
  validate_options_impl(o, false);
  const window win = parse_window(o);
  const int start_slot = static_cast<int>(win.start / 60.0);
  const int end_slot = static_cast<int>(win.end / 60.0);
  const int loaded_end =
      trace.first_minute + static_cast<int>(trace.counts.empty() ? 0 : trace.counts[0].size());
  if (!trace.counts.empty() && (start_slot < trace.first_minute || end_slot > loaded_end)) {
    throw std::invalid_argument(fmt::format(
        "window {}-{} (minutes {}..{}) is outside the loaded minutes {}..{}", o.start_time,
        o.end_time, start_slot, end_slot, trace.first_minute, loaded_end));
  }
  const size_t window_minutes = static_cast<size_t>(end_slot - start_slot);

  // Steps 2-3: slice, drop functions without invocations.
  std::vector<size_t> live;
  for (size_t f = 0; f < trace.functions.size(); ++f) {
    const auto* c = trace.counts[f].data() + (start_slot - trace.first_minute);
    int64_t sum = 0;
    for (size_t i = 0; i < window_minutes; ++i) sum += c[i];
    if (sum > 0) live.push_back(f);
  }
  // Step 4: map and add up per-minute histograms per model.
  const auto model_of = map_functions(live.size(), o);
  std::vector<std::vector<int64_t>> histogram(o.models.size(),
                                              std::vector<int64_t>(window_minutes, 0));
  for (size_t i = 0; i < live.size(); ++i) {
    const auto* c = trace.counts[live[i]].data() + (start_slot - trace.first_minute);
    auto& h = histogram[model_of[i]];
    for (size_t t = 0; t < window_minutes; ++t) h[t] += c[t];
  }
  // Steps 6-7: re-bucket into intervals and fit (rate from the count; CV set to cv_scale).
  const auto per_interval = static_cast<size_t>(o.interval_seconds / 60.0);
  const size_t n_intervals = (window_minutes + per_interval - 1) / per_interval;
  std::vector<std::vector<fitted_interval>> fits(o.models.size());
  for (size_t m = 0; m < o.models.size(); ++m) {
    for (size_t i = 0; i < n_intervals; ++i) {
      int64_t count = 0;
      for (size_t t = i * per_interval; t < std::min(window_minutes, (i + 1) * per_interval); ++t) {
        count += histogram[m][t];
      }
      fitted_interval fit;
      fit.start = win.start + static_cast<double>(i) * o.interval_seconds;
      if (count > 0) {
        const double rate = static_cast<double>(count) / o.interval_seconds * o.rate_scale;
        if (o.distribution == arrival_fit::exponential) {
          fit.process = std::make_shared<poisson_process>(rate);
        } else {
          fit.process = std::make_shared<gamma_process>(rate, o.cv_scale);
        }
      }
      fits[m].push_back(std::move(fit));
    }
  }
  trace_replay r = generate_replay(std::move(fits), o);
  fill_stats(r, o, win);
  log_replay("azure_v1", r);
  return r;
}

trace_replay replay_azure_v2(const azure_v2_trace& trace, const trace_replay_options& o) {
  validate_options_impl(o, true);
  const window win = parse_window(o);

  // Steps 2-4: slice [start, end), drop empty functions, map, concatenate and sort per model.
  std::vector<std::pair<const double*, const double*>> live;
  for (const auto& times : trace.start_times) {
    const auto first = std::lower_bound(times.begin(), times.end(), win.start);
    const auto last = std::lower_bound(first, times.end(), win.end);
    if (first != last) live.emplace_back(&*first, &*first + (last - first));
  }
  const auto model_of = map_functions(live.size(), o);
  std::vector<std::vector<double>> arrivals(o.models.size());
  for (size_t i = 0; i < live.size(); ++i) {
    auto& a = arrivals[model_of[i]];
    a.insert(a.end(), live[i].first, live[i].second);
  }
  for (auto& a : arrivals) std::sort(a.begin(), a.end());

  // Step 5: vanilla replays the real start times (replicated, time-compressed).
  if (o.distribution == arrival_fit::vanilla) {
    std::vector<workload> parts;
    trace_replay r;
    for (size_t m = 0; m < o.models.size(); ++m) {
      workload part;
      part.model_names = {o.models[m]};
      part.arrivals.reserve(arrivals[m].size() * static_cast<size_t>(o.replication));
      for (double t : arrivals[m]) {
        const double scaled = (t - win.start) / o.time_scale + win.start;
        for (int k = 0; k < o.replication; ++k) part.arrivals.push_back(scaled);
      }
      part.model.assign(part.arrivals.size(), 0);
      parts.push_back(std::move(part));
      r.models.push_back(model_replay{o.models[m], {}, 0, 0.0, 0.0});
    }
    r.merged = merge_workloads(parts);
    fill_stats(r, o, win);
    log_replay("azure_v2", r);
    return r;
  }

  // Step 6: interval edges arange(start, end, interval) + [end].
  std::vector<double> edges;
  const auto n_edges = static_cast<size_t>(std::ceil((win.end - win.start) / o.interval_seconds));
  for (size_t i = 0; i < n_edges; ++i) {
    edges.push_back(win.start + static_cast<double>(i) * o.interval_seconds);
  }
  if (edges.empty() || edges.back() != win.end) edges.push_back(win.end);

  // Step 7: fit each (model, interval).
  std::vector<std::vector<fitted_interval>> fits(o.models.size());
  std::vector<double> gaps;
  for (size_t m = 0; m < o.models.size(); ++m) {
    const auto& a = arrivals[m];
    std::vector<std::shared_ptr<const arrival_process>> processes;
    for (size_t i = 0; i + 1 < edges.size(); ++i) {
      const auto first = std::lower_bound(a.begin(), a.end(), edges[i]);
      const auto last = std::lower_bound(first, a.end(), edges[i + 1]);
      const auto count = static_cast<size_t>(last - first);
      const double empirical_rate = static_cast<double>(count) / o.interval_seconds;
      gaps.clear();
      for (auto it = first; it != last && it + 1 != last; ++it)
        gaps.push_back(*(it + 1) - *it + 1e-6);
      if (gaps.empty() || (gaps.size() == 1 && o.distribution == arrival_fit::gamma)) {
        processes.push_back(nullptr);
        continue;
      }
      if (o.distribution == arrival_fit::exponential) {
        const auto scale = fit_exponential_scale(gaps);
        if (!scale) {
          processes.push_back(nullptr);
          continue;
        }
        double rate = 1.0 / *scale;
        if (rate > 5.0 * empirical_rate) rate = empirical_rate;  // fit far off: trust the count
        processes.push_back(std::make_shared<poisson_process>(rate * o.rate_scale));
      } else if (o.distribution == arrival_fit::gamma) {
        const auto fit = fit_gamma(gaps);
        if (!fit) {
          processes.push_back(nullptr);
          continue;
        }
        const double cv = std::sqrt(1.0 / fit->shape);
        double rate = 1.0 / (fit->shape * fit->scale);
        if (rate > 5.0 * empirical_rate) rate = empirical_rate;
        processes.push_back(std::make_shared<gamma_process>(rate * o.rate_scale, cv * o.cv_scale));
      } else {  // pareto: gaps + 1, shape with loc 0 and scale 1; no rate or cv scaling
        for (double& g : gaps) g += 1.0;
        const auto shape = fit_pareto_shape(gaps);
        if (!shape) continue;  // the reference skips the interval: later ones shift left
        processes.push_back(std::make_shared<pareto_process>(*shape, 1.0, 0.0));
      }
    }
    for (size_t i = 0; i < processes.size(); ++i) {
      fitted_interval fit;
      fit.start = win.start + static_cast<double>(i) * o.interval_seconds;
      fit.process = std::move(processes[i]);
      fits[m].push_back(std::move(fit));
    }
  }
  trace_replay r = generate_replay(std::move(fits), o);
  fill_stats(r, o, win);
  log_replay("azure_v2", r);
  return r;
}

}  // namespace alpaserve::planner
