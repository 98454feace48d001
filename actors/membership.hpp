#pragma once
// Which worker nodes the running placement is missing or could use, as plain data (no CAF): the
// controller's recovery decision (docs/runtime.md "Failures"). Every registration of a node gets
// a fresh incarnation number; a generation remembers the incarnation of each node it was
// realized on. A placed node that is dead, or alive under another incarnation (it restarted, or
// it was frozen or cut off past the heartbeat bound and registered again, having dropped its
// stage workers), has lost its groups; a live node the placement does not use (it joined after
// placement, or came back) could serve. Either way the controller places every model again on
// the live nodes: recovery runs whether or not drift re-planning is on, and also on clusters
// started from a placement file.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace alpaserve::actors {

// What the controller knows of one registered worker node.
struct member_view {
  bool alive = false;
  uint64_t incarnation = 0;  // which registration of the node this is
};

// One node of a realized generation and the incarnation it was realized on.
struct placed_node {
  std::string name;
  uint64_t incarnation = 0;
};

struct recovery_plan {
  std::vector<std::string> lost;    // placed, but dead or re-registered since: its groups are gone
  std::vector<std::string> joined;  // alive and registered, but not (or no longer) placed
  std::vector<std::string> target;  // every live node, in config order: where to place again
  // An abandoned re-shard left running groups drained (docs/runtime.md "Re-sharding real
  // models"): their models have no group until the cluster is placed again.
  bool drained = false;
  [[nodiscard]] bool needed() const noexcept { return !lost.empty() || !joined.empty() || drained; }
  // "lost node-1; joined node-1" (for logs).
  [[nodiscard]] std::string describe() const;
};

// `expected`: the worker nodes of the config, in config order; `placed`: the running
// generation's nodes; `members`: every node that ever registered, by name.
[[nodiscard]] recovery_plan plan_recovery(const std::vector<std::string>& expected,
                                          const std::vector<placed_node>& placed,
                                          const std::map<std::string, member_view>& members);

// What the controller does with a register_node from a worker node of the config.
enum class join_action {
  start_up,     // waiting for nodes: count it toward the first placement
  place_now,    // serving: re-place onto the enlarged set of nodes at once
  place_later,  // a start-up step or a re-plan is under way: remember it (like a loss)
  refuse,       // failed: nothing serves any more and nothing will be placed
};
enum class controller_phase;
[[nodiscard]] join_action on_node_join(controller_phase phase) noexcept;

// How long to wait before trying a recovery again after one was abandoned (a new group failed
// to start): 1 s, doubled per consecutive failure, at most 16 s.
[[nodiscard]] double recovery_backoff_s(int consecutive_failures) noexcept;

}  // namespace alpaserve::actors
