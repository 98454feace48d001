#include "planner/core/input_error.hpp"

namespace alpaserve::planner {

namespace {
std::string format_input_error(const std::string& file, const std::string& where,
                               const std::string& problem) {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (!where.empty()) out += ": " + where;
  out += ": " + problem;
  return out;
}
}  // namespace

input_error::input_error(std::string file, std::string where, std::string problem)
    : std::runtime_error(format_input_error(file, where, problem)),
      file_(std::move(file)),
      where_(std::move(where)),
      problem_(std::move(problem)) {}

}  // namespace alpaserve::planner
