#pragma once
// The CUDA backend: weights in fp16 / bf16 (or fp32) on the device, GEMMs by cuBLAS
// (cublasGemmEx, fp32 accumulate and fp32 output), the attention softmax by cuDNN when the build
// has it (cudnn_softmax.hpp; ALPASERVE_CUDA_SOFTMAX=kernel selects the fused kernel instead),
// everything else by own kernels (cuda_ops.cu) in fp32. Compiled only when CMake finds nvcc
// (docs/backends.md).

#include <memory>
#include <string>

#include "kernels/device_backend.hpp"

namespace alpaserve::kernels::cuda {

class cuda_backend final : public stage_backend {
 public:
  cuda_backend();
  ~cuda_backend() override;

  // Throws std::runtime_error when the device does not exist, the shard does not fit the budget
  // or the device's free memory, or weights are missing / mis-shaped.
  void load(const shard_spec& shard, const load_options& options) override;
  // Input and output on the host (docs/models.md conventions); the all-reduce is staged through
  // host memory.
  [[nodiscard]] tensor run(const tensor& input, const allreduce_fn& allreduce) override;
  // The same with the all-reduce on device buffers on this backend's stream (NCCL); the
  // collective's communicator must be on this backend's device.
  [[nodiscard]] bool takes_device_allreduce() const override { return true; }
  [[nodiscard]] tensor run_device(const tensor& input, const device_allreduce& allreduce) override;
  [[nodiscard]] tensor run_linked(const tensor& input, const allreduce_fn& allreduce,
                                  const device_allreduce* device, const device_link& link) override;
  void unload() override;
  [[nodiscard]] std::string kind() const override { return "cuda"; }
  [[nodiscard]] size_t weight_bytes() const override;
  [[nodiscard]] bool loaded() const override;
  // How this load computes attention: "cudnn" (cuBLAS scores, cuDNN softmax, cuBLAS context) or
  // "kernel" (the fused kernel); "" when nothing is loaded. Chosen at load from
  // ALPASERVE_CUDA_SOFTMAX (cudnn_softmax.hpp).
  [[nodiscard]] std::string attention_impl() const;

 private:
  struct collective;  // the all-reduce of one run (host-staged or device) and its device link
  [[nodiscard]] tensor run_with(const tensor& input, const collective& c);

  struct impl;
  std::unique_ptr<impl> impl_;  // device state; null when nothing is loaded
};

}  // namespace alpaserve::kernels::cuda
