#include "planner/workload/workload_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "planner/core/input_error.hpp"
#include "planner/core/text_file.hpp"

namespace alpaserve::planner {

namespace {
constexpr std::string_view csv_header = "arrival_s,model";

bool skippable(std::string_view line) {
  line = trim(line);
  return line.empty() || line.front() == '#';
}
}  // namespace

workload read_workload_csv(const std::string& path) {
  const std::string text = read_text_file(path);
  line_cursor lines(text);
  std::string_view line;
  bool have_header = false;
  while (lines.next(line)) {
    if (skippable(line)) continue;
    if (trim(line) != csv_header) {
      throw input_error(
          path, lines.where(),
          fmt::format("expected the header '{}', got '{}'", csv_header, line.substr(0, 80)));
    }
    have_header = true;
    break;
  }
  if (!have_header)
    throw input_error(path, "", fmt::format("empty file: no '{}' header", csv_header));

  workload w;
  // One request per remaining line at most: reserve once.
  const auto lines_left = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  w.arrivals.reserve(lines_left);
  w.model.reserve(lines_left);
  std::unordered_map<std::string_view, int32_t> index_of;
  std::string_view last_name;  // most files repeat few names: skip the hash lookup when equal
  int32_t last_index = -1;
  bool sorted = true;
  while (lines.next(line)) {
    if (skippable(line)) continue;
    const size_t comma = line.find(',');
    if (comma == std::string_view::npos) {
      throw input_error(path, lines.where(), "expected 2 columns 'arrival_s,model', found 1");
    }
    const std::string_view number = line.substr(0, comma);
    const std::string_view name = trim(line.substr(comma + 1));
    double t;
    if (!parse_double(number, t)) {
      throw input_error(path, lines.where(),
                        fmt::format("arrival_s '{}' is not a number", trim(number)));
    }
    if (!std::isfinite(t) || t < 0.0) {
      throw input_error(path, lines.where(),
                        fmt::format("arrival_s must be finite and >= 0, got '{}'", trim(number)));
    }
    if (name.find(',') != std::string_view::npos) {
      throw input_error(path, lines.where(), "expected 2 columns 'arrival_s,model', found more");
    }
    if (name.empty()) throw input_error(path, lines.where(), "empty model name");
    if (name.find('"') != std::string_view::npos) {
      throw input_error(path, lines.where(), "model names may not contain quotes");
    }
    int32_t index = last_index;
    if (name != last_name || last_index < 0) {
      auto [it, inserted] = index_of.emplace(name, static_cast<int32_t>(w.model_names.size()));
      if (inserted) w.model_names.emplace_back(name);
      index = it->second;
      last_name = name;
      last_index = index;
    }
    if (!w.arrivals.empty() && t < w.arrivals.back()) sorted = false;
    w.arrivals.push_back(t);
    w.model.push_back(index);
  }
  if (!sorted) {
    std::vector<size_t> order(w.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return w.arrivals[a] < w.arrivals[b]; });
    workload s;
    s.model_names = std::move(w.model_names);
    s.arrivals.reserve(order.size());
    s.model.reserve(order.size());
    for (size_t j : order) {
      s.arrivals.push_back(w.arrivals[j]);
      s.model.push_back(w.model[j]);
    }
    return s;
  }
  return w;
}

void write_workload_csv(const workload& w, const std::string& path) {
  if (w.arrivals.size() != w.model.size()) {
    throw std::invalid_argument(fmt::format("write_workload_csv: {} arrivals but {} model ids",
                                            w.arrivals.size(), w.model.size()));
  }
  for (const auto& name : w.model_names) {
    if (name.empty() || name.find_first_of(",\"\r\n") != std::string::npos || trim(name) != name) {
      throw std::invalid_argument(fmt::format(
          "write_workload_csv: model name '{}' cannot be written (empty, or has a comma, quote, "
          "line break or surrounding spaces)",
          name));
    }
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) {
    throw std::runtime_error(
        fmt::format("{}: cannot open for writing: {}", path, std::strerror(errno)));
  }
  fmt::memory_buffer buffer;
  auto flush = [&] {
    if (std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size()) {
      throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
    }
    buffer.clear();
  };
  fmt::format_to(std::back_inserter(buffer), "{}\n", csv_header);
  for (size_t j = 0; j < w.size(); ++j) {
    const int32_t m = w.model[j];
    if (m < 0 || static_cast<size_t>(m) >= w.model_names.size()) {
      throw std::invalid_argument(fmt::format("write_workload_csv: request {} names model {} of {}",
                                              j, m, w.model_names.size()));
    }
    fmt::format_to(std::back_inserter(buffer), "{},{}\n", w.arrivals[j], w.model_names[m]);
    if (buffer.size() > (1 << 20)) flush();
  }
  flush();
  if (std::fflush(file.get()) != 0) {
    throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
  }
}

}  // namespace alpaserve::planner
