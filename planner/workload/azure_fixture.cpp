#include "planner/workload/azure_fixture.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "planner/workload/arrival_process.hpp"

namespace alpaserve::planner {

namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write fixture file", path.string()));
}

std::string v1_header() {
  std::string h = "HashOwner,HashApp,HashFunction,Trigger";
  for (int m = 1; m <= 1440; ++m) h += fmt::format(",{}", m);
  return h + "\n";
}

std::string v1_row(const std::string& function, const std::function<int(int)>& count) {
  std::string row = fmt::format("owner0,app_{},{},http", function, function);
  for (int m = 0; m < 1440; ++m) row += fmt::format(",{}", count(m));
  return row + "\n";
}

}  // namespace

azure_fixture write_azure_fixture(const std::string& dir, uint64_t seed) {
  fs::create_directories(dir);
  azure_fixture out;

  std::string d01 = v1_header();
  d01 += v1_row("f_steady", [](int m) { return m < 120 ? 10 : 0; });
  d01 += v1_row("f_burst", [](int m) { return m == 5 ? 100 : (m == 61 ? 50 : 0); });
  d01 += v1_row("f_zero", [](int) { return 0; });
  d01 += v1_row("f_ramp", [](int m) { return m < 60 ? m : 0; });
  d01 += v1_row("f_rand", [](int m) { return m < 180 ? 1 + (7 * m) % 5 : 0; });
  std::string d03 = v1_header();
  d03 += v1_row("f_steady", [](int m) { return m < 60 ? 3 : 0; });
  d03 += v1_row("f_zero", [](int) { return 0; });
  d03 += v1_row("f_late", [](int m) { return m < 60 ? 7 : 0; });
  d03 += v1_row("f_burst", [](int) { return 0; });
  for (const auto& [day, text] : {std::pair{1, &d01}, std::pair{3, &d03}}) {
    const fs::path path =
        fs::path(dir) / fmt::format("invocations_per_function_md.anon.d{:02}.csv", day);
    write_file(path, *text);
    out.v1_files.push_back(path.string());
  }

  struct function_times {
    std::string name;
    std::vector<double> starts;
  };
  std::vector<function_times> functions = {
      {"g_gamma", gamma_process(2.0, 2.0).generate_arrivals(0.0, 7200.0, seed)},
      {"g_poisson", poisson_process(1.0).generate_arrivals(0.0, 7200.0, seed + 1)},
      {"g_sparse", {100.0, 200.5, 4000.0}},
      {"g_single", {50.0}},
      {"g_outside", {86410.0, 86420.0}},
  };
  std::string v2 = "app,func,end_timestamp,duration\n";
  for (const auto& f : functions) {
    for (size_t k = f.starts.size(); k-- > 0;) {
      const double duration = 0.25 * static_cast<double>(k % 4);
      v2 += fmt::format("app_{},{},{},{}\n", f.name, f.name, f.starts[k] + duration, duration);
    }
  }
  const fs::path v2_path = fs::path(dir) / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt";
  write_file(v2_path, v2);
  out.v2_file = v2_path.string();
  return out;
}

}  // namespace alpaserve::planner
