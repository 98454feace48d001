#pragma once
// What the controller tests share: one-device placements, test models, a node's doubles.

#include <memory>
#include <string>
#include <vector>

#include "deterministic.hpp"
#include "planner/policy/placement.hpp"
#include "planner/profile/reference_profiles.hpp"

namespace alpaserve::dettest {

// One (1,1,1) group per entry, holding those model ids.
inline planner::placement placement_of(std::vector<std::vector<int>> group_models) {
  planner::placement p;
  for (size_t g = 0; g < group_models.size(); ++g) p.group_configs.push_back({1, 1, 1});
  p.group_models = std::move(group_models);
  return p;
}

// A model named `name` with a reference test profile, SLO 1 s, 1 r/s, CV 1.
inline planner::model_data model(const std::string& profile, const std::string& name) {
  planner::model_data m;
  m.name = name;
  m.profile = *planner::reference_test_profiles().find(profile);
  m.slo = 1.0;
  m.rate = 1.0;
  m.cv = 1.0;
  return m;
}

// A worker node as the controller sees it: its fake agent and what the agent was told.
struct node_double {
  std::string name;
  std::shared_ptr<agent_log> log = std::make_shared<agent_log>();
  fake_agent_actor agent;
};

// Answers every spawn_stage the nodes got since the last call with a fresh fake stage, then runs
// the fixture.
class spawn_answerer {
 public:
  void operator()(fixture& fx, std::vector<node_double>& nodes) {
    answered_.resize(nodes.size(), 0);
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto& n = nodes[i];
      for (; answered_[i] < n.log->spawns.size(); ++answered_[i]) {
        net::stage_ready ready;
        ready.worker = spawn_fake_stage(fx, std::make_shared<stage_log>());
        run_in(n.agent,
               [p = n.log->spawns[answered_[i]].promise, ready]() mutable { p.deliver(ready); });
      }
    }
    fx.run();
  }

  // Node `i` came back as a new process (a new agent, a fresh log): start its count again.
  void restarted(size_t i) {
    if (i < answered_.size()) answered_[i] = 0;
  }

 private:
  std::vector<size_t> answered_;
};

}  // namespace alpaserve::dettest
