// Workload layer throughput, single thread:
//   1. 10M Gamma arrivals: 8 models (m0..m7), power-law rates (exponent 0.5) summing to
//      1000 req/s, CV 2, 10,000 s, seeds 0..7 -> ~10M requests. Timed twice: the arrival
//      streams alone, and gamma_workload (streams + k-way merge into one workload).
//   2. Trace CSV write and read of the first 1M requests of that workload (--csv-requests N).
// Prints wall and CPU seconds, requests/s (by wall time) and the peak RSS (getrusage).
//
//   build/bin/bench_workload [--csv-requests N] [--dir DIR]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>

#include "planner/workload/workload_gen.hpp"
#include "planner/workload/workload_io.hpp"

using namespace alpaserve::planner;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Process CPU seconds: on a shared machine wall time includes waiting for a core.
double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  size_t csv_requests = 1'000'000;
  std::string dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--csv-requests") == 0)
      csv_requests = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
  }

  const size_t n_models = 8;
  const double total_rate = 1000.0, cv = 2.0, duration = 10000.0;
  const auto names = default_model_names(n_models);
  const auto rates = power_law_rates(n_models, total_rate);
  std::printf("mix: %zu models, power-law rates %.1f..%.1f req/s (total %.0f), CV %.1f, %.0f s\n",
              n_models, rates.front(), rates.back(), total_rate, cv, duration);

  double t0 = now_s(), c0 = cpu_s();
  size_t streamed = 0;
  for (size_t i = 0; i < n_models; ++i) {
    streamed += gamma_process(rates[i], cv).generate_arrivals(0.0, duration, i).size();
  }
  const double stream_s = now_s() - t0, stream_cpu = cpu_s() - c0;
  std::printf("gamma streams only : %zu arrivals in %.3f s wall, %.3f s CPU (%.1f M/s)\n", streamed,
              stream_s, stream_cpu, streamed / stream_s / 1e6);

  t0 = now_s();
  c0 = cpu_s();
  workload w = gamma_workload(names, rates, cv, duration, 0);
  const double gen_s = now_s() - t0, gen_cpu = cpu_s() - c0;
  std::printf(
      "gamma_workload     : %zu requests in %.3f s wall, %.3f s CPU (%.1f M/s), peak RSS %.0f "
      "MiB\n",
      w.size(), gen_s, gen_cpu, w.size() / gen_s / 1e6, peak_rss_mib());

  workload head;
  head.model_names = w.model_names;
  const size_t n = std::min(csv_requests, w.size());
  head.arrivals.assign(w.arrivals.begin(), w.arrivals.begin() + n);
  head.model.assign(w.model.begin(), w.model.begin() + n);
  w = workload{};  // release the 10M before the CSV steps

  const std::string path = (std::filesystem::path(dir) / "bench_workload.csv").string();
  t0 = now_s();
  c0 = cpu_s();
  write_workload_csv(head, path);
  const double write_s = now_s() - t0, write_cpu = cpu_s() - c0;
  const auto bytes = std::filesystem::file_size(path);
  t0 = now_s();
  c0 = cpu_s();
  const workload back = read_workload_csv(path);
  const double read_s = now_s() - t0, read_cpu = cpu_s() - c0;
  std::filesystem::remove(path);
  if (back.arrivals != head.arrivals) {
    std::fprintf(stderr, "CSV round trip changed the arrivals\n");
    return 1;
  }
  std::printf("CSV write          : %zu requests (%.1f MiB) in %.3f s wall, %.3f s CPU\n", n,
              bytes / 1048576.0, write_s, write_cpu);
  std::printf("CSV read           : %zu requests in %.3f s wall, %.3f s CPU, peak RSS %.0f MiB\n",
              back.size(), read_s, read_cpu, peak_rss_mib());
  return 0;
}
