#pragma once
// Trace CSV files: one request per line, header `arrival_s,model` (docs/workloads.md).
//
//   arrival_s,model
//   0.0132,bert-1.3b-0
//   0.25,m1
//
// arrival_s: seconds (any decimal or exponent form, finite, >= 0); model: a name without commas,
// quotes or line breaks. Blank lines and lines starting with '#' are skipped; CRLF is accepted.
// Lines need not be sorted: the reader sorts stably by arrival (equal times keep file order).
// Model indices are assigned in order of first appearance.

#include <string>

#include "planner/workload/workload.hpp"

namespace alpaserve::planner {

// Throws input_error(path, "line N", problem) for a missing/wrong header, a bad or negative or
// non-finite number, a missing or empty model name, extra columns; input_error(path, "", ...)
// when the file cannot be read.
[[nodiscard]] workload read_workload_csv(const std::string& path);

// Writes arrivals with the shortest representation that reads back to the same double.
// Throws std::invalid_argument for a model name that cannot be written (empty, ',', '"', line
// break) or an inconsistent workload; std::runtime_error when the file cannot be written.
void write_workload_csv(const workload& w, const std::string& path);

}  // namespace alpaserve::planner
