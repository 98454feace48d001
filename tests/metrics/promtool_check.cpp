// `promtool check metrics` (from Debian's prometheus package) on what a node serves at /metrics
// for a registry populated through runtime_metrics, with every family, label escaping and NaN.
// First a control: promtool must reject two known-bad inputs, or this check would prove nothing.
// Exit 0: passed; 1: failed; 77: promtool not installed (CTest: skipped). ALPASERVE_PROMTOOL
// overrides the promtool found on PATH.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <httplib.h>

#include "metrics/http_exporter.hpp"
#include "metrics/registry.hpp"
#include "metrics/runtime_metrics.hpp"
#include "metrics/text_exposition.hpp"

using namespace alpaserve::metrics;

namespace {

std::string find_promtool() {
  if (const char* env = std::getenv("ALPASERVE_PROMTOOL"); env && *env)
    return access(env, X_OK) == 0 ? env : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/promtool";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Runs `promtool check metrics < text`; returns its exit status, its output in *out.
int promtool_check(const std::string& promtool, const std::string& text, std::string* out) {
  char in_path[] = "/tmp/alpaserve_promtool_in_XXXXXX";
  const int fd = mkstemp(in_path);
  if (fd < 0) return -1;
  close(fd);
  const std::string out_path = std::string(in_path) + ".out";
  std::ofstream(in_path, std::ios::binary) << text;
  const std::string cmd =
      "'" + promtool + "' check metrics < '" + in_path + "' > '" + out_path + "' 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream f(out_path);
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  std::remove(in_path);
  std::remove(out_path.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int main() {
  const std::string promtool = find_promtool();
  if (promtool.empty()) {
    std::cout << "promtool not found (install the Debian package prometheus): skipped\n";
    return 77;
  }
  std::string out;
  for (const char* bad : {"# TYPE a counter\na 1\n", "a{ 1\n"}) {
    if (promtool_check(promtool, bad, &out) == 0) {
      std::cout << "FAIL: promtool accepted known-bad input:\n" << bad;
      return 1;
    }
  }

  registry reg;
  double now = 100;
  runtime_metrics_options opt;
  opt.clock = [&now] { return now; };
  runtime_metrics rm(reg, opt);
  const auto bert = rm.add_model("bert-1.3b", 0.5);
  const auto weird = rm.add_model("we\"ird\\model\nname", 1);
  rm.add_model("idle-model", 2);  // attainment NaN: no request in the window
  for (size_t i = 0; i < request_outcome_count; ++i)
    rm.on_request_done(bert, static_cast<request_outcome>(i), 0.01 * (i + 1), 0.001 * i);
  rm.on_request_done(weird, request_outcome::ok, 0.3, 0.1);
  rm.on_request_done("no-such-model", request_outcome::rejected_unknown_model, 0, 0);
  rm.on_stage_done(bert, 0, 0.02, 0.025);
  rm.on_stage_done(bert, 1, 0.03, 0.028);
  rm.on_batch(bert, 4);
  const auto dev = rm.device("worker-1/cuda:0");
  rm.set_device_busy_ratio(dev, 0.42);
  rm.set_loaded_weight_bytes(dev, 2.6e9);
  rm.set_group_generation(0, 3);
  rm.set_placement_generation(5);
  rm.on_replan();

  http_exporter ex(reg, {}, [] { return readiness{true, ""}; });
  const int port = ex.start();
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) {
    std::cout << "FAIL: GET /metrics on port " << port << " did not answer 200\n";
    return 1;
  }
  const std::string& text = res->body;
  if (text.find("alpaserve_requests_total{model=\"bert-1.3b\",outcome=\"ok\"} 1\n") ==
          std::string::npos ||
      text.find("alpaserve_slo_attainment_ratio{model=\"idle-model\"} NaN\n") ==
          std::string::npos) {
    std::cout << "FAIL: the served exposition lacks expected samples:\n" << text;
    return 1;
  }
  const int rc = promtool_check(promtool, text, &out);
  if (rc != 0) {
    std::cout << "FAIL: promtool check metrics exited " << rc << ":\n"
              << out << "\n--- exposition ---\n"
              << text;
    return 1;
  }
  std::cout << "promtool check metrics passed on " << text.size() << " bytes ("
            << std::count(text.begin(), text.end(), '\n') << " lines) from " << promtool << "\n";
  return 0;
}
