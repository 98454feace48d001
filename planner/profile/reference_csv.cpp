// The reference's tab-separated profiling results (update_from_csv), declared in profile_io.hpp.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "planner/core/input_error.hpp"
#include "planner/profile/profile_io.hpp"

namespace alpaserve::planner {

namespace {

const std::vector<std::string> columns = {"ModelName",
                                          "BS",
                                          "#Microbatch",
                                          "DP",
                                          "OP",
                                          "PP",
                                          "#GPU",
                                          "MeanTime(s)",
                                          "StdTime(s)",
                                          "TFLOPs",
                                          "StageWeights(B)",
                                          "StagePeakMem(B)",
                                          "StageLatencies(s)"};
enum column_id {
  model_name,
  bs,
  microbatch,
  dp,
  op,
  pp,
  gpus,
  mean,
  std_time,
  tflops,
  weights,
  peak_mem,
  latencies
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \r\n\t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \r\n\t");
  return s.substr(b, e - b + 1);
}

class row_reader {
 public:
  row_reader(const std::string& file, int line) : file_(file), line_(line) {}

  [[noreturn]] void fail(const std::string& column, const std::string& problem) const {
    throw input_error(
        file_, "line " + std::to_string(line_) + (column.empty() ? "" : ", column " + column),
        problem);
  }

  double number(const std::string& text, const std::string& column) const {
    const std::string t = trim(text);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v))
      fail(column, "expected a number, found \"" + t + "\"");
    return v;
  }

  int positive_int(const std::string& text, const std::string& column) const {
    const double v = number(text, column);
    if (v < 1 || v != std::floor(v) || v > 1e6)
      fail(column, "expected a positive integer, found \"" + trim(text) + "\"");
    return static_cast<int>(v);
  }

  // "[a,b,...]" with exactly `count` non-negative entries.
  std::vector<double> list(const std::string& text, const std::string& column, int count) const {
    const std::string t = trim(text);
    if (t.size() < 2 || t.front() != '[' || t.back() != ']')
      fail(column, "expected a list like [a,b], found \"" + t + "\"");
    std::vector<double> out;
    for (const auto& item : split(t.substr(1, t.size() - 2), ',')) {
      const double v = number(item, column);
      if (v < 0) fail(column, "negative value " + trim(item));
      out.push_back(v);
    }
    if (static_cast<int>(out.size()) != count)
      fail(column,
           "has " + std::to_string(out.size()) + " entries but PP is " + std::to_string(count));
    return out;
  }

 private:
  const std::string& file_;
  int line_;
};

}  // namespace

reference_csv_import parse_reference_csv(const std::string& text, const std::string& file_name,
                                         profile_db& into) {
  const auto lines = split(text, '\n');
  // Column order: from the header when there is one (the reference adds it when the first line
  // does not start with 'M'), else the reference's order. index[c] = -1: column absent (only
  // StagePeakMem(B) may be: profiles without activation memory).
  std::vector<int> index(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) index[i] = static_cast<int>(i);
  size_t first_data = 0;
  size_t num_fields = columns.size();
  if (!lines.empty() && !lines[0].empty() && lines[0][0] == 'M') {
    const auto header = split(trim(lines[0]), '\t');
    for (size_t i = 0; i < columns.size(); ++i) {
      auto it = std::find_if(header.begin(), header.end(),
                             [&](const std::string& h) { return trim(h) == columns[i]; });
      if (it == header.end() && i == peak_mem) {
        index[i] = -1;
        continue;
      }
      if (it == header.end())
        throw input_error(file_name, "line 1", "header lacks column " + columns[i]);
      index[i] = static_cast<int>(it - header.begin());
    }
    num_fields = header.size();
    first_data = 1;
  }

  reference_csv_import report;

  for (size_t n = first_data; n < lines.size(); ++n) {
    if (trim(lines[n]).empty()) continue;
    const int line = static_cast<int>(n) + 1;
    const row_reader r(file_name, line);
    std::string row = lines[n];
    if (!row.empty() && row.back() == '\r') row.pop_back();
    const auto fields = split(row, '\t');
    if (first_data == 0 && fields.size() + 1 == columns.size() && index[peak_mem] >= 0) {
      // No header and one field short: the reference's order without StagePeakMem(B).
      index[peak_mem] = -1;
      for (size_t i = peak_mem + 1; i < columns.size(); ++i) index[i] = static_cast<int>(i) - 1;
      num_fields = fields.size();
    }
    if (fields.size() != num_fields)
      r.fail("", "expected " + std::to_string(num_fields) + " tab-separated fields, found " +
                     std::to_string(fields.size()));
    auto field = [&](column_id c) { return fields[index[c]]; };
    const std::string name = trim(field(model_name));
    if (name.empty()) r.fail(columns[model_name], "empty model name");
    const int batch = r.positive_int(field(bs), columns[bs]);
    parallel_config pc;
    pc.dp = r.positive_int(field(dp), columns[dp]);
    pc.op = r.positive_int(field(op), columns[op]);
    pc.pp = r.positive_int(field(pp), columns[pp]);
    if (r.positive_int(field(gpus), columns[gpus]) != pc.num_devices())
      r.fail(columns[gpus], "is not DP*OP*PP = " + std::to_string(pc.num_devices()));
    const auto weight = r.list(field(weights), columns[weights], pc.pp);
    const auto latency = r.list(field(latencies), columns[latencies], pc.pp);
    // Activation memory: peak - weight per stage, > 0 as the reference asserts; none at all
    // (empty act) when the column is absent or empty, or says "TODO" as the reference's
    // synthetic profiles do.
    std::vector<double> act;
    const std::string peak_text = index[peak_mem] >= 0 ? trim(field(peak_mem)) : "";
    if (!peak_text.empty() && peak_text != "TODO" && peak_text != "[]") {
      const auto peak = r.list(peak_text, columns[peak_mem], pc.pp);
      act.resize(pc.pp);
      for (int s = 0; s < pc.pp; ++s) {
        act[s] = peak[s] - weight[s];
        if (!(act[s] > 0))
          r.fail(columns[peak_mem], "stage " + std::to_string(s) +
                                        ": peak memory must exceed the stage weights (act_mem = "
                                        "peak - weight must be > 0)");
      }
    }
    ++report.rows;
    if (act.empty()) ++report.rows_without_act_mem;
    model_profile profile;
    if (const model_profile* old = into.find(name)) profile = *old;
    profile.name = name;
    profile.configs[pc].add_result(batch, latency, weight, act);
    into.add(std::move(profile));
  }
  return report;
}

}  // namespace alpaserve::planner
