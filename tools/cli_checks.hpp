#pragma once
// CLI11 validators for numbers a user types: every subcommand rejects inf, NaN and out-of-range
// values with a message naming the option (exit 2), instead of looping on them or silently
// falling back to a default.

#include <cmath>
#include <string>

#include <CLI/CLI.hpp>

namespace alpaserve::tools {

// A finite number >= 0 (0 usually means "the default", e.g. the model's SLO).
inline const CLI::Validator finite_non_negative{[](std::string& s) -> std::string {
                                                  double v = 0;
                                                  if (!CLI::detail::lexical_cast(s, v))
                                                    return "not a number: " + s;
                                                  if (!std::isfinite(v))
                                                    return "must be a finite number, got " + s;
                                                  if (v < 0) return "must be >= 0, got " + s;
                                                  return {};
                                                },
                                                "FINITE>=0"};

// A finite number > 0 (rates, durations, timeouts).
inline const CLI::Validator finite_positive{[](std::string& s) -> std::string {
                                              double v = 0;
                                              if (!CLI::detail::lexical_cast(s, v))
                                                return "not a number: " + s;
                                              if (!std::isfinite(v))
                                                return "must be a finite number, got " + s;
                                              if (v <= 0) return "must be > 0, got " + s;
                                              return {};
                                            },
                                            "FINITE>0"};

// An integer >= 1 (counts).
inline const CLI::Validator at_least_one{[](std::string& s) -> std::string {
                                           long long v = 0;
                                           if (!CLI::detail::lexical_cast(s, v))
                                             return "not an integer: " + s;
                                           if (v < 1) return "must be >= 1, got " + s;
                                           return {};
                                         },
                                         "INT>=1"};

}  // namespace alpaserve::tools
