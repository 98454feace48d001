#include "actors/actor_support.hpp"

#include <chrono>

#include <caf/all.hpp>

namespace alpaserve::actors {

double monotonic_seconds() noexcept {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

caf::error stale_epoch_error() {
  return caf::make_error(caf::sec::request_receiver_down, "stale controller epoch");
}

caf::timespan seconds_span(double s) {
  return std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(s));
}

net::infer_reply make_reply(uint64_t id, net::reply_status status, std::string message, int group) {
  net::infer_reply r;
  r.request_id = id;
  r.status = status;
  r.message = std::move(message);
  r.group = group;
  return r;
}

std::atomic<bool>& node_stopping() noexcept {
  static std::atomic<bool> stopping{false};
  return stopping;
}

void status_gather::done_one() {
  if (--waiting == 0) promise.deliver(std::move(collected));
}

}  // namespace alpaserve::actors
