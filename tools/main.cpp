// alpaserve: one binary, one subcommand per file (see command_registry.hpp).

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "planner/core/input_error.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
std::vector<command_entry>& command_table() {
  static std::vector<command_entry> table;
  return table;
}

namespace {
// The first word that is not a top-level option must name a subcommand. Checked before CLI11
// parses: it would print the main help and exit 0 for `alpaserve typo --help`.
bool known_subcommand_or_none(int argc, char** argv, const std::vector<command_entry>& table) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--log-level") {
      ++i;  // its value
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    for (const auto& e : table)
      if (e.name == a) return true;
    std::cerr << "alpaserve: unknown subcommand '" << a << "'; run alpaserve --help for the list\n";
    return false;
  }
  return true;
}
}  // namespace
}  // namespace alpaserve::tools

int main(int argc, char** argv) {
  using namespace alpaserve;
  CLI::App app{"alpaserve: serve many deep-learning models on a shared cluster under latency SLOs"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.set_version_flag("--version", "alpaserve 0.1.0");

  tools::run_fn run;
  auto& table = tools::command_table();
  std::sort(table.begin(), table.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& entry : table) entry.add(app, run);
  if (!tools::known_subcommand_or_none(argc, argv, table)) return planner::exit_bad_input;

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : planner::exit_bad_input;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (!run) return 0;
  try {
    return run();
  } catch (const planner::input_error& e) {
    spdlog::error("{}", e.what());
    return planner::exit_bad_input;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
