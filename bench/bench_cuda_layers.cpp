// GPU efficiency of the CUDA backend: encoder layers run by the backend (cuBLAS GEMMs plus our
// kernels for attention, softmax, GELU, layer norm, bias, with one host upload of the input and
// one download of the output per run) against the bare cuBLAS GEMMs of the same layers on the
// same device, measured in the same run. Built only with CUDA; exits 77 without a GPU.
//
//   build/bin/bench_cuda_layers [--hidden 1024] [--seq 128] [--layers 8] [--reps 50]
//                               [--dtype fp16|bf16|fp32] [--device 0] [--attention both|default]
//
// Batch sizes 1, 2, 4, 8 and 16. FLOPs counted: the four linear GEMMs per layer (QKV, output
// projection, FFN fc1 and fc2), 2*M*N*K each; attention's own matmuls (2% of the FLOPs at seq
// 128, hidden 1024) and every elementwise op count zero, so
//   ratio = (time of the bare GEMMs) / (time of the backend's layers)
// is the fraction of the backend's time spent at cuBLAS speed. The upload of the input and the
// download of the output that every host-facing run pays are timed alone as well, and the ratio
// is also given without them (a stage between two linked GPU stages does not pay them).
//
// The backend's attention path (ALPASERVE_CUDA_SOFTMAX, docs/backends.md "cuDNN") is named on each
// batch line. With --attention both (the default in builds with cuDNN) every batch size is also
// timed with each path, the same layers loaded twice and run alternately:
//   attention batch  N: fused kernel X ms | cuBLAS + cuDNN softmax Y ms | kernel / cudnn X/Y
// (above 1: the cuDNN path is faster). --attention default skips that.

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/cudnn_softmax.hpp"
#include "kernels/cuda_device.hpp"
#include "kernels/device_backend.hpp"

using namespace alpaserve::kernels;

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(s));
}

