#pragma once
// Small pieces shared by the readers of line-oriented text files (trace CSVs, Azure traces):
// whole-file loading, line iteration with 1-based numbers, field splitting and number parsing
// without iostreams (10M-line files must read in seconds).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace alpaserve::planner {

// The whole file; throws input_error(path, "", "cannot open ...") when it cannot be read.
[[nodiscard]] std::string read_text_file(const std::string& path);

// Iterates the lines of a buffer; strips a trailing '\r' and a UTF-8 byte-order mark.
class line_cursor {
 public:
  explicit line_cursor(std::string_view text) noexcept;
  // Next line into `line`; false at the end of the text.
  bool next(std::string_view& line) noexcept;
  // 1-based number of the line last returned.
  [[nodiscard]] size_t line_number() const noexcept { return line_number_; }
  // "line N" for input_error.
  [[nodiscard]] std::string where() const;

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_number_ = 0;
};

// Splits on `sep` into `fields` (cleared first); no quoting.
void split_fields(std::string_view line, char sep, std::vector<std::string_view>& fields);

// Leading and trailing spaces and tabs removed.
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

// Whole-field parses (after trim); false on anything but a complete number.
[[nodiscard]] bool parse_double(std::string_view s, double& out) noexcept;
[[nodiscard]] bool parse_int64(std::string_view s, int64_t& out) noexcept;

}  // namespace alpaserve::planner
