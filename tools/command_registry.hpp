#pragma once
// Subcommands register themselves from their own file, so adding one touches no shared file:
//
//   static const alpaserve::tools::command_registration reg{"simulate", 20, &add_simulate};
//
// `add` receives the top-level CLI11 app, creates its subcommand and, in the subcommand's CLI11
// callback, stores into `run` the work to do. main() runs it after parsing, with logging set up,
// and turns input_error into exit code 2 and other exceptions into exit code 1.

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace alpaserve::tools {

using run_fn = std::function<int()>;
using add_command_fn = void (*)(CLI::App& app, run_fn& run);

struct command_entry {
  std::string name;
  int order;  // position in --help
  add_command_fn add;
};

std::vector<command_entry>& command_table();

struct command_registration {
  command_registration(std::string name, int order, add_command_fn add) {
    command_table().push_back({std::move(name), order, add});
  }
};

}  // namespace alpaserve::tools
