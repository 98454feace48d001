#include "actors/weights_donor.hpp"

#include <fmt/format.h>
#include <caf/all.hpp>

#include "actors/actor_support.hpp"
#include "net/bootstrap.hpp"
#include "net/messages.hpp"

namespace alpaserve::actors {
namespace {

struct donor_state {
  std::unique_ptr<weights_donor_core> core;
  uint64_t chunk_bytes = weights_chunk_cap;
  static inline const char* name = "weights_donor";
};

using donor_self = net::weights_donor_actor::stateful_pointer<donor_state>;

net::weights_donor_actor::behavior_type weights_donor(donor_self self, std::string node,
                                                      std::vector<std::string> allowed) {
  auto& st = self->state;
  st.core = std::make_unique<weights_donor_core>(std::move(node));
  for (const auto& p : allowed) st.core->allow(p);
  st.chunk_bytes = weights_chunk_bytes(net::transport_limits(self->system()).max_message_bytes);
  return {
      [=](net::weights_fetch& f) {
        auto& st = self->state;
        weights_piece p = st.core->serve(f.path, f.tensor, f.offset, f.max_bytes, st.chunk_bytes);
        return net::weights_chunk{p.total_bytes, std::move(p.bytes), std::move(p.error)};
      },
      [=](net::weights_allow& a) {
        for (const auto& p : a.paths) self->state.core->allow(p);
      },
  };
}

}  // namespace

net::weights_donor_actor spawn_weights_donor(caf::actor_system& sys, std::string node,
                                             std::vector<std::string> allowed) {
  return sys.spawn<caf::detached>(weights_donor, std::move(node), std::move(allowed));
}

weights_chunk_fn actor_weights_fetcher(caf::actor_system* sys,
                                       std::vector<net::node_agent_actor> donors,
                                       double timeout_s) {
  return [sys, donors = std::move(donors), timeout_s](size_t donor, const std::string& path,
                                                      const std::string& tensor, uint64_t offset,
                                                      uint64_t max_bytes) {
    if (donor >= donors.size() || !donors[donor]) throw std::runtime_error("no such donor");
    caf::scoped_actor self{*sys};
    weights_piece out;
    std::string problem;
    self->request(donors[donor], seconds_span(timeout_s),
                  net::weights_fetch{path, tensor, offset, max_bytes})
        .receive(
            [&](net::weights_chunk& c) {
              out.total_bytes = c.total_bytes;
              out.bytes = std::move(c.bytes);
              out.error = std::move(c.error);
            },
            [&](caf::error& e) { problem = sys->render(e); });
    if (!problem.empty()) throw std::runtime_error("no answer: " + problem);
    return out;
  };
}

std::shared_ptr<remote_weight_source> make_actor_weight_source(
    caf::actor_system* sys, const std::string& path, std::vector<net::node_agent_actor> donors,
    std::vector<std::string> names, double timeout_s) {
  names.resize(donors.size());
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].empty()) names[i] = fmt::format("donor {}", i);
  const uint64_t chunk = weights_chunk_bytes(net::transport_limits(*sys).max_message_bytes);
  return std::make_shared<remote_weight_source>(
      path, std::move(names), actor_weights_fetcher(sys, std::move(donors), timeout_s), chunk);
}

}  // namespace alpaserve::actors
