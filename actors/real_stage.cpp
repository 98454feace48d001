#include "actors/real_stage.hpp"

#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kernels/local_pipeline.hpp"
#include "kernels/model_folder.hpp"
#include "kernels/safetensors.hpp"
#include "net/tensor_wire.hpp"
#include "planner/profile/model_zoo.hpp"
#if ALPASERVE_HAVE_NCCL
#include "net/nccl_group.hpp"
#endif

namespace alpaserve::actors {

kernels::model_spec real_model_spec(const std::string& architecture, uint64_t seed,
                                    const std::string& name) {
  const planner::model_architecture* a = planner::find_zoo_model(architecture);
  if (a == nullptr) {
    throw std::invalid_argument(fmt::format("unknown model architecture '{}' (zoo: {})",
                                            architecture,
                                            fmt::join(planner::zoo_model_names(), ", ")));
  }
  kernels::model_spec m;
  m.name = name;
  m.kind = a->type == planner::model_architecture::kind::moe ? kernels::model_kind::moe
                                                             : kernels::model_kind::bert;
  m.hidden = a->hidden;
  m.layers = a->layers;
  m.heads = a->heads;
  m.ffn = a->ffn_hidden();
  m.vocab = a->vocab;
  m.seq_len = a->seq_len;
  if (a->type == planner::model_architecture::kind::moe) {
    // Both count layers from 0 and mark layer i when (i + 1) % every == 0.
    m.num_experts = a->num_experts;
    m.expert_every = a->expert_every;
    m.top_k = a->top_k;
  }
  m.seed = seed;
  m.validate();
  return m;
}

kernels::model_spec real_model_spec_of(const std::string& architecture,
                                       const std::string& definition, uint64_t seed,
                                       const std::string& name) {
  if (definition.empty()) return real_model_spec(architecture, seed, name);
  return kernels::parse_model_definition(definition, "model '" + name + "' definition", name);
}

std::vector<int> real_stage_boundaries(const planner::config_profile* profile, int layers, int pp) {
  if (profile != nullptr && static_cast<int>(profile->boundaries.size()) == pp + 1 &&
      profile->boundaries.front() == 0 && profile->boundaries.back() == layers)
    return profile->boundaries;
  return kernels::even_boundaries(layers, pp);
}

namespace {

// One run with the stage's all-reduce: on device buffers over NCCL (only cuda stages get an NCCL
// group), else on host memory over Gloo (or none when op_size is 1); with the input received from
// `link_in` and the output sent over `link_out` when given (cuda with NCCL only).
kernels::tensor run_shard(kernels::stage_backend& backend, const kernels::tensor& input,
                          net::gloo_group* gloo, net::nccl_group* nccl, net::nccl_group* link_in,
                          net::nccl_group* link_out) {
  kernels::allreduce_fn allreduce;
  if (gloo != nullptr) allreduce = gloo->as_allreduce_fn();
#if ALPASERVE_HAVE_NCCL
  if (link_in != nullptr || link_out != nullptr) {
    kernels::device_link link;
    if (link_in != nullptr) link.recv = link_in->as_device_link().recv;
    if (link_out != nullptr) link.send = link_out->as_device_link().send;
    net::nccl_group* watch = link_in != nullptr ? link_in : link_out;
    link.synchronize = [watch](void* stream) { watch->synchronize(stream); };
    kernels::device_allreduce device;
    if (nccl != nullptr) device = nccl->as_device_allreduce();
    return backend.run_linked(input, allreduce, nccl != nullptr ? &device : nullptr, link);
  }
  if (nccl != nullptr) return backend.run_device(input, nccl->as_device_allreduce());
#else
  (void)nccl;
  (void)link_in;
  (void)link_out;
#endif
  return backend.run(input, allreduce);
}

}  // namespace

namespace {

// Joins the NCCL link `prefix` as `rank` of `size` on the plan's device; throws when the build has
// no NCCL or the link cannot be formed.
std::shared_ptr<net::nccl_group> join_link(const real_stage_plan& plan,
                                           const net::rendezvous_store* store,
                                           const std::string& prefix, int rank, int size) {
  if (plan.backend != "cuda")
    throw std::logic_error("device links are for cuda stages (backend '" + plan.backend + "')");
  if (store == nullptr) throw std::logic_error("no rendezvous store for a device link");
#if ALPASERVE_HAVE_NCCL
  auto link = std::make_shared<net::nccl_group>(rank, size, plan.device, *store, prefix);
  spdlog::info("{} op rank {}/{}: activations over NCCL link '{}' as rank {}/{} on cuda device {}",
               plan.label, plan.op_rank, plan.op_size, prefix, rank, size, plan.device);
  return link;
#else
  (void)prefix;
  (void)rank;
  (void)size;
  throw std::runtime_error("this build has no NCCL, so activations cannot go over a device link");
#endif
}

}  // namespace

bool nccl_built() noexcept {
#if ALPASERVE_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

std::string choose_activation_link(const std::string& backend, bool have_nccl,
                                   const device_id& sender,
                                   const std::vector<device_id>& receivers) {
  if (backend != "cuda" || !have_nccl || receivers.empty()) return "host";
  std::set<device_id> distinct(receivers.begin(), receivers.end());
  distinct.insert(sender);
  return distinct.size() == receivers.size() + 1 ? "nccl" : "host";
}

std::string choose_allreduce(const real_stage_plan& plan) {
  if (plan.op_size <= 1) return "none";
  if (plan.backend != "cuda" || !nccl_built()) return "gloo";
  const std::set<int> distinct(plan.stage_devices.begin(), plan.stage_devices.end());
  const bool one_device_per_rank = static_cast<int>(plan.stage_devices.size()) == plan.op_size &&
                                   static_cast<int>(distinct.size()) == plan.op_size;
  return one_device_per_rank ? "nccl" : "gloo";
}

real_stage::real_stage() = default;
real_stage::~real_stage() = default;  // backends_ go first, then the groups (declaration order)

std::vector<shard_failure> real_stage::load(const real_stage_plan& plan,
                                            const net::rendezvous_store* store) {
  plan_ = plan;
  std::vector<shard_failure> failed;
  auto shard_name = [&](const real_shard_plan& s) {
    return fmt::format("{}: shard of model '{}' layers [{}, {}) op rank {}/{}", plan.label, s.model,
                       s.layer_begin, s.layer_end, plan.op_rank, plan.op_size);
  };
  allreduce_ = choose_allreduce(plan);
  // The communicators are joined in one global order, link from the previous stage, this
  // stage's all-reduce, link to the next stage, so that ranks of neighbouring stages joining at
  // the same time never wait on each other in a cycle.
  if (!plan.recv_link_prefix.empty()) {
    try {
      link_in_ = join_link(plan, store, plan.recv_link_prefix, plan.op_rank + 1, plan.op_size + 1);
    } catch (const std::exception& e) {
      for (const auto& s : plan.shards)
        failed.push_back(
            {s.model, shard_name(s) + ": device link from the previous stage: " + e.what()});
      return failed;
    }
  }
  if (plan.op_size > 1) {
    try {
      if (store == nullptr)
        throw std::logic_error("no rendezvous store for a tensor-parallel stage");
#if ALPASERVE_HAVE_NCCL
      if (allreduce_ == "nccl") {
        nccl_ = std::make_shared<net::nccl_group>(plan.op_rank, plan.op_size, plan.device, *store,
                                                  plan.gloo_prefix);
        spdlog::info("{} op rank {}/{}: all-reduce over NCCL {} on cuda device {} (device buffers)",
                     plan.label, plan.op_rank, plan.op_size, net::nccl_group::library_version(),
                     plan.device);
      }
#endif
      if (allreduce_ == "gloo") {
        group_ = std::make_unique<net::gloo_group>(plan.op_rank, plan.op_size, plan.gloo_host,
                                                   *store, plan.gloo_prefix);
        spdlog::info("{} op rank {}/{}: all-reduce over Gloo on {}{}", plan.label, plan.op_rank,
                     plan.op_size, plan.gloo_host,
                     plan.backend == "cuda" ? " (cuda: staged through host memory)" : "");
      }
    } catch (const std::exception& e) {
      for (const auto& s : plan.shards)
        failed.push_back(
            {s.model, shard_name(s) + ": all-reduce group (" + allreduce_ + "): " + e.what()});
      return failed;
    }
  }
  if (!plan.send_link_prefix.empty() && plan.op_rank == 0) {
    try {
      link_out_ = join_link(plan, store, plan.send_link_prefix, 0, plan.next_op_size + 1);
    } catch (const std::exception& e) {
      for (const auto& s : plan.shards)
        failed.push_back({s.model, shard_name(s) + ": device link to the next stage: " + e.what()});
      return failed;
    }
  }
  for (const auto& s : plan.shards) {
    try {
      auto backend = kernels::make_backend(plan.backend);
      kernels::load_options opts;
      opts.weights_path = s.weights_path;
      // A weights file this node cannot read comes over CAF from a node that can.
      std::shared_ptr<remote_weight_source> remote;
      if (!s.weights_path.empty() && plan.remote_weights &&
          !weights_file_readable(s.weights_path)) {
        remote = plan.remote_weights(s.weights_path);
        opts.weights = remote;
      }
      opts.memory_budget_bytes = plan.memory_budget_bytes;
      opts.max_batch = std::max(1, plan.max_batch);
      opts.device = plan.device;
      backend->load(
          kernels::make_shard(s.spec, s.layer_begin, s.layer_end, plan.op_rank, plan.op_size),
          opts);
      backends_[s.model] = std::move(backend);
      if (remote)
        spdlog::info(
            "{}: {} op rank {}/{}: weights of model {} fetched over CAF from {} ({} tensors, "
            "{:.2f} MiB in {} chunks, {:.2f} s; '{}' is not readable here)",
            plan.node, plan.label, plan.op_rank, plan.op_size, s.model, remote->donor(),
            remote->tensors(), static_cast<double>(remote->bytes()) / (1024.0 * 1024.0),
            remote->chunks(), remote->seconds(), s.weights_path);
    } catch (const std::exception& e) {
      failed.push_back({s.model, shard_name(s) + ": " + e.what()});
    }
  }
  return failed;
}

real_stage::output real_stage::run(const std::string& model, std::string_view payload,
                                   const std::vector<int64_t>& device_shape) {
  output out;
  const bool over_link = !device_shape.empty();
  if (over_link && !link_in_) {
    out.error = fmt::format("{} model '{}': input sent over a device link, but this stage has none",
                            plan_.label, model);
    return out;
  }
  auto it = backends_.find(model);
  if (it == backends_.end()) {
    out.error = fmt::format("{} holds no shard of model '{}'", plan_.label, model);
#if ALPASERVE_HAVE_NCCL
    if (over_link) {  // the previous stage sent it all the same: take it, or its stream stalls
      try {
        link_in_->discard_from_root(kernels::shape_numel(device_shape));
      } catch (const std::exception& e) {
        out.error += fmt::format(" (and dropping its input failed: {})", e.what());
      }
    }
#endif
    return out;
  }
  try {
    kernels::tensor input;
    if (over_link)
      input.shape = device_shape;
    else
      input = tensor_from_wire(payload);
    const kernels::tensor result = run_shard(*it->second, input, group_.get(), nccl_.get(),
                                             over_link ? link_in_.get() : nullptr, link_out_.get());
    if (result.data.empty() && !result.shape.empty() && link_out_)
      out.device_shape = result.shape;  // sent to the next stage's GPUs
    else
      out.payload = net::encode_f32(result.shape, result.ptr());
  } catch (const std::invalid_argument& e) {
    out.error = fmt::format("{} model '{}': bad input: {}", plan_.label, model, e.what());
  } catch (const std::exception& e) {  // e.g. a peer rank of the all-reduce is gone
    out.error = fmt::format("{} model '{}': failed: {}", plan_.label, model, e.what());
  }
  return out;
}

size_t real_stage::weight_bytes() const {
  size_t sum = 0;
  for (const auto& [name, b] : backends_) sum += b->weight_bytes();
  return sum;
}

kernels::tensor tensor_from_wire(std::string_view payload) {
  std::string problem;
  auto w = net::decode_tensor(payload, &problem);
  if (!w) throw std::invalid_argument(problem);
  kernels::tensor t;
  t.shape = w->shape;
  const size_t n = kernels::shape_numel(w->shape);
  t.data.resize(n);
  const char* p = w->data.data();
  if (w->dtype == "f32") {
    std::memcpy(t.data.data(), p, n * sizeof(float));
  } else if (w->dtype == "f16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      t.data[i] = kernels::half_to_float(h);
    }
  } else if (w->dtype == "i32") {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      t.data[i] = static_cast<float>(v);
    }
  } else if (w->dtype == "i64") {
    for (size_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      t.data[i] = static_cast<float>(v);
    }
  } else {
    throw std::invalid_argument("tensor dtype '" + w->dtype +
                                "' is not accepted by real models (use f32, f16, i32 or i64)");
  }
  return t;
}

}  // namespace alpaserve::actors
