#pragma once
// A fresh temporary folder per test, removed afterwards.

#include <filesystem>
#include <string>

#include <unistd.h>

namespace alpaserve::tests {

class temp_dir {
 public:
  explicit temp_dir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() /
            ("alpaserve-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  [[nodiscard]] std::string path() const { return path_.string(); }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace alpaserve::tests
