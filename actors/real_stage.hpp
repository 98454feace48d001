#pragma once
// What one op rank of a real (cpu / cuda) pipeline stage holds and does, without CAF: the
// backends of its model shards, the all-reduce group of its tensor-parallel stage (NCCL for cuda
// stages when built with it, Gloo otherwise), and running one request's tensor through a shard. The
// stage executor (actors/stage_executor.hpp) calls these on its dedicated job_thread.
// docs/real-execution.md.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/remote_weights.hpp"
#include "kernels/device_backend.hpp"
#include "net/gloo_group.hpp"
#include "planner/profile/profile.hpp"

namespace alpaserve::net {
class nccl_group;  // net/nccl_group.hpp, only in builds with NCCL
}

namespace alpaserve::actors {

// The kernels' model definition of a model-zoo architecture (planner/profile/model_zoo.hpp) with
// deterministic weights from `seed`. Throws std::invalid_argument naming an unknown
// architecture and listing the known ones.
[[nodiscard]] kernels::model_spec real_model_spec(const std::string& architecture, uint64_t seed,
                                                  const std::string& name);

// A model folder's definition (kernels::parse_model_definition of `definition`, the model.json
// text) when non-empty, else real_model_spec(architecture, seed, name). Throws
// std::invalid_argument naming the problem.
[[nodiscard]] kernels::model_spec real_model_spec_of(const std::string& architecture,
                                                     const std::string& definition, uint64_t seed,
                                                     const std::string& name);

// The layer split of a pp-stage config: the profile's measured boundaries when it has valid
// ones for `layers`, else an even split (kernels::even_boundaries).
[[nodiscard]] std::vector<int> real_stage_boundaries(const planner::config_profile* profile,
                                                     int layers, int pp);

struct real_shard_plan {
  std::string model;  // the served model's name (routing key)
  kernels::model_spec spec;
  int layer_begin = 0;
  int layer_end = 0;
  std::string weights_path;  // empty = seeded
};

struct real_stage_plan {
  std::string backend = "cpu";  // "cpu" | "cuda"
  std::vector<real_shard_plan> shards;
  int op_rank = 0;
  int op_size = 1;
  size_t memory_budget_bytes = 0;  // per device, 0 = unlimited
  int max_batch = 1;               // largest batch the group forms (sizes the memory check)
  int device = 0;                  // cuda device ordinal
  std::vector<int> stage_devices;  // every op rank's device ordinal, by rank (cuda)
  std::string label;               // "group 1 stage 0" for error messages
  // op_size > 1: where this rank listens for Gloo and the rendezvous key prefix of the stage
  // (Gloo addresses and the NCCL id both live under it).
  std::string gloo_host = "127.0.0.1";
  std::string gloo_prefix;
  // Pipeline boundaries on device buffers (choose_activation_link): the rendezvous prefix of the
  // NCCL link from the previous stage's leader (this rank is link rank op_rank + 1) and, on the
  // leader, of the link to the next stage's next_op_size ranks (this rank is link rank 0).
  // Empty: activations come and go as bytes through the actors.
  std::string recv_link_prefix;
  std::string send_link_prefix;
  int next_op_size = 0;
  std::string node;  // this rank's node, for logs
  // Set: a shard whose weights_path this node cannot read (weights_file_readable) loads from
  // the source it returns for that path (weights fetched from another node,
  // actors/remote_weights.hpp); called on the loading thread. Empty: only local files.
  std::function<std::shared_ptr<remote_weight_source>(const std::string& path)> remote_weights;
};

struct shard_failure {
  std::string model;
  std::string error;  // names the shard (model, layers, op rank) and the cause
};

// The all-reduce a stage's ranks use: "none" (op_size 1), "nccl" (cuda backend, a build with
// NCCL, and one distinct device per rank: NCCL cannot put two ranks of a communicator on one
// GPU) or "gloo" (everything else; the CUDA backend then stages through host memory). Every
// rank of a stage computes the same answer from the same plan fields.
[[nodiscard]] std::string choose_allreduce(const real_stage_plan& plan);
// Whether this build has the NCCL group (ALPASERVE_HAVE_NCCL).
[[nodiscard]] bool nccl_built() noexcept;

// A device of the cluster: (node name, local device ordinal).
using device_id = std::pair<std::string, int>;
// How activations cross the boundary from a stage's leader (`sender`) to every op rank of the
// next stage (`receivers`): "nccl" (ncclSend / ncclRecv between the GPUs: cuda backend, a build
// with NCCL, and sender and receivers all distinct devices, since NCCL puts one rank per GPU) or
// "host" (bytes through the actors: device -> host -> wire -> host -> device).
[[nodiscard]] std::string choose_activation_link(const std::string& backend, bool have_nccl,
                                                 const device_id& sender,
                                                 const std::vector<device_id>& receivers);

class real_stage {
 public:
  real_stage();
  ~real_stage();
  real_stage(const real_stage&) = delete;
  real_stage& operator=(const real_stage&) = delete;

  // Joins the stage's all-reduce group (op_size > 1; `store` must then be set; see
  // choose_allreduce) and loads every shard. Never throws for a shard: each failed shard
  // (missing / mis-shaped tensor, over memory) is returned and the others stay loaded. When the
  // group cannot be formed, every shard fails.
  std::vector<shard_failure> load(const real_stage_plan& plan, const net::rendezvous_store* store);

  struct output {
    std::string payload;  // the stage's output tensor in the wire format (f32)
    std::string error;    // non-empty when the input was unusable (bad shape, bad token id)
    // Non-empty: the output went to the next stage over the device link (payload is empty);
    // its shape, which the next stage's ranks need to receive it.
    std::vector<int64_t> device_shape;
  };
  // Runs a wire-format tensor through `model`'s shard. With op_size > 1 every rank of the stage
  // must call run for the same requests in the same order (the all-reduces pair them up).
  // device_shape non-empty: the input comes over the link from the previous stage (payload is
  // ignored); every rank must then take it in the order the previous stage sent, even for a
  // model it does not hold.
  [[nodiscard]] output run(const std::string& model, std::string_view payload,
                           const std::vector<int64_t>& device_shape = {});

  [[nodiscard]] bool holds(const std::string& model) const { return backends_.count(model) > 0; }
  [[nodiscard]] size_t weight_bytes() const;
  // choose_allreduce of the loaded plan ("none" before load); set by load, read after it.
  [[nodiscard]] const std::string& allreduce() const noexcept { return allreduce_; }

 private:
  real_stage_plan plan_;
  std::string allreduce_ = "none";
  std::unique_ptr<net::gloo_group> group_;  // allreduce_ == "gloo"
  // allreduce_ == "nccl". shared_ptr: its type is incomplete in builds without NCCL, where it
  // stays empty (unique_ptr would need the complete type for its destructor).
  std::shared_ptr<net::nccl_group> nccl_;
  std::shared_ptr<net::nccl_group> link_in_;   // from the previous stage (recv_link_prefix)
  std::shared_ptr<net::nccl_group> link_out_;  // to the next stage (send_link_prefix, leader)
  std::map<std::string, std::unique_ptr<kernels::stage_backend>> backends_;  // by model name
};

// A wire-format tensor (net/tensor_wire.hpp; dtype f32, f16, i32 or i64) as an fp32 tensor;
// throws std::invalid_argument saying what is wrong.
[[nodiscard]] kernels::tensor tensor_from_wire(std::string_view payload);

}  // namespace alpaserve::actors
