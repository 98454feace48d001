#include "actors/real_profiler.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/real_stage.hpp"
#include "kernels/cuda_device.hpp"
#include "kernels/device_backend.hpp"
#include "net/gloo_group.hpp"
#include "planner/profile/stage_partition.hpp"
#if ALPASERVE_HAVE_NCCL
#include "net/nccl_group.hpp"
#endif

namespace alpaserve::actors {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Why op cannot split the model, or "" when it can.
std::string op_problem(const kernels::model_spec& m, int op) {
  if (op < 1) return "op must be >= 1";
  if (m.heads % op != 0) return fmt::format("op {} does not divide {} heads", op, m.heads);
  if (m.ffn_dim() % op != 0) return fmt::format("op {} does not divide ffn {}", op, m.ffn_dim());
  return "";
}

struct unit_result {
  double latency = 0;
  double weight = 0;
  kernels::tensor output;
};

// Whether op ranks of a `device` stage are profiled over NCCL, as the runtime would run them
// (choose_allreduce with rank r on device r): cuda, NCCL built in, and a GPU per rank here.
bool profile_over_nccl(const std::string& device, int op) {
  if (op <= 1) return false;
  real_stage_plan probe;
  probe.backend = device;
  probe.op_size = op;
  for (int r = 0; r < op; ++r) probe.stage_devices.push_back(r);
  return choose_allreduce(probe) == "nccl" && kernels::cuda_device_count() >= op;
}

// Loads layers [begin, end) as op shards and times `warmup + repeats` runs on `input`; rank 0's
// times and output are returned. op > 1: one thread per rank, all-reduce over Gloo (every rank on
// device 0 for cuda) or, for cuda with NCCL and op GPUs, over NCCL with rank r on device r; every
// run starts as in the runtime: rank 0 hands the input to the other ranks, which wake up and
// join (so a run pays the same start-up skew at its first all-reduce).
unit_result measure_range(const kernels::model_spec& model, int begin, int end, int op,
                          const kernels::tensor& input, const real_profile_options& o) {
  std::vector<std::unique_ptr<kernels::stage_backend>> ranks(static_cast<size_t>(op));
  const bool nccl = profile_over_nccl(o.device, op);
  kernels::load_options lo;
  lo.weights_path = o.weights;
  lo.max_batch = static_cast<int>(input.dim(0));
  for (int r = 0; r < op; ++r) {
    lo.device = nccl ? r : 0;
    ranks[r] = kernels::make_backend(o.device);
    ranks[r]->load(kernels::make_shard(model, begin, end, r, op), lo);
  }
  unit_result out;
  out.weight = static_cast<double>(ranks[0]->weight_bytes());
  std::vector<double> times;
  const int runs = o.warmup + o.repeats;
  const auto pause = std::chrono::milliseconds(std::max(o.gap_ms, 0));
  if (op == 1) {
    for (int i = 0; i < runs; ++i) {
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
      const auto t0 = std::chrono::steady_clock::now();
      out.output = ranks[0]->run(input, {});
      const auto t1 = std::chrono::steady_clock::now();
      if (i >= o.warmup) times.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
  } else {
    const net::rendezvous_store store = net::make_local_store();
    const std::string prefix = fmt::format("profile/{}-{}/op{}/b{}", begin, end, op, input.dim(0));
    std::vector<std::string> errors(static_cast<size_t>(op));
    std::mutex mutex;
    std::condition_variable cv;
    int started = 0;  // runs rank 0 has handed out
    std::vector<std::thread> threads;
    for (int r = 0; r < op; ++r) {
      threads.emplace_back([&, r] {
        try {
          std::unique_ptr<net::gloo_group> gloo;
#if ALPASERVE_HAVE_NCCL
          std::unique_ptr<net::nccl_group> group;
#endif
          std::function<kernels::tensor()> run_once;
          if (nccl) {
#if ALPASERVE_HAVE_NCCL
            group = std::make_unique<net::nccl_group>(r, op, r, store, prefix);
            run_once = [&, fn = group->as_device_allreduce()] {
              return ranks[r]->run_device(input, fn);
            };
#endif
          } else {
            gloo = std::make_unique<net::gloo_group>(r, op, "127.0.0.1", store, prefix);
            run_once = [&, fn = gloo->as_allreduce_fn()] { return ranks[r]->run(input, fn); };
          }
          for (int i = 0; i < runs; ++i) {
            if (r == 0) {
              if (pause.count() > 0) std::this_thread::sleep_for(pause);
              {
                std::lock_guard<std::mutex> lock(mutex);
                started = i + 1;
              }
              cv.notify_all();
            } else {
              std::unique_lock<std::mutex> lock(mutex);
              cv.wait(lock, [&] { return started > i; });
            }
            const auto t0 = std::chrono::steady_clock::now();
            kernels::tensor y = run_once();
            const auto t1 = std::chrono::steady_clock::now();
            if (r == 0) {
              if (i >= o.warmup) times.push_back(std::chrono::duration<double>(t1 - t0).count());
              out.output = std::move(y);
            }
          }
        } catch (const std::exception& e) {
          errors[r] = e.what();
          std::lock_guard<std::mutex> lock(mutex);
          started = runs;  // release waiting ranks
          cv.notify_all();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors)
      if (!e.empty())
        throw std::runtime_error(fmt::format("profiling layers [{}, {}): {}", begin, end, e));
  }
  out.latency = median(times);
  if (spdlog::should_log(spdlog::level::debug)) {
    std::vector<double> ms = times;
    std::sort(ms.begin(), ms.end());
    for (double& t : ms) t *= 1e3;
    spdlog::debug("profile: layers [{}, {}) op {} batch {}: {:.2f} ms (sorted runs)", begin, end,
                  op, input.dim(0), fmt::join(ms, " "));
  }
  return out;
}

}  // namespace

real_profile profile_real_model(const kernels::model_spec& model, const real_profile_options& o) {
  model.validate();
  if (o.batch_sizes.empty() || o.ops.empty() || o.pps.empty())
    throw std::invalid_argument("batch sizes, op degrees and pp degrees must not be empty");
  for (int b : o.batch_sizes)
    if (b < 1) throw std::invalid_argument(fmt::format("batch size {} must be >= 1", b));
  if (o.repeats < 1) throw std::invalid_argument("repeats must be >= 1");
  const int seq = o.seq > 0 ? o.seq : model.seq_len;
  if (seq > model.seq_len)
    throw std::invalid_argument(
        fmt::format("seq {} exceeds the model's longest sequence {}", seq, model.seq_len));

  real_profile result;
  result.profile.name = model.name;
  std::vector<int> ops;
  for (int op : o.ops) {
    const std::string why = op_problem(model, op);
    if (why.empty()) {
      ops.push_back(op);
    } else {
      result.skipped.push_back(why);
    }
  }
  std::vector<int> pps;
  for (int pp : o.pps) {
    if (pp >= 1 && pp <= model.layers) {
      pps.push_back(pp);
    } else {
      result.skipped.push_back(fmt::format("pp {}: the model has {} layers", pp, model.layers));
    }
  }
  std::vector<int> batches = o.batch_sizes;
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());

  const size_t total = ops.size() * batches.size() * static_cast<size_t>(model.layers);
  size_t done = 0;
  for (int op : ops) {
    for (int b : batches) {
      unit_measurement u;
      u.op = op;
      u.batch = b;
      // Token ids in range, as a client sends them; later layers get real activations.
      kernels::tensor x({b, seq});
      for (size_t i = 0; i < x.numel(); ++i)
        x.data[i] = static_cast<float>((i * 7 + 3) % static_cast<size_t>(model.vocab));
      for (int l = 0; l < model.layers; ++l) {
        if (o.progress) o.progress(done, total, fmt::format("op {} batch {} layer {}", op, b, l));
        u.inputs.push_back(x);
        unit_result r = measure_range(model, l, l + 1, op, x, o);
        u.latency_s.push_back(r.latency);
        u.weight_bytes.push_back(r.weight);
        u.output_bytes.push_back(static_cast<double>(r.output.numel() * sizeof(float)));
        x = std::move(r.output);
        ++done;
      }
      result.units.push_back(std::move(u));
    }
  }
  if (o.progress) o.progress(done, total, "partitioning");

  const planner::stage_overheads none;  // compute time only (see the header)
  auto units_at = [&](int op, int b) -> const unit_measurement& {
    for (const auto& u : result.units)
      if (u.op == op && u.batch == b) return u;
    throw std::logic_error("missing measurement");
  };
  for (int op : ops) {
    auto units_of = [&](int b) {
      for (const auto& u : result.units)
        if (u.op == op && u.batch == b) {
          std::vector<planner::partition_layer> layers;
          for (size_t l = 0; l < u.latency_s.size(); ++l)
            layers.push_back({u.latency_s[l], u.weight_bytes[l], u.output_bytes[l]});
          return layers;
        }
      throw std::logic_error("missing measurement");
    };
    for (int pp : pps) {
      const planner::stage_partition split =
          planner::partition_stages(units_of(batches[0]), pp, none);
      planner::config_profile cp;
      cp.boundaries = split.boundaries;
      cp.weight_mem = split.stage_weight;
      for (int b : batches) {
        // The split is chosen on the layer sums; the stage latency written is the whole stage
        // measured as one shard (what a stage worker runs), which includes what layer-by-layer
        // runs miss: weights of several layers competing for the caches.
        const unit_measurement& u = units_at(op, b);
        std::vector<double> stage_latency;
        for (int s = 0; s < pp; ++s) {
          const int first = split.boundaries[s], last = split.boundaries[s + 1];
          if (o.progress)
            o.progress(done, total, fmt::format("op {} pp {} batch {} stage {}", op, pp, b, s));
          stage_latency.push_back(
              last - first == 1
                  ? u.latency_s[first]
                  : measure_range(model, first, last, op, u.inputs[first], o).latency);
        }
        std::vector<double> act;
        for (int s = 0; s < pp; ++s) {
          const auto shard =
              kernels::make_shard(model, split.boundaries[s], split.boundaries[s + 1], 0, op);
          act.push_back(static_cast<double>(kernels::activation_bytes(shard, b, sizeof(float))));
        }
        cp.latency[b] = std::move(stage_latency);
        cp.act_mem[b] = std::move(act);
      }
      result.profile.configs[{1, op, pp}] = std::move(cp);
    }
  }
  return result;
}

}  // namespace alpaserve::actors
