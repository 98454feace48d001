#pragma once
// Starts alpaserve node processes (the real binary) from a generated config on 127.0.0.1 and
// stops them at scope exit; used by the real-execution cluster tests.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace alpaserve::testing {

// A free TCP port on 127.0.0.1 (bound then released; good enough on a test machine).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline std::string alpaserve_binary() {
  return std::string(ALPASERVE_BINARY_DIR) + "/bin/alpaserve";
}

class temp_dir {
 public:
  temp_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "alpaserve-real.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs `alpaserve node --config C --name N [--placement P]` for each name; kills them on exit.
class node_processes {
 public:
  node_processes(const std::string& config, const std::vector<std::string>& names,
                 const std::string& placement, const temp_dir& dir) {
    for (const auto& n : names) {
      std::vector<std::string> args = {alpaserve_binary(), "node", "--config",          config,
                                       "--name",           n,      "--startup-timeout", "60"};
      if (!placement.empty()) {
        args.push_back("--placement");
        args.push_back(placement);
      }
      logs_.push_back(dir.file(n + ".log"));
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, logs_.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_t pid = 0;
      const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
      pids_.push_back(pid);
    }
  }
  ~node_processes() {
    for (pid_t p : pids_) ::kill(p, SIGTERM);
    for (pid_t p : pids_) {
      int status = 0;
      for (int i = 0; i < 50 && ::waitpid(p, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (::waitpid(p, &status, WNOHANG) == 0) {
        ::kill(p, SIGKILL);
        ::waitpid(p, &status, 0);
      }
    }
  }
  // Every node's log, for failure messages.
  [[nodiscard]] std::string logs() const {
    std::string out;
    for (const auto& l : logs_) {
      std::ifstream in(l);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string text = ss.str();
      if (text.size() > 3000) text = "..." + text.substr(text.size() - 3000);
      out += "--- " + l + "\n" + text;
    }
    return out;
  }

 private:
  std::vector<pid_t> pids_;
  std::vector<std::string> logs_;
};

}  // namespace alpaserve::testing
