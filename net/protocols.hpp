#pragma once
// The typed interface of every runtime actor role, in one place: what each accepts and what it
// answers. Every handle in the runtime (and inside the messages of net/messages.hpp) is one of
// these, so sending a role a message it does not understand fails to compile. Handles found by
// registry look-up on another node are cast to these types once, where they are looked up
// (net/bootstrap.hpp lookup_remote_as). docs/runtime.md "Typed interfaces" has the table.

#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace alpaserve::net {

// The messages (defined in net/messages.hpp).
struct infer_request;
struct infer_reply;
struct group_request;
struct group_feedback;
struct group_down;
struct routing_table;
struct controller_progress;
struct traffic_query;
struct traffic_report;
struct cluster_info_query;
struct cluster_info;
struct status_query;
struct cluster_status;
struct stage_task;
struct stage_free;
struct stage_wire;
struct stage_load;
struct stage_ready;
struct stage_run_done;
struct stage_done_tick;
struct group_retire;
struct sweep_tick;
struct register_node;
struct register_answer;
struct start_group;
struct group_started;
struct groups_query;
struct groups_report;
struct replan_tick;
struct replan_done;
struct spawn_stage;
struct retire_group;
struct rejoin_controller;
struct record_copy;
struct kv_put;
struct kv_get;
struct weights_fetch;
struct weights_chunk;

// Anything that describes itself for `inspect` (every role below is one).
using status_actor = caf::typed_actor<caf::replies_to<status_query>::with<cluster_status>>;

// Where a stage sends a task it finished: the next stage, or the group manager after the last.
using stage_sink_actor = caf::typed_actor<caf::reacts_to<stage_task>>;

// Where a group's first stage reports that it finished a batch (stage_free): the group manager,
// which holds the requests waiting for stage 0 and forms the next batch then.
using stage_free_actor = caf::typed_actor<caf::reacts_to<stage_free>>;

// What a group manager needs of the dispatcher.
using dispatcher_feedback_actor =
    caf::typed_actor<caf::reacts_to<group_feedback>, caf::reacts_to<group_down>>;

// A group manager: owns the reply of every request the dispatcher delegated to it
// (group_request -> infer_reply) until it delivers it; receives each batch back from its last
// stage (stage_task) and hears from stage 0 when it is free for the next batch (stage_free);
// drains and stops on group_retire.
using group_manager_actor =
    caf::typed_actor<caf::replies_to<group_request>::with<infer_reply>, caf::reacts_to<stage_task>,
                     caf::reacts_to<stage_free>, caf::replies_to<group_retire>::with<bool>,
                     caf::reacts_to<sweep_tick>,
                     caf::replies_to<status_query>::with<cluster_status>>;

// The dispatcher: admission and routing. Clients send infer_request; the group managers report
// each finished request (group_feedback) and a broken group (group_down); the controller
// installs routing tables, reports its progress before the first one, reads the traffic and has
// it start each new group's manager (start_group) in the dispatcher's process.
using dispatcher_actor = caf::typed_actor<
    caf::replies_to<infer_request>::with<infer_reply>, caf::reacts_to<group_feedback>,
    caf::reacts_to<group_down>, caf::replies_to<routing_table>::with<bool>,
    caf::reacts_to<controller_progress>, caf::replies_to<traffic_query>::with<traffic_report>,
    caf::replies_to<start_group>::with<group_started>,
    caf::replies_to<groups_query>::with<groups_report>,
    caf::replies_to<cluster_info_query>::with<cluster_info>,
    caf::replies_to<status_query>::with<cluster_status>>;

// One op rank of a pipeline stage (every backend): loads its shards (stage_load), learns where
// finished tasks go (stage_wire), runs tasks FCFS. stage_ready (load finished), stage_run_done
// and stage_done_tick are its own executor's and timer's notifications.
using stage_actor =
    caf::typed_actor<caf::reacts_to<stage_task>, caf::replies_to<stage_wire>::with<bool>,
                     caf::replies_to<stage_load>::with<stage_ready>, caf::reacts_to<stage_ready>,
                     caf::reacts_to<stage_run_done>, caf::reacts_to<stage_done_tick>,
                     caf::replies_to<status_query>::with<cluster_status>>;

// The controller: node agents register with it; replan_tick / replan_done are its own timer's
// and background re-plan's notifications.
using controller_actor = caf::typed_actor<caf::replies_to<register_node>::with<register_answer>,
                                          caf::reacts_to<replan_tick>, caf::reacts_to<replan_done>,
                                          caf::replies_to<status_query>::with<cluster_status>>;

// A node agent: starts the stage workers of a group on its devices (spawn_stage -> the stage's
// leader once its shards are loaded) and stops a retired group's. Answers status for its node.
// rejoin_controller comes from its own process (node_runtime): the controller was found again
// after it was lost; register with it. weights_fetch: another node's loading stage rank asks it
// for a chunk of a weights file this node can read (actors/weights_donor.hpp).
using node_agent_actor =
    caf::typed_actor<caf::replies_to<spawn_stage>::with<stage_ready>, caf::reacts_to<retire_group>,
                     caf::reacts_to<rejoin_controller>, caf::reacts_to<record_copy>,
                     caf::replies_to<weights_fetch>::with<weights_chunk>,
                     caf::replies_to<status_query>::with<cluster_status>>;

// The actor that reads and sends weights chunks for its node agent (on its own thread, so file
// reads never block a scheduler thread); allowed files arrive as weights_allow.
struct weights_allow;
using weights_donor_actor = caf::typed_actor<caf::replies_to<weights_fetch>::with<weights_chunk>,
                                             caf::reacts_to<weights_allow>>;

// The key-value store where the ranks of a tensor-parallel stage meet (net/rendezvous_actor.hpp).
using rendezvous_actor =
    caf::typed_actor<caf::reacts_to<kv_put>, caf::replies_to<kv_get>::with<std::string>>;

}  // namespace alpaserve::net
