#pragma once
// A fresh directory under the build tree for one test's files (removed and recreated).
// The process id is part of the path: CTest runs test cases as parallel processes (-j), and two
// of them must never share (or delete) each other's files.

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace alpaserve::testing {

inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  const auto dir = std::filesystem::path(ALPASERVE_BINARY_DIR) / "test_tmp" /
                   (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

}  // namespace alpaserve::testing
