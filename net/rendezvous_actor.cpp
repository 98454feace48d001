#include "net/rendezvous_actor.hpp"

#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <caf/all.hpp>

#include "net/messages.hpp"

namespace alpaserve::net {
namespace {

struct rendezvous_state {
  std::unordered_map<std::string, std::string> values;
  std::unordered_map<std::string, std::vector<caf::typed_response_promise<std::string>>> waiting;
  static inline const char* name = "rendezvous";
};

rendezvous_actor::behavior_type rendezvous(
    rendezvous_actor::stateful_pointer<rendezvous_state> self) {
  return {
      [=](kv_put& p) {
        auto& st = self->state;
        auto w = st.waiting.find(p.key);
        if (w != st.waiting.end()) {
          for (auto& rp : w->second) rp.deliver(p.value);
          st.waiting.erase(w);
        }
        st.values[p.key] = std::move(p.value);
      },
      [=](kv_get& g) -> caf::result<std::string> {
        auto& st = self->state;
        auto it = st.values.find(g.key);
        if (it != st.values.end()) return it->second;
        auto rp = self->make_response_promise<std::string>();
        st.waiting[g.key].push_back(rp);
        return rp;
      },
  };
}

}  // namespace

rendezvous_actor spawn_rendezvous(caf::actor_system& sys) {
  return sys.spawn(rendezvous);
}

rendezvous_store actor_rendezvous_store(caf::actor_system* sys, rendezvous_actor store) {
  rendezvous_store s;
  s.set = [store](const std::string& key, const std::string& value) {
    caf::anon_send(store, kv_put{key, value});
  };
  s.get = [sys, store](const std::string& key, std::chrono::milliseconds timeout) {
    caf::scoped_actor self{*sys};
    std::string value, problem;
    self->request(store, timeout, kv_get{key})
        .receive([&](std::string& v) { value = std::move(v); },
                 [&](caf::error& e) { problem = sys->render(e); });
    if (!problem.empty())
      throw std::runtime_error(fmt::format("rendezvous key '{}': {}", key, problem));
    return value;
  };
  return s;
}

}  // namespace alpaserve::net
