#pragma once
// A fresh directory under the build tree for one test's files (removed and recreated).

#include <filesystem>
#include <fstream>
#include <string>

namespace alpaserve::testing {

inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  const auto dir = std::filesystem::path(ALPASERVE_BINARY_DIR) / "test_tmp" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

}  // namespace alpaserve::testing
