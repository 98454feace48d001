#pragma once
// Small helpers every runtime actor uses: the process clock, CAF durations, error replies, the
// status fan-out of `inspect`, and the process's "stopping on a signal" flag.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "net/messages.hpp"

namespace alpaserve::actors {

// Seconds on this process's monotonic clock (CLOCK_MONOTONIC). Never sent to another process.
[[nodiscard]] double monotonic_seconds() noexcept;

[[nodiscard]] caf::timespan seconds_span(double s);

// The error a request from an older controller than one already heard is answered with
// (actors/epoch_gate.hpp).
[[nodiscard]] caf::error stale_epoch_error();

// A reply without a result: a rejection or a failure, saying why.
[[nodiscard]] net::infer_reply make_reply(uint64_t id, net::reply_status status,
                                          std::string message, int group = -1);

// Set by the node process once it got SIGINT / SIGTERM: the actors then treat peers going away
// as part of an orderly shutdown (logged as info, not as errors).
[[nodiscard]] std::atomic<bool>& node_stopping() noexcept;

// Collects the status of several actors and delivers them all at once (answers nobody twice;
// an actor that does not answer within 3 s is left out).
struct status_gather {
  caf::typed_response_promise<net::cluster_status> promise;
  net::cluster_status collected;
  size_t waiting = 0;
  void done_one();
};

// Asks every target for its status into `g` (which already holds the caller's own entry).
template <class Self>
void gather_status(Self* self, std::shared_ptr<status_gather> g,
                   const std::vector<net::status_actor>& targets) {
  g->waiting = targets.size() + 1;  // +1: the caller's own entry, added before done_one()
  for (const auto& t : targets) {
    if (!t) {
      g->done_one();
      continue;
    }
    self->request(t, std::chrono::seconds(3), net::status_query{})
        .then(
            [g](net::cluster_status& s) {
              for (auto& a : s.actors) g->collected.actors.push_back(std::move(a));
              g->done_one();
            },
            [g](caf::error&) { g->done_one(); });
  }
  g->done_one();
}

}  // namespace alpaserve::actors
