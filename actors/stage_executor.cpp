#include "actors/stage_executor.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace alpaserve::actors {

stage_executor::~stage_executor() = default;

std::vector<double> contiguous_batch_latency(const stage_shard_spec& shard) {
  std::vector<std::pair<int, double>> known;  // (batch size, seconds), ascending
  for (size_t i = 0; i < shard.batch_latency_s.size() && i < 5; ++i)
    if (shard.batch_latency_s[i] > 0) known.emplace_back(1 << i, shard.batch_latency_s[i]);
  if (known.empty() || known.front().first != 1) known.insert(known.begin(), {1, shard.latency_s});
  std::vector<double> out(static_cast<size_t>(known.back().first), 0.0);
  for (size_t j = 0; j < known.size(); ++j) {
    out[static_cast<size_t>(known[j].first - 1)] = known[j].second;
    if (j == 0) continue;
    const auto [b0, t0] = known[j - 1];
    const auto [b1, t1] = known[j];
    for (int b = b0 + 1; b < b1; ++b)
      out[static_cast<size_t>(b - 1)] = t0 + (t1 - t0) * (b - b0) / static_cast<double>(b1 - b0);
  }
  return out;
}

double stage_executor::nominal_seconds(const std::string& model, int batch) const {
  auto it = nominal_.find(model);
  if (it == nominal_.end() || it->second.empty()) return 0.0;
  const std::vector<double>& t = it->second;
  return t[static_cast<size_t>(std::clamp(batch, 1, static_cast<int>(t.size())) - 1)];
}

void stage_executor::set_nominal(const stage_spec& spec) {
  nominal_.clear();
  for (const auto& s : spec.shards) nominal_[s.model] = contiguous_batch_latency(s);
}

// ---- emulated --------------------------------------------------------------------------------

void emulated_executor::load(const stage_spec& spec, load_callback done) {
  set_nominal(spec);
  std::vector<shard_failure> failed;
  const std::string label = fmt::format("group {} stage {}", spec.group, spec.stage);
  for (const auto& s : spec.shards) {
    try {
      if (spec.backend != "emulated")
        throw std::invalid_argument("backend '" + spec.backend +
                                    "' runs real compute; this executor only emulates devices");
      auto backend = kernels::make_backend("emulated");
      // Profile-only models have no architecture: a one-layer stand-in shard carries the name;
      // the emulated backend computes nothing and reports the profiled latency and weights.
      kernels::model_spec m;
      m.name = s.model;
      m.hidden = 64;
      m.heads = 1;
      m.layers = std::max(1, spec.num_stages);
      m.vocab = 1;
      m.seq_len = 1;
      kernels::load_options o;
      o.stage_latency_s = contiguous_batch_latency(s);
      o.emulated_weight_bytes = static_cast<size_t>(s.weight_bytes);
      backend->load(kernels::make_shard(m, spec.stage, spec.stage + 1), o);
      shards_[s.model] = std::move(backend);
    } catch (const std::exception& e) {
      failed.push_back(
          {s.model, fmt::format("{}: emulated shard of model '{}': {}", label, s.model, e.what())});
    }
  }
  done(std::move(failed));
}

void emulated_executor::start(stage_run_request request, run_callback done) {
  auto it = shards_.find(request.model);
  if (it == shards_.end()) {
    stage_run_result r;
    r.error = fmt::format("emulated stage holds no shard of model '{}'", request.model);
    done(std::move(r));
    return;
  }
  const double begin = timer_.now();
  const double due = begin + it->second->emulated_stage_seconds(std::max(1, request.batch));
  stage_timer* timer = &timer_;
  timer_.call_at(due,
                 [timer, begin, request = std::move(request), done = std::move(done)]() mutable {
                   stage_run_result r;
                   r.payload = std::move(request.payload);
                   r.device_shape = std::move(request.device_shape);
                   r.run_s = timer->now() - begin;
                   done(std::move(r));
                 });
}

size_t emulated_executor::weight_bytes() const {
  size_t sum = 0;
  for (const auto& [model, b] : shards_) sum += b->weight_bytes();
  return sum;
}

// ---- real ------------------------------------------------------------------------------------

