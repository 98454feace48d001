// `alpaserve version`: what was built, with which optional backends.

#include <iostream>

#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

void add_version(CLI::App& app, run_fn& run) {
  auto* sub = app.add_subcommand("version", "Print the version and the compiled-in backends");
  sub->callback([&run] {
    run = [] {
#ifdef ALPASERVE_HAVE_CUDA
      const char* cuda = "yes";
#else
      const char* cuda = "no";
#endif
      std::cout << "alpaserve 0.1.0\ncuda backend compiled: " << cuda << "\n";
      return 0;
    };
  });
}

const command_registration registration{"version", 1000, &add_version};

}  // namespace
}  // namespace alpaserve::tools
