#include "kernels/cuda/cudnn_softmax.hpp"

#include <cstdlib>
#include <stdexcept>

#ifdef ALPASERVE_HAVE_CUDNN
#include <cudnn.h>
#endif

namespace alpaserve::kernels::cuda {

std::string to_string(attention_path p) {
  return p == attention_path::cudnn ? "cudnn" : "kernel";
}

attention_choice attention_choice_from_env() {
  const char* env = std::getenv("ALPASERVE_CUDA_SOFTMAX");
  const std::string v = env ? env : "";
  if (v.empty() || v == "auto")
    return {cudnn_compiled() ? attention_path::cudnn : attention_path::kernel, false};
  if (v == "cudnn") return {attention_path::cudnn, true};
  if (v == "kernel") return {attention_path::kernel, false};
  throw std::invalid_argument("ALPASERVE_CUDA_SOFTMAX='" + v + "': expected auto, cudnn or kernel");
}

#ifdef ALPASERVE_HAVE_CUDNN

namespace {

void cudnn_check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuda backend: cuDNN ") + what + ": " +
                             cudnnGetErrorString(status) + " (status " +
                             std::to_string(static_cast<int>(status)) + ")");
}

}  // namespace

bool cudnn_compiled() noexcept {
  return true;
}

size_t cudnn_version() noexcept {
  return cudnnGetVersion();
}

struct cudnn_softmax::state {
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t desc = nullptr;
  int rows = -1, cols = -1;  // the shape `desc` describes

  ~state() {
    if (desc) cudnnDestroyTensorDescriptor(desc);
    if (handle) cudnnDestroy(handle);
  }
};

cudnn_softmax::cudnn_softmax(cudaStream_t stream) : s_(std::make_unique<state>()) {
  cudnn_check(cudnnCreate(&s_->handle), "cudnnCreate");
  cudnn_check(cudnnSetStream(s_->handle, stream), "cudnnSetStream");
  cudnn_check(cudnnCreateTensorDescriptor(&s_->desc), "cudnnCreateTensorDescriptor");
}

cudnn_softmax::~cudnn_softmax() = default;

void cudnn_softmax::forward(const float* x, float* y, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  if (rows != s_->rows || cols != s_->cols) {
    // NCHW [rows, cols, 1, 1]: INSTANCE mode normalizes over C * H * W = cols for every N = row.
    cudnn_check(
        cudnnSetTensor4dDescriptor(s_->desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, rows, cols, 1, 1),
        "cudnnSetTensor4dDescriptor");
    s_->rows = rows;
    s_->cols = cols;
  }
  const float alpha = 1.0f, beta = 0.0f;
  cudnn_check(cudnnSoftmaxForward(s_->handle, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE,
                                  &alpha, s_->desc, x, &beta, s_->desc, y),
              "cudnnSoftmaxForward");
}

#else  // no cuDNN in this build

struct cudnn_softmax::state {};

bool cudnn_compiled() noexcept {
  return false;
}

size_t cudnn_version() noexcept {
  return 0;
}

cudnn_softmax::cudnn_softmax(cudaStream_t) {
  throw std::runtime_error(
      "cuda backend: this build has no cuDNN (CMake did not find it, or -DALPASERVE_CUDNN=OFF)");
}

cudnn_softmax::~cudnn_softmax() = default;

void cudnn_softmax::forward(const float*, float*, int, int) {
  throw std::logic_error("cuda backend: cudnn_softmax without cuDNN");
}

#endif

}  // namespace alpaserve::kernels::cuda
