#pragma once
// The error every reader of user files throws: it names the file, the place (line or key) and the
// problem, so the CLI can print one clear line and exit with code 2.

#include <stdexcept>
#include <string>

namespace alpaserve::planner {

class input_error : public std::runtime_error {
 public:
  // where: "line 12", "key groups[1].op", or empty when the whole file is at fault.
  input_error(std::string file, std::string where, std::string problem);

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] const std::string& where() const noexcept { return where_; }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

 private:
  std::string file_;
  std::string where_;
  std::string problem_;
};

// Exit code for bad user input (files, flags); 1 is left for runtime failures.
inline constexpr int exit_bad_input = 2;

}  // namespace alpaserve::planner
