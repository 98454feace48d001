#include "actors/real_stage.hpp"

#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "kernels/local_pipeline.hpp"
#include "kernels/safetensors.hpp"
#include "net/tensor_wire.hpp"
#include "planner/model_zoo.hpp"

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

std::vector<int> real_stage_boundaries(const planner::config_profile* profile, int layers, int pp) {
  if (profile != nullptr && static_cast<int>(profile->boundaries.size()) == pp + 1 &&
      profile->boundaries.front() == 0 && profile->boundaries.back() == layers)
    return profile->boundaries;
  return kernels::even_boundaries(layers, pp);
}

std::vector<shard_failure> real_stage::load(const real_stage_plan& plan,
                                            const net::rendezvous_store* store) {
  plan_ = plan;
  std::vector<shard_failure> failed;
  auto shard_name = [&](const real_shard_plan& s) {
    return fmt::format("{}: shard of model '{}' layers [{}, {}) op rank {}/{}", plan.label, s.model,
                       s.layer_begin, s.layer_end, plan.op_rank, plan.op_size);
  };
  if (plan.op_size > 1) {
    try {
      if (store == nullptr)
        throw std::logic_error("no rendezvous store for a tensor-parallel stage");
      group_ = std::make_unique<net::gloo_group>(plan.op_rank, plan.op_size, plan.gloo_host, *store,
                                                 plan.gloo_prefix);
    } catch (const std::exception& e) {
      for (const auto& s : plan.shards)
        failed.push_back({s.model, shard_name(s) + ": all-reduce group: " + e.what()});
      return failed;
    }
  }
  for (const auto& s : plan.shards) {
    try {
      auto backend = kernels::make_backend(plan.backend);
      kernels::load_options opts;
      opts.weights_path = s.weights_path;
      opts.memory_budget_bytes = plan.memory_budget_bytes;
      opts.max_batch = 1;
      opts.device = plan.device;
      backend->load(
          kernels::make_shard(s.spec, s.layer_begin, s.layer_end, plan.op_rank, plan.op_size),
          opts);
      backends_[s.model] = std::move(backend);
    } catch (const std::exception& e) {
      failed.push_back({s.model, shard_name(s) + ": " + e.what()});
    }
  }
  return failed;
}

real_stage::output real_stage::run(const std::string& model, std::string_view payload) {
  output out;
  auto it = backends_.find(model);
  if (it == backends_.end()) {
    out.error = fmt::format("{} holds no shard of model '{}'", plan_.label, model);
    return out;
  }
  try {
    const kernels::tensor input = tensor_from_wire(payload);
    kernels::allreduce_fn allreduce;
    if (group_) allreduce = group_->as_allreduce_fn();
    const kernels::tensor result = it->second->run(input, allreduce);
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
