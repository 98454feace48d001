#include "net/bootstrap.hpp"

#include <thread>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

#include "net/messages.hpp"

namespace alpaserve::net {

runtime_config::runtime_config(const runtime_settings& s) {
  register_message_types(*this);
  load<caf::io::middleman>();
  if (s.scheduler_policy == "stealing") {
    set("scheduler.policy", caf::atom("stealing"));
  } else {
    set("scheduler.policy", caf::atom("sharing"));
  }
  if (s.max_threads > 0) set("scheduler.max-threads", static_cast<size_t>(s.max_threads));
  // 0: the multiplexer thread deserializes incoming messages and enqueues them itself instead
  // of handing them to a BASP worker thread: one thread wake-up less per network hop.
  set("middleman.workers", static_cast<size_t>(s.middleman_workers));
  if (s.heartbeat_interval_ms > 0) {
    set("middleman.heartbeat-interval",
        caf::timespan{std::chrono::milliseconds(s.heartbeat_interval_ms)});
    // A peer silent for several heartbeats is declared dead (its actors send down_msg).
    set("middleman.connection-timeout",
        caf::timespan{std::chrono::milliseconds(5 * s.heartbeat_interval_ms)});
  }
  if (!s.profiling_output_file.empty()) {
    set("scheduler.enable-profiling", true);
    set("scheduler.profiling-output-file", s.profiling_output_file);
    set("scheduler.profiling-resolution",
        caf::timespan{std::chrono::milliseconds(s.profiling_resolution_ms)});
  }
}

std::optional<caf::actor> lookup_remote(caf::actor_system& system, const std::string& host,
                                        int port, caf::atom_value name,
                                        std::chrono::milliseconds patience, std::string* problem) {
  const auto give_up = std::chrono::steady_clock::now() + patience;
  std::string last;
  for (;;) {
    auto node = system.middleman().connect(host, static_cast<uint16_t>(port));
    if (node) {
      auto handle = system.middleman().remote_lookup(name, *node);
      if (handle) return caf::actor_cast<caf::actor>(handle);
      last = "no actor named '" + to_string(name) + "' registered on " + host + ":" +
             std::to_string(port) + " (yet)";
    } else {
      last = "cannot connect to " + host + ":" + std::to_string(port) + ": " +
             system.render(node.error());
    }
    if (std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (problem != nullptr) *problem = last;
  return std::nullopt;
}

}  // namespace alpaserve::net
