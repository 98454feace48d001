#pragma once
// How one pipeline stage's op rank runs a request, for every backend behind one asynchronous
// interface, so that a single stage-worker actor (plus actors/stage_queue.hpp for its FCFS
// order) drives emulated, cpu and cuda stages alike. No CAF here: the actor turns the callbacks
// into work on its own thread. docs/runtime.md "One stage worker for every backend".
//
// Implementations:
// - emulated_executor: no compute; a run completes when the shard's profiled stage time has
//   elapsed on an injected stage_timer. It never sleeps and owns no thread; its callbacks run
//   wherever the timer calls back (the actor's thread, possibly inside start()).
// - real_executor (cpu / cuda): real_stage::load / run on its own job_thread; its callbacks run
//   on that thread, never inside load() / start().

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/job_thread.hpp"
#include "actors/real_stage.hpp"
#include "actors/stage_timer.hpp"
#include "kernels/device_backend.hpp"
#include "net/gloo_group.hpp"

namespace alpaserve::actors {

// One model shard of the stage (the fields of net::shard_spec).
struct stage_shard_spec {
  std::string model;
  double latency_s = 0;     // profiled batch-1 time of this stage: the nominal stage seconds
  double weight_bytes = 0;  // per device (emulated: reported as the shard's weights)
  // Real backends: a model-zoo architecture, weights from `weights_path` or `seed`, and the
  // layers [layer_begin, layer_end) of this stage.
  std::string architecture;
  uint64_t seed = 0;
  std::string weights_path;
  int layer_begin = 0;
  int layer_end = 0;
  // Per supported batch size (1, 2, 4, 8, 16): profiled seconds of this stage, 0 = unprofiled;
  // empty = latency_s alone (batch 1).
  std::vector<double> batch_latency_s;
  std::string definition;  // a model folder's definition (JSON); empty: the architecture
};

// The shard's stage seconds at batch sizes 1..n as kernels::load_options::stage_latency_s wants
// them ([b - 1] = batch b): profiled sizes as profiled, sizes between them interpolated linearly;
// n is the largest profiled size ({latency_s} when batch_latency_s is empty).
[[nodiscard]] std::vector<double> contiguous_batch_latency(const stage_shard_spec& shard);

// What a stage loads (the fields of net::spawn_stage without its actor handles).
struct stage_spec {
  int group = 0;
  int stage = 0;
  int num_stages = 1;
  std::vector<int> devices;  // local device ordinals, one per op rank
  std::string backend;       // "emulated", "cpu", "cuda"
  std::vector<stage_shard_spec> shards;
  bool recv_over_nccl = false;  // cuda: input over an NCCL link from the previous stage
  bool send_over_nccl = false;  // cuda: output over an NCCL link to the next stage
  int next_op = 0;              // send_over_nccl: op ranks of the next stage
};

struct stage_run_request {
  std::string model;
  std::string payload;                // wire-format tensor (empty when device_shape is set)
  std::vector<int64_t> device_shape;  // non-empty: the input arrives over the device link
  int batch = 1;                      // requests in the tensor (its dimension 0 on real backends)
};

struct stage_run_result {
  std::string payload;                // output tensor when error is empty (emulated: the input)
  std::string error;                  // non-empty: the stage could not run it (says why)
  std::vector<int64_t> device_shape;  // non-empty: the output went over the device link
  double run_s = 0;                   // measured: start of the run to its end
};

class stage_executor {
 public:
  using load_callback = std::function<void(std::vector<shard_failure> failed)>;
  using run_callback = std::function<void(stage_run_result result)>;

  virtual ~stage_executor();

  // Loads every shard of `spec`; `done` gets the shards that failed (per model: the others
  // serve) exactly once. Call once, before start().
  virtual void load(const stage_spec& spec, load_callback done) = 0;
  // Starts one run; `done` is called exactly once with its outcome. An executor runs its runs in
  // the order started (stage_queue starts one at a time).
  virtual void start(stage_run_request request, run_callback done) = 0;
  // Bytes of weights this op rank holds (0 before loading finished).
  [[nodiscard]] virtual size_t weight_bytes() const = 0;
  // The model's profiled stage seconds at `batch` (its shard's profile at the largest profiled
  // size <= batch); 0 for a model not in the spec.
  [[nodiscard]] double nominal_seconds(const std::string& model, int batch = 1) const;
  // "emulated", "cpu" or "cuda".
  [[nodiscard]] virtual std::string backend() const = 0;

