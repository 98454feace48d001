#include "tools/expected_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "net/tensor_wire.hpp"
#include "planner/core/input_error.hpp"

namespace alpaserve::tools {

namespace {

void flatten(const nlohmann::json& j, std::vector<double>& out) {
  if (j.is_number()) {
    out.push_back(j.get<double>());
  } else if (j.is_array()) {
    for (const auto& v : j) flatten(v, out);
  } else {
    throw std::invalid_argument("expected numbers or arrays of numbers");
  }
}

}  // namespace

void expected_outputs::add(const std::string& model_eq_file) {
  const auto eq = model_eq_file.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == model_eq_file.size())
    throw planner::input_error("--expect", model_eq_file, "must be MODEL=FILE");
  const std::string model = model_eq_file.substr(0, eq), file = model_eq_file.substr(eq + 1);
  std::ifstream in(file);
  if (!in) throw planner::input_error(file, "--expect", "cannot be read");
  std::vector<double> values;
  try {
    flatten(nlohmann::json::parse(in), values);
  } catch (const std::exception& e) {
    throw planner::input_error(file, "--expect",
                               std::string("not a JSON array of numbers: ") + e.what());
  }
  if (values.empty()) throw planner::input_error(file, "--expect", "holds no values");
  by_model[model] = std::move(values);
}

void output_check::check(const expected_outputs& e, const std::string& model, size_t index,
                         const std::string& result) {
  auto it = e.by_model.find(model);
  if (it == e.by_model.end()) return;
  ++checked;
  const auto& want = it->second;
  std::string problem;
  const auto t = net::decode_tensor(result, &problem);
  auto differs = [&](const std::string& why) {
    if (differing++ == 0) first_problem = fmt::format("request {} ({}): {}", index, model, why);
  };
  if (!t) return differs("result not decodable: " + problem);
  if (t->dtype != "f32") return differs("result of dtype " + t->dtype);
  if (t->data.size() != want.size() * 4)
    return differs(fmt::format("{} values, expected {}", t->data.size() / 4, want.size()));
  double scale = 1, err = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  for (size_t i = 0; i < want.size(); ++i) {
    float v;
    std::memcpy(&v, t->data.data() + 4 * i, 4);
    const double d = std::isfinite(v) ? std::abs(static_cast<double>(v) - want[i]) : INFINITY;
    err = std::max(err, d / scale);
  }
  max_error = std::max(max_error, err);
  if (err > e.tolerance)
    differs(fmt::format("max |served - expected| = {:.3g} x {:.3g}, over the tolerance {:g}", err,
                        scale, e.tolerance));
}

}  // namespace alpaserve::tools
