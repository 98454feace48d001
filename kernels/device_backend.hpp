#pragma once
// The interface a stage worker drives: load a shard, run batches through it, unload.
// Backends: "cpu" (OpenBLAS, fp32), "cuda" (cuBLAS + own kernels, fp16/bf16/fp32) and
// "emulated" (no compute: reports profiled latencies). Semantics: docs/backends.md.
//
// Tensors (docs/models.md):
//   stage with the embedding: input  [batch, seq] token ids stored as floats (exact below 2^24)
//   other stages:             input  [batch, seq, hidden] hidden states
//   stage with the head:      output [batch, vocab] logits of the first ([CLS]) position
//   other stages:             output [batch, seq, hidden]
//
// Concurrency: one backend object serves one worker; load/run/unload must not overlap.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernels/allreduce.hpp"
#include "kernels/device_link.hpp"
#include "kernels/model_spec.hpp"
#include "kernels/tensor.hpp"

namespace alpaserve::kernels {

class weight_source;  // kernels/weights.hpp

struct load_options {
  // safetensors file with the whole model's tensors; empty = seeded weights (model.seed).
  std::string weights_path;
  // When set, the weights come from here instead of weights_path / the seed (e.g. fetched from
  // another node, actors/remote_weights.hpp); cpu and cuda only.
  std::shared_ptr<weight_source> weights;
  // Bytes this shard may use on its device (weights + activations for max_batch); 0 = no limit.
  size_t memory_budget_bytes = 0;
  // Largest batch the worker will run (sizes the activation estimate of the budget check).
  int max_batch = 1;
  // cuda: "fp16" (default), "bf16" or "fp32" storage for weights and GEMM inputs.
  std::string dtype = "fp16";
  // cuda: device ordinal.
  int device = 0;
  // emulated: profiled latency of this stage in seconds, [b - 1] = batch size b.
  std::vector<double> stage_latency_s;
  // emulated: weight bytes to report (e.g. from the profile); 0 = computed at 2 bytes/parameter.
  size_t emulated_weight_bytes = 0;
};

class stage_backend {
 public:
  virtual ~stage_backend();

  // Loads the shard. Throws std::runtime_error with a clear message when weights are missing or
  // mis-shaped, or when the shard does not fit memory_budget_bytes (or the device's memory).
  virtual void load(const shard_spec& shard, const load_options& options) = 0;
  // Runs one batch through the loaded layers (see the tensor conventions above). With
  // op_size > 1 every rank of the stage calls run with the same input, and `allreduce` is
  // called after each row-parallel GEMM. Throws std::invalid_argument on a mis-shaped input.
  [[nodiscard]] virtual tensor run(const tensor& input, const allreduce_fn& allreduce) = 0;
  // Whether run_device can be used: the backend computes in device memory and can hand its
  // buffers to a device collective (cuda). Default false (cpu, emulated).
  [[nodiscard]] virtual bool takes_device_allreduce() const { return false; }
  // As run, but the all-reduces run on device buffers through `allreduce` (no host staging).
  // Default: throws std::logic_error (only valid when takes_device_allreduce()).
  [[nodiscard]] virtual tensor run_device(const tensor& input, const device_allreduce& allreduce);
  // The general device form: the all-reduce on device buffers (`device`, when non-null) or
  // staged through the host (`allreduce`), and the stage's input / output over `link` (a pipeline
  // boundary between GPUs) where its recv / send are set. Input over the link: `input` carries
  // only the shape (no data). Output over the link: the result has its shape and no data; the
  // head's logits always come back to the host. Default: throws std::logic_error.
  [[nodiscard]] virtual tensor run_linked(const tensor& input, const allreduce_fn& allreduce,
                                          const device_allreduce* device, const device_link& link);
  virtual void unload() = 0;
  [[nodiscard]] virtual std::string kind() const = 0;
  // Bytes of weights held (for emulated: what the shard would hold).
  [[nodiscard]] virtual size_t weight_bytes() const = 0;
  [[nodiscard]] virtual bool is_emulated() const { return false; }
  // Emulated only: seconds the stage occupies its device for a batch; throws std::logic_error on
  // real backends.
  [[nodiscard]] virtual double emulated_stage_seconds(int batch) const;
  [[nodiscard]] virtual bool loaded() const = 0;
};

// "cpu", "cuda" or "emulated"; throws std::invalid_argument for an unknown kind and
// std::runtime_error for "cuda" in a build without CUDA.
[[nodiscard]] std::unique_ptr<stage_backend> make_backend(const std::string& kind);

// Weights (fp32) + activation workspace the CPU backend needs for `shard` at `max_batch`.
[[nodiscard]] size_t activation_bytes(const shard_spec& shard, int max_batch,
                                      size_t bytes_per_value);
// Throws std::runtime_error "model 'x' stage layers [a, b) op rank r/n needs N MiB (...) but the
// <device> budget is M MiB" when required > budget (budget 0 = unlimited).
void check_memory_budget(const shard_spec& shard, size_t weight_bytes, size_t activation_bytes,
                         size_t budget, const std::string& device);

}  // namespace alpaserve::kernels