 protected:
  // Called by load() with the spec's shards.
  void set_nominal(const stage_spec& spec);

 private:
  std::map<std::string, std::vector<double>> nominal_;  // model -> [b - 1]; written by load() only
};

// The emulated backend's stage (kernels/device_backend.hpp, make_backend("emulated")): every
// shard reports its profiled latency and weight bytes. Concurrency: one thread (the owner's);
// the timer must outlive the executor's pending runs.
class emulated_executor final : public stage_executor {
 public:
  explicit emulated_executor(stage_timer& timer) : timer_(timer) {}

  // Synchronous: `done` is called before load returns. A spec whose backend is not "emulated"
  // fails every shard.
  void load(const stage_spec& spec, load_callback done) override;
  // Completes through timer.call_at(now + the shard's emulated_stage_seconds(batch)), passing the
  // payload (and device shape) through. A model without a shard completes at once with an error.
  void start(stage_run_request request, run_callback done) override;
  [[nodiscard]] size_t weight_bytes() const override;
  [[nodiscard]] std::string backend() const override { return "emulated"; }

 private:
  stage_timer& timer_;
  std::map<std::string, std::unique_ptr<kernels::stage_backend>> shards_;  // by model
};

// Where a real op rank sits (what net::spawn_stage leaves to the node agent).
struct real_rank_options {
  int rank = 0;                    // op rank within the stage (index into stage_spec.devices)
  size_t memory_budget_bytes = 0;  // per device, 0 = unlimited
  std::string host = "127.0.0.1";  // where this rank listens for Gloo
  // Rendezvous of the stage's ranks (op > 1 or a device link); must stay usable from the job
  // thread (the actor's store blocks on a CAF request there).
  std::optional<net::rendezvous_store> store;
  std::string node;  // for logs
  // Weights this node cannot read come from here (real_stage_plan::remote_weights).
  std::function<std::shared_ptr<remote_weight_source>(const std::string& path)> remote_weights;
};

// The real_stage_plan of op rank `options.rank` of `spec` (backend, devices, Gloo prefix
// "alpaserve/g<group>/s<stage>", link prefixes "alpaserve/g<group>/b<k>", every shard's model
// spec). Throws std::invalid_argument for an unknown architecture or a rank outside the devices.
[[nodiscard]] real_stage_plan make_real_stage_plan(const stage_spec& spec,
                                                   const real_rank_options& options);

// One op rank of a cpu / cuda stage. Concurrency: load / start / weight_bytes from one thread
// (the owner's); callbacks from the executor's job thread, in the order started. Destruction
// finishes the jobs already posted (their callbacks still run), then joins the thread: what the
// callbacks touch must outlive the executor.
class real_executor final : public stage_executor {
 public:
  explicit real_executor(real_rank_options options);
  ~real_executor() override;

  // Builds the plan (a bad spec fails every shard, reported from the job thread like any load)
  // and runs real_stage::load on the job thread.
  void load(const stage_spec& spec, load_callback done) override;
  // real_stage::run on the job thread; run_s is its duration there. With op > 1 every rank must
  // start the same runs in the same order (the all-reduces pair them up).
  void start(stage_run_request request, run_callback done) override;
  [[nodiscard]] size_t weight_bytes() const override { return weight_bytes_.load(); }
  [[nodiscard]] std::string backend() const override { return backend_; }
  // choose_allreduce of the plan: "none", "gloo" or "nccl" ("none" before load).
  [[nodiscard]] std::string allreduce() const { return allreduce_; }

 private:
  real_rank_options options_;
  std::string backend_ = "cpu";
  std::string allreduce_ = "none";
  std::atomic<size_t> weight_bytes_{0};  // set by the job thread
  std::shared_ptr<real_stage> stage_ = std::make_shared<real_stage>();
  std::unique_ptr<job_thread> thread_ = std::make_unique<job_thread>();  // last: joined first
};

// The executor for spec.backend: emulated (on `timer`) or real. Throws std::invalid_argument
// for an unknown backend.
[[nodiscard]] std::unique_ptr<stage_executor> make_stage_executor(const std::string& backend,
                                                                  stage_timer& timer,
                                                                  real_rank_options options);

}  // namespace alpaserve::actors
