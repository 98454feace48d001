#pragma once
// Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), written from registry
// snapshots. Deterministic: families sorted by name, series by label values, each family as
// "# HELP", "# TYPE" and its samples; a histogram as name_bucket{...,le="<bound>"} (cumulative,
// ending with le="+Inf"), name_sum and name_count. Integral numbers below 2^53 are written as
// integers, others in the shortest text that reads back to the same double; infinities are
// "+Inf"/"-Inf", NaN is "NaN".

#include <string>
#include <vector>

#include "metrics/registry.hpp"

namespace alpaserve::metrics {

// The HTTP Content-Type of this format.
inline constexpr const char* text_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Label value escaping: backslash, double quote and line feed become \\, \" and \n.
[[nodiscard]] std::string escape_label_value(const std::string& v);
// HELP text escaping: backslash and line feed become \\ and \n.
[[nodiscard]] std::string escape_help(const std::string& v);
// A sample value or bucket bound as Prometheus reads it.
[[nodiscard]] std::string format_value(double v);

[[nodiscard]] std::string to_text(const std::vector<family_snapshot>& families);
[[nodiscard]] std::string to_text(const registry& r);

}  // namespace alpaserve::metrics
