#pragma once
// `bench --expect MODEL=FILE`: every ok reply of MODEL must carry the output in FILE (a JSON
// array of numbers, or of rows of numbers, as tests/integration/lib/model_numpy_ref.py writes
// it), within `tolerance` x max(1, max |expected|). bench sends one payload to every request,
// so each reply of a model must equal the same reference, whichever group, batch or generation
// served it.

#include <map>
#include <string>
#include <vector>

namespace alpaserve::tools {

struct expected_outputs {
  double tolerance = 2e-5;
  std::map<std::string, std::vector<double>> by_model;  // flattened, row-major

  // Parses "MODEL=FILE"; throws planner::input_error naming the file on a bad one.
  void add(const std::string& model_eq_file);
  [[nodiscard]] bool empty() const noexcept { return by_model.empty(); }
};

struct output_check {
  size_t checked = 0, differing = 0;
  double max_error = 0;  // max |served - expected| over the checked replies, in units of the scale
  std::string first_problem;  // the first differing reply, described
  // Checks one ok reply's result bytes (msgpack tensor wire) of `model` (request `index`).
  void check(const expected_outputs& e, const std::string& model, size_t index,
             const std::string& result);
};

}  // namespace alpaserve::tools
