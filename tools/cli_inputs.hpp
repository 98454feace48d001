#pragma once
// Loading the planner's input files for CLI subcommands (simulate, plan, experiment), so every
// command accepts the same profile specs and reports bad input the same way (input_error).

#include <string>

#include "planner/profile/profile.hpp"

namespace alpaserve::tools {

// A profile database from a spec:
//   "zoo:v100", "zoo:a100", "zoo:h100"  the built-in calibrated model zoo for that device kind
//   "reference"                         the reference's hard-coded test profiles (bert-1.3b, ...)
//   anything else                       a profile database file (docs/profiles.md)
// Throws planner::input_error naming the spec or file for an unknown zoo device or a bad file.
[[nodiscard]] planner::profile_db load_profiles(const std::string& spec);

// Help text listing the accepted specs, for --help of every command that takes --profiles.
inline constexpr const char* profiles_spec_help =
    "profile database: a JSON file (docs/profiles.md), zoo:v100 | zoo:a100 | zoo:h100 (built-in "
    "model zoo), or reference (the reference's test profiles)";

}  // namespace alpaserve::tools