// Loads the layers with ALPASERVE_CUDA_SOFTMAX set to `softmax` (null: as the environment has it);
// the variable is restored afterwards.
std::unique_ptr<cuda::cuda_backend> load_with(const shard_spec& shard, const load_options& opts,
                                              const char* softmax) {
  struct restore {
    const char* name = "ALPASERVE_CUDA_SOFTMAX";
    const char* was = std::getenv(name);
    std::string old = was ? was : "";
    bool set = false;
    ~restore() {
      if (set) was ? setenv(name, old.c_str(), 1) : unsetenv(name);
    }
  } env;
  if (softmax) {
    setenv(env.name, softmax, 1);
    env.set = true;
  }
  auto b = std::make_unique<cuda::cuda_backend>();
  b->load(shard, opts);
  return b;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The layers' linear GEMMs with cublasGemmEx as the backend issues them: row-major
// Y[m, n] = X[m, k] W[n, k]^T, inputs in the storage type, fp32 output and compute.
class gemm_chain {
 public:
  gemm_chain(int tokens, int hidden, int layers, cudaDataType_t type, size_t type_bytes)
      : tokens_(tokens), hidden_(hidden), layers_(layers), type_(type) {
    const size_t h = static_cast<size_t>(hidden), t = static_cast<size_t>(tokens);
    shapes_ = {{3 * hidden, hidden}, {hidden, hidden}, {4 * hidden, hidden}, {hidden, 4 * hidden}};
    for (const auto& [n, k] : shapes_) {
      void* w = nullptr;
      check(cudaMalloc(&w, static_cast<size_t>(n) * k * type_bytes), "cudaMalloc weights");
      check(cudaMemset(w, 0, static_cast<size_t>(n) * k * type_bytes), "cudaMemset");
      weights_.push_back(w);
    }
    check(cudaMalloc(&x_, t * 4 * h * type_bytes), "cudaMalloc x");
    check(cudaMemset(x_, 0, t * 4 * h * type_bytes), "cudaMemset");
    check(cudaMalloc(&y_, t * 4 * h * sizeof(float)), "cudaMalloc y");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasCreate(&blas_), "cublasCreate");
    check(cublasSetStream(blas_, stream_), "cublasSetStream");
  }
  ~gemm_chain() {
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
    cudaFree(x_);
    cudaFree(y_);
    for (void* w : weights_) cudaFree(w);
  }
  void run() {
    const float alpha = 1.0f, beta = 0.0f;
    for (int l = 0; l < layers_; ++l)
      for (size_t i = 0; i < shapes_.size(); ++i) {
        const auto [n, k] = shapes_[i];
        check(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, n, tokens_, k, &alpha, weights_[i],
                           type_, k, x_, type_, k, &beta, y_, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                           CUBLAS_GEMM_DEFAULT),
              "cublasGemmEx");
      }
    check(cudaStreamSynchronize(stream_), "sync");
  }
  // What the backend's run adds around its layers: the input's upload and the output's download
  // from and to pageable host memory (fp32).
  void copies(std::vector<float>& host) {
    const size_t bytes = host.size() * sizeof(float);
    check(cudaMemcpyAsync(y_, host.data(), bytes, cudaMemcpyHostToDevice, stream_), "upload");
    check(cudaMemcpyAsync(host.data(), y_, bytes, cudaMemcpyDeviceToHost, stream_), "download");
    check(cudaStreamSynchronize(stream_), "sync");
  }
  [[nodiscard]] double flops() const {
    double f = 0;
    for (const auto& [n, k] : shapes_) f += 2.0 * tokens_ * n * k;
    return f * layers_;
  }

 private:
  int tokens_, hidden_, layers_;
  cudaDataType_t type_;
  std::vector<std::pair<int, int>> shapes_;  // (n, k) per GEMM of a layer
  std::vector<void*> weights_;
  void* x_ = nullptr;
  void* y_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  int hidden = 1024, seq = 128, layers = 8, reps = 50, device = 0;
  std::string dtype = "fp16";
  std::string attention = cuda::cudnn_compiled() ? "both" : "default";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: bench_cuda_layers [--hidden 1024] [--seq 128] [--layers 8] [--reps 50] "
          "[--dtype fp16|bf16|fp32] [--device 0] [--attention both|default]\n"
          "  --attention both: also time each batch with the fused attention kernel and with\n"
          "  cuBLAS + cuDNN softmax (default in builds with cuDNN); default: only the path\n"
          "  ALPASERVE_CUDA_SOFTMAX selects\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "option %s needs a value\n", a.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--hidden")
      hidden = std::atoi(v.c_str());
    else if (a == "--seq")
      seq = std::atoi(v.c_str());
    else if (a == "--layers")
      layers = std::atoi(v.c_str());
    else if (a == "--reps")
      reps = std::atoi(v.c_str());
    else if (a == "--device")
      device = std::atoi(v.c_str());
    else if (a == "--dtype")
      dtype = v;
    else if (a == "--attention")
      attention = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (dtype != "fp16" && dtype != "bf16" && dtype != "fp32") {
    std::fprintf(stderr, "--dtype: expected fp16, bf16 or fp32, got '%s'\n", dtype.c_str());
    return 2;
  }
  if (attention != "both" && attention != "default") {
    std::fprintf(stderr, "--attention: expected both or default, got '%s'\n", attention.c_str());
    return 2;
  }
  if (attention == "both" && !cuda::cudnn_compiled()) {
    std::fprintf(stderr, "--attention both: this build has no cuDNN\n");
    return 2;
  }
  if (hidden <= 0 || hidden % 64 != 0 || seq <= 0 || layers <= 0 || reps <= 0) {
    std::fprintf(stderr,
                 "--hidden must be a positive multiple of 64; --seq, --layers, --reps > 0\n");
    return 2;
  }
  const int devices = cuda_device_count();
  if (device >= devices) {
    std::printf("bench_cuda_layers: %d CUDA device(s), device %d requested: skipping (exit 77)\n",
                devices, device);
    return 77;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  std::printf(
      "%s (device %d); hidden %d, heads %d, ffn %d, seq %d, %d layers, %s, median of %d; cuDNN "
      "%zu\n",
      prop.name, device, hidden, hidden / 64, 4 * hidden, seq, layers, dtype.c_str(), reps,
      cuda::cudnn_version());
  const cudaDataType_t type = dtype == "fp16"   ? CUDA_R_16F
                              : dtype == "bf16" ? CUDA_R_16BF
                                                : CUDA_R_32F;
  const size_t type_bytes = dtype == "fp32" ? 4 : 2;

  model_spec m;
  m.name = "bench";
  m.hidden = hidden;
  m.heads = hidden / 64;
  m.layers = layers + 2;  // layers [1, layers + 1): neither the embedding nor the head
  m.vocab = 1000;
  m.seq_len = seq;
  m.seed = 7;
  load_options opts;
  opts.dtype = dtype;
  opts.device = device;
  for (int batch : {1, 2, 4, 8, 16}) {
    opts.max_batch = batch;
    const shard_spec shard = make_shard(m, 1, layers + 1);
    auto backend = load_with(shard, opts, nullptr);
    tensor input({batch, seq, hidden});
    for (size_t i = 0; i < input.numel(); ++i)
      input.data[i] = std::sin(0.01f * static_cast<float>(i));
    check(cudaSetDevice(device), "cudaSetDevice");
    gemm_chain gemms(batch * seq, hidden, layers, type, type_bytes);
    std::vector<double> layer_s, gemm_s, copy_s;
    std::vector<float> host(input.numel());
    for (int i = 0; i < reps + 5; ++i) {  // alternately, so clocks and load hit both alike
      const auto t0 = std::chrono::steady_clock::now();
      const tensor out = backend->run(input, {});
      const auto t1 = std::chrono::steady_clock::now();
      gemms.run();
      const auto t2 = std::chrono::steady_clock::now();
      gemms.copies(host);
      const auto t3 = std::chrono::steady_clock::now();
      if (out.numel() != input.numel() || !std::isfinite(out.data[0]))
        throw std::runtime_error("backend output is wrong-sized or not finite");
      if (i < 5) continue;  // warm-up: cuBLAS heuristics, first-touch allocations
      layer_s.push_back(std::chrono::duration<double>(t1 - t0).count());
      gemm_s.push_back(std::chrono::duration<double>(t2 - t1).count());
      copy_s.push_back(std::chrono::duration<double>(t3 - t2).count());
    }
    const double l = median(layer_s), g = median(gemm_s), c = median(copy_s), f = gemms.flops();
    std::printf(
        "batch %2d: backend %8.3f ms %8.1f TFLOP/s | cuBLAS GEMMs alone %8.3f ms %8.1f TFLOP/s | "
        "ratio %.3f | host copies alone %.3f ms, ratio without them %.3f | attention %s\n",
        batch, l * 1e3, f / l * 1e-12, g * 1e3, f / g * 1e-12, g / l, c * 1e3,
        l > c ? g / (l - c) : 0.0, backend->attention_impl().c_str());
    if (attention != "both") continue;
    backend.reset();  // room for the two below
    auto fused = load_with(shard, opts, "kernel");
    auto unfused = load_with(shard, opts, "cudnn");
    std::vector<double> kernel_s, cudnn_s;
    for (int i = 0; i < reps + 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const tensor a = fused->run(input, {});
      const auto t1 = std::chrono::steady_clock::now();
      const tensor b = unfused->run(input, {});
      const auto t2 = std::chrono::steady_clock::now();
      if (!std::isfinite(a.data[0]) || !std::isfinite(b.data[0]))
        throw std::runtime_error("backend output is not finite");
      if (i < 5) continue;
      kernel_s.push_back(std::chrono::duration<double>(t1 - t0).count());
      cudnn_s.push_back(std::chrono::duration<double>(t2 - t1).count());
    }
    const double k = median(kernel_s), d = median(cudnn_s);
    std::printf(
        "attention batch %2d: fused kernel %8.3f ms | cuBLAS + cuDNN softmax %8.3f ms | "
        "kernel / cudnn %.3f\n",
        batch, k * 1e3, d * 1e3, k / d);
  }
  return 0;
}