real_stage_plan make_real_stage_plan(const stage_spec& spec, const real_rank_options& options) {
  const int op = static_cast<int>(std::max<size_t>(spec.devices.size(), 1));
  if (options.rank < 0 || options.rank >= op)
    throw std::invalid_argument(
        fmt::format("group {} stage {}: op rank {} outside the stage's {} "
                    "devices",
                    spec.group, spec.stage, options.rank, op));
  real_stage_plan plan;
  plan.backend = spec.backend;
  plan.op_rank = options.rank;
  plan.op_size = op;
  plan.memory_budget_bytes = options.memory_budget_bytes;
  plan.device = spec.devices.empty() ? 0 : spec.devices[static_cast<size_t>(options.rank)];
  plan.stage_devices.assign(spec.devices.begin(), spec.devices.end());
  plan.label = fmt::format("group {} stage {}", spec.group, spec.stage);
  plan.gloo_host = options.host;
  plan.gloo_prefix = fmt::format("alpaserve/g{}/s{}", spec.group, spec.stage);
  plan.node = options.node;
  plan.remote_weights = options.remote_weights;
  // Link b<k> joins stage k's leader with stage k + 1's ranks.
  if (spec.recv_over_nccl)
    plan.recv_link_prefix = fmt::format("alpaserve/g{}/b{}", spec.group, spec.stage - 1);
  if (spec.send_over_nccl && options.rank == 0) {
    plan.send_link_prefix = fmt::format("alpaserve/g{}/b{}", spec.group, spec.stage);
    plan.next_op_size = spec.next_op;
  }
  for (const auto& s : spec.shards) {
    for (size_t i = 0; i < s.batch_latency_s.size() && i < 5; ++i)
      if (s.batch_latency_s[i] > 0) plan.max_batch = std::max(plan.max_batch, 1 << i);
    real_shard_plan sp;
    sp.model = s.model;
    sp.spec = real_model_spec_of(s.architecture, s.definition, s.seed, s.model);
    sp.layer_begin = s.layer_begin;
    sp.layer_end = s.layer_end;
    sp.weights_path = s.weights_path;
    plan.shards.push_back(std::move(sp));
  }
  return plan;
}

real_executor::real_executor(real_rank_options options) : options_(std::move(options)) {}

real_executor::~real_executor() = default;

void real_executor::load(const stage_spec& spec, load_callback done) {
  set_nominal(spec);
  backend_ = spec.backend;
  std::optional<real_stage_plan> plan;
  std::vector<shard_failure> failed;
  try {
    plan = make_real_stage_plan(spec, options_);
    allreduce_ = choose_allreduce(*plan);  // the job thread's real_stage::load picks the same
  } catch (const std::exception& e) {
    for (const auto& s : spec.shards) failed.push_back({s.model, e.what()});
  }
  // Reported from the job thread either way: callers see one threading contract.
  thread_->post([this, stage = stage_, plan = std::move(plan), failed = std::move(failed),
                 done = std::move(done)]() mutable {
    if (plan) {
      failed = stage->load(*plan, options_.store ? &*options_.store : nullptr);
      weight_bytes_.store(stage->weight_bytes());
    }
    done(std::move(failed));
  });
}

void real_executor::start(stage_run_request request, run_callback done) {
  thread_->post([stage = stage_, request = std::move(request), done = std::move(done)]() mutable {
    const double begin = steady_seconds();
    real_stage::output out = stage->run(request.model, request.payload, request.device_shape);
    stage_run_result r;
    r.run_s = steady_seconds() - begin;
    r.payload = std::move(out.payload);
    r.error = std::move(out.error);
    r.device_shape = std::move(out.device_shape);
    done(std::move(r));
  });
}

// ---- factory ---------------------------------------------------------------------------------

std::unique_ptr<stage_executor> make_stage_executor(const std::string& backend, stage_timer& timer,
                                                    real_rank_options options) {
  if (backend == "emulated") return std::make_unique<emulated_executor>(timer);
  if (backend == "cpu" || backend == "cuda")
    return std::make_unique<real_executor>(std::move(options));
  throw std::invalid_argument("unknown stage backend '" + backend +
                              "' (known: emulated, cpu, cuda)");
}

}  // namespace alpaserve::actors
