#include "metrics/text_exposition.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace alpaserve::metrics {

namespace {

// {a="x",b="y"} plus an optional extra label (histogram "le"); nothing when there are no labels.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const char* extra_name = nullptr,
                   const std::string& extra_value = {}) {
  if (names.empty() && !extra_name) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (extra_name) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integral values (counts, bytes, generations) as integers, as people read them; exact up to
  // 2^53. Everything else in the shortest form that reads back to the same double.
  if (std::fabs(v) < 9007199254740992.0 && v == std::trunc(v))
    return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

std::string to_text(const std::vector<family_snapshot>& families) {
  std::string out;
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += escape_help(f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += to_string(f.type);
    out += '\n';
    for (const auto& s : f.series) {
      if (f.type != metric_type::histogram) {
        out += f.name;
        append_labels(out, f.label_names, s.label_values);
        out += ' ';
        out += format_value(s.value);
        out += '\n';
        continue;
      }
      for (size_t i = 0; i < s.bucket_counts.size(); ++i) {
        const std::string le =
            i < f.bounds.size() ? format_value(f.bounds[i]) : std::string("+Inf");
        out += f.name;
        out += "_bucket";
        append_labels(out, f.label_names, s.label_values, "le", le);
        out += ' ';
        out += std::to_string(s.bucket_counts[i]);
        out += '\n';
      }
      out += f.name;
      out += "_sum";
      append_labels(out, f.label_names, s.label_values);
      out += ' ';
      out += format_value(s.sum);
      out += '\n';
      out += f.name;
      out += "_count";
      append_labels(out, f.label_names, s.label_values);
      out += ' ';
      out += std::to_string(s.bucket_counts.empty() ? 0 : s.bucket_counts.back());
      out += '\n';
    }
  }
  return out;
}

std::string to_text(const registry& r) {
  return to_text(r.collect());
}

}  // namespace alpaserve::metrics
