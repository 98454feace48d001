#include "net/messages.hpp"

#include <caf/actor_system_config.hpp>

namespace alpaserve::net {

std::string to_string(reply_status s) {
  switch (s) {
    case reply_status::ok:
      return "ok";
    case reply_status::rejected_unknown_model:
      return "rejected_unknown_model";
    case reply_status::rejected_slo:
      return "rejected_slo";
    case reply_status::rejected_overloaded:
      return "rejected_overloaded";
    case reply_status::rejected_bad_input:
      return "rejected_bad_input";
    case reply_status::failed_node_lost:
      return "failed_node_lost";
    case reply_status::failed_timeout:
      return "failed_timeout";
    case reply_status::failed_model_unavailable:
      return "failed_model_unavailable";
    case reply_status::rejected_not_placed:
      return "rejected_not_placed";
  }
  return "unknown";
}

bool is_rejection(reply_status s) noexcept {
  return s == reply_status::rejected_unknown_model || s == reply_status::rejected_slo ||
         s == reply_status::rejected_overloaded || s == reply_status::rejected_bad_input ||
         s == reply_status::rejected_not_placed;
}

bool is_failure(reply_status s) noexcept {
  return s == reply_status::failed_node_lost || s == reply_status::failed_timeout ||
         s == reply_status::failed_model_unavailable;
}

void register_message_types(caf::actor_system_config& cfg) {
  // Names are part of the wire protocol: every process must use the same ones.
  cfg.add_message_type<infer_request>("as_infer_request");
  cfg.add_message_type<infer_reply>("as_infer_reply");
  cfg.add_message_type<shard_spec>("as_shard_spec");
  cfg.add_message_type<spawn_stage>("as_spawn_stage");
  cfg.add_message_type<weights_fetch>("as_weights_fetch");
  cfg.add_message_type<weights_chunk>("as_weights_chunk");
  cfg.add_message_type<weights_allow>("as_weights_allow");
  cfg.add_message_type<stage_wire>("as_stage_wire");
  cfg.add_message_type<stage_task>("as_stage_task");
  cfg.add_message_type<stage_free>("as_stage_free");
  cfg.add_message_type<group_request>("as_group_request");
  cfg.add_message_type<group_feedback>("as_group_feedback");
  cfg.add_message_type<group_down>("as_group_down");
  cfg.add_message_type<route_group>("as_route_group");
  cfg.add_message_type<model_route_info>("as_model_route_info");
  cfg.add_message_type<routing_table>("as_routing_table");
  cfg.add_message_type<register_node>("as_register_node");
  cfg.add_message_type<register_answer>("as_register_answer");
  cfg.add_message_type<record_copy>("as_record_copy");
  cfg.add_message_type<group_batch_model>("as_group_batch_model");
  cfg.add_message_type<start_group>("as_start_group");
  cfg.add_message_type<group_started>("as_group_started");
  cfg.add_message_type<running_stage>("as_running_stage");
  cfg.add_message_type<running_group>("as_running_group");
  cfg.add_message_type<groups_query>("as_groups_query");
  cfg.add_message_type<groups_report>("as_groups_report");
  cfg.add_message_type<controller_progress>("as_controller_progress");
  cfg.add_message_type<cluster_info_query>("as_cluster_info_query");
  cfg.add_message_type<cluster_info>("as_cluster_info");
  cfg.add_message_type<status_query>("as_status_query");
  cfg.add_message_type<counter_value>("as_counter_value");
  cfg.add_message_type<actor_status>("as_actor_status");
  cfg.add_message_type<cluster_status>("as_cluster_status");
  cfg.add_message_type<stage_done_tick>("as_stage_done_tick");
  cfg.add_message_type<sweep_tick>("as_sweep_tick");
  cfg.add_message_type<replan_tick>("as_replan_tick");
  cfg.add_message_type<replan_done>("as_replan_done");
  cfg.add_message_type<traffic_query>("as_traffic_query");
  cfg.add_message_type<traffic_report>("as_traffic_report");
  cfg.add_message_type<group_retire>("as_group_retire");
  cfg.add_message_type<retire_group>("as_retire_group");
  cfg.add_message_type<rejoin_controller>("as_rejoin_controller");
  cfg.add_message_type<stage_ready>("as_stage_ready");
  cfg.add_message_type<stage_load>("as_stage_load");
  cfg.add_message_type<stage_run_done>("as_stage_run_done");
  cfg.add_message_type<kv_put>("as_kv_put");
  cfg.add_message_type<kv_get>("as_kv_get");
}

}  // namespace alpaserve::net
