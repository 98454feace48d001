#pragma once
// Reading and writing the profile database (JSON, format in docs/profiles.md), and importing the
// reference's tab-separated profiling results (update_from_csv; ../shared/reference/alpaserve.md
// section 1.1). Every reader throws input_error naming the file and the JSON key path
// (e.g. `models[2].configs[1].latency."4"`) or the line.

#include <string>

#include "planner/profile/profile.hpp"

namespace alpaserve::planner {

[[nodiscard]] profile_db read_profile_db(const std::string& path);
// file_name only labels errors.
[[nodiscard]] profile_db parse_profile_db(const std::string& json_text,
                                          const std::string& file_name);
void write_profile_db(const profile_db& db, const std::string& path);
[[nodiscard]] std::string profile_db_to_json(const profile_db& db);

// The reference's profiling CSV (tab separated, columns ModelName BS #Microbatch DP OP PP #GPU
// MeanTime(s) StdTime(s) TFLOPs StageWeights(B) StagePeakMem(B) StageLatencies(s); the header
// line is optional). Rows merge with the reference's rule (config_profile::add_result).
// Rows without activation memory (no StagePeakMem(B) column, or an empty, "[]" or "TODO" field,
// as the reference's synthetic profiles) are imported without act_mem for that batch size; the
// caller decides whether to warn (docs/profiles.md).
struct reference_csv_import {
  size_t rows = 0;                  // data rows read
  size_t rows_without_act_mem = 0;  // of them, rows imported without activation memory
};
[[nodiscard]] profile_db import_reference_csv(const std::string& path);
reference_csv_import import_reference_csv(const std::string& path, profile_db& into);
reference_csv_import parse_reference_csv(const std::string& text, const std::string& file_name,
                                         profile_db& into);

}  // namespace alpaserve::planner
