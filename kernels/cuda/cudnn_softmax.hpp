#pragma once
// cuDNN in the CUDA backend: the row softmax of the attention scores, [batch * heads * seq, seq]
// in fp32, by cuDNN's cudnnSoftmaxForward (CUDNN_SOFTMAX_ACCURATE: the row maximum is subtracted
// first). The backend's attention with it is unfused: cuBLAS computes the scaled scores Q K^T,
// cuDNN their softmax, cuBLAS the context P V (docs/backends.md "cuDNN"). Compiled with cuDNN only
// when CMake finds it (ALPASERVE_HAVE_CUDNN); without it, constructing cudnn_softmax throws.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>

namespace alpaserve::kernels::cuda {

// Whether this build links cuDNN.
[[nodiscard]] bool cudnn_compiled() noexcept;
// cuDNN's library version at run time (cudnnGetVersion, e.g. 91900), 0 in a build without it.
[[nodiscard]] size_t cudnn_version() noexcept;

// How the CUDA backend computes attention, chosen once per load from ALPASERVE_CUDA_SOFTMAX:
//   unset, "" or "auto": cudnn when this build has cuDNN and its handle can be created on the
//                        device, else kernel (with a warning when cuDNN was built in but failed);
//   "cudnn":             cudnn, and load() throws when it is unavailable;
//   "kernel":            the fused attention kernel (cuda_ops.cu), whatever the build.
enum class attention_path { kernel, cudnn };
struct attention_choice {
  attention_path path = attention_path::kernel;
  bool required = false;  // "cudnn" asked for explicitly: no fallback
};
// Throws std::invalid_argument naming the variable on any other value.
[[nodiscard]] attention_choice attention_choice_from_env();
[[nodiscard]] std::string to_string(attention_path p);

// One cuDNN handle bound to one stream (the backend's): create it on the stream's device.
class cudnn_softmax {
 public:
  // Throws std::runtime_error naming cuDNN's status string when the handle cannot be created or
  // bound (or this build has no cuDNN).
  explicit cudnn_softmax(cudaStream_t stream);
  ~cudnn_softmax();
  cudnn_softmax(const cudnn_softmax&) = delete;
  cudnn_softmax& operator=(const cudnn_softmax&) = delete;

  // y[r, :] = softmax(x[r, :]) for `rows` rows of `cols` floats, row-major, device pointers;
  // asynchronous on the stream. x and y must not overlap. Throws std::runtime_error naming the
  // cuDNN status when cuDNN refuses the call.
  void forward(const float* x, float* y, int rows, int cols);

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace alpaserve::kernels::cuda
