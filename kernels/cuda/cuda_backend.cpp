#include "kernels/cuda/cuda_backend.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/cuda_ops.hpp"
#include "kernels/cuda/cudnn_softmax.hpp"
#include "kernels/cuda_device.hpp"
#include "kernels/safetensors.hpp"
#include "kernels/weights.hpp"

namespace alpaserve::kernels::cuda {
namespace {

void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("cuda backend: ") + what + ": " + cudaGetErrorName(err) +
                             " (" + cudaGetErrorString(err) + ")");
}

void blas_check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuda backend: ") + what + ": cuBLAS status " +
                             std::to_string(static_cast<int>(status)));
}

struct cuda_free {
  void operator()(void* p) const noexcept { cudaFree(p); }
};
using device_buffer = std::unique_ptr<void, cuda_free>;

storage parse_storage(const std::string& dtype) {
  if (dtype == "fp16" || dtype.empty()) return storage::fp16;
  if (dtype == "bf16") return storage::bf16;
  if (dtype == "fp32") return storage::fp32;
  throw std::runtime_error("cuda backend: unknown dtype '" + dtype +
                           "' (expected fp16, bf16 or fp32)");
}

size_t storage_bytes(storage s) {
  return s == storage::fp32 ? 4 : 2;
}

cudaDataType_t blas_type(storage s) {
  return s == storage::fp16 ? CUDA_R_16F : s == storage::bf16 ? CUDA_R_16BF : CUDA_R_32F;
}

// GEMM weights are stored as `dtype`; embeddings, biases and norms stay fp32.
bool is_gemm_weight(const weight_desc& d) {
  return d.full_shape.size() == 2 && d.name.rfind("embed.", 0) != 0;
}

// The unfused (cuDNN) attention keeps the scores and their softmax of `chunk` batch items at a
// time, [chunk * heads, seq, seq] each: chunk is as many items as fit in this many bytes for both
// buffers (at least one) ...
constexpr size_t attention_scratch_target = size_t{64} << 20;
// ... and a run whose single batch item needs more than this for both takes the fused kernel.
constexpr size_t attention_scratch_limit = size_t{512} << 20;

// Bytes of scores + probabilities for one batch item.
size_t attention_item_bytes(int heads, int seq) {
  return size_t{2} * static_cast<size_t>(heads) * static_cast<size_t>(seq) *
         static_cast<size_t>(seq) * sizeof(float);
}

// Batch items per cuDNN softmax call; 0 when one item is over the limit (use the fused kernel).
int attention_chunk(int batch, int heads, int seq) {
  const size_t item = attention_item_bytes(heads, seq);
  if (item > attention_scratch_limit) return 0;
  const size_t fit = std::max<size_t>(1, attention_scratch_target / item);
  return static_cast<int>(std::min<size_t>(fit, static_cast<size_t>(batch)));
}

struct dev_ffn {
  const void* fc1_w = nullptr;
  const float* fc1_b = nullptr;
  const void* fc2_w = nullptr;
  const float* fc2_b = nullptr;
};

struct dev_layer {
  const void* qkv_w = nullptr;
  const float* qkv_b = nullptr;
  const void* out_w = nullptr;
  const float* out_b = nullptr;
  const float* norm1_g = nullptr;
  const float* norm1_b = nullptr;
  bool moe = false;
  dev_ffn ffn;
  const void* gate_w = nullptr;
  std::vector<dev_ffn> experts;
  const float* expert_fc2_b = nullptr;  // [experts, hidden], for the gate-weighted bias
  const float* norm2_g = nullptr;
  const float* norm2_b = nullptr;
};

}  // namespace

// The all-reduce of one run: staged through host memory (run) or on device buffers (run_device).
struct cuda_backend::collective {
  const allreduce_fn* host = nullptr;
  const device_allreduce* device = nullptr;
  const device_link* link = nullptr;  // input / output over a pipeline boundary on device
  [[nodiscard]] bool receives() const { return link != nullptr && link->recv; }
  [[nodiscard]] bool sends() const { return link != nullptr && link->send; }
};

struct cuda_backend::impl {
  shard_spec shard;
  storage dtype = storage::fp16;
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  std::vector<device_buffer> owned;            // every weight allocation
  std::map<std::string, const void*> weights;  // name -> device pointer
  std::vector<dev_layer> layers;
  size_t weight_bytes = 0;
  std::map<std::string, std::pair<device_buffer, size_t>> scratch;  // grown on demand
  std::vector<float> host_stage;                                    // all-reduce staging
  attention_path attention = attention_path::kernel;
  std::unique_ptr<cudnn_softmax> softmax;  // on `stream`; set when attention is cudnn

  ~impl() {
    softmax.reset();  // its handle is bound to the stream
    scratch.clear();
    owned.clear();
    if (blas) cublasDestroy(blas);
    if (stream) cudaStreamDestroy(stream);
  }

  const void* upload(const void* host, size_t bytes) {
    void* p = nullptr;
    cuda_check(cudaMalloc(&p, bytes > 0 ? bytes : 1), "cudaMalloc (weights)");
    owned.emplace_back(p);
    cuda_check(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice), "upload weights");
    return p;
  }

  // A scratch buffer of at least `bytes`; take every pointer a run needs before queueing work,
  // since growing frees the old buffer.
  void* scratch_get(const std::string& name, size_t bytes) {
    auto& slot = scratch[name];
    if (slot.second < bytes) {
      slot.first.reset();
      void* p = nullptr;
      cuda_check(cudaMalloc(&p, bytes), "cudaMalloc (activations)");
      slot.first.reset(p);
      slot.second = bytes;
    }
    return slot.first.get();
  }

  const float* f32(const std::string& name) const {
    return static_cast<const float*>(weights.at(name));
  }

  // y[m, n] = x[m, k] * w[n, k]^T in fp32 out; x is cast to the storage type first.
  void gemm(const float* x, int m, int k, const void* w, int n, float* y, void* cast_buf) {
    if (m <= 0) return;
    const void* b = x;
    if (dtype != storage::fp32) {
      cast_from_f32(x, cast_buf, static_cast<size_t>(m) * k, dtype, stream);
      b = cast_buf;
    }
    const float alpha = 1.0f, beta = 0.0f;
    // Row-major Y = X W^T is column-major Y^T = W X^T: A = W (k x n col-major, transposed),
    // B = X^T (k x m col-major), C = Y^T (n x m, ld n).
    blas_check(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, blas_type(dtype), k,
                            b, blas_type(dtype), k, &beta, y, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
  }

  // Multi-head attention, unfused: per batch item, scores[h, i, j] = scale * q_i . k_j for every
  // head by one strided-batched SGEMM (fp32), the row softmax of `chunk` items' scores by cuDNN,
  // then ctx[i, h * dh + d] = sum_j p[h, i, j] v_j[d] by another. qkv [batch * seq, 3 * width]
  // with column blocks q | k | v as attention() in cuda_ops.hpp; scores and probs hold
  // chunk * heads * seq * seq floats each.
  void attention_cudnn(const float* qkv, float* ctx, int batch, int seq, int heads, int dh,
                       float scale, int chunk, float* scores, float* probs) {
    const int width = heads * dh, ld = 3 * width;
    const long long square = static_cast<long long>(seq) * seq;
    const size_t item_qkv = static_cast<size_t>(seq) * ld,
                 item_ctx = static_cast<size_t>(seq) * width;
    const float one = 1.0f, zero = 0.0f;
    for (int b0 = 0; b0 < batch; b0 += chunk) {
      const int n = std::min(chunk, batch - b0);
      for (int b = 0; b < n; ++b) {
        // Row-major S = Q K^T is column-major S^T = K Q^T: A = K (stored dh x seq col-major,
        // transposed), B = Q^T (dh x seq col-major), C = S^T (seq x seq, ld seq). Heads are
        // dh columns apart in qkv and seq * seq apart in scores.
        const float* base = qkv + (b0 + b) * item_qkv;
        blas_check(cublasSgemmStridedBatched(blas, CUBLAS_OP_T, CUBLAS_OP_N, seq, seq, dh, &scale,
                                             base + width, ld, dh, base, ld, dh, &zero,
                                             scores + b * heads * square, seq, square, heads),
                   "cublasSgemmStridedBatched (attention scores)");
      }
      softmax->forward(scores, probs, n * heads * seq, seq);
      for (int b = 0; b < n; ++b) {
        // Row-major C = P V is column-major C^T = V^T P^T: A = V^T (dh x seq, ld 3 * width),
        // B = P^T (seq x seq, ld seq), C^T (dh x seq, ld width) at column h * dh.
        const float* base = qkv + (b0 + b) * item_qkv;
        blas_check(
            cublasSgemmStridedBatched(blas, CUBLAS_OP_N, CUBLAS_OP_N, dh, seq, seq, &one,
                                      base + 2 * width, ld, dh, probs + b * heads * square, seq,
                                      square, &zero, ctx + (b0 + b) * item_ctx, width, dh, heads),
            "cublasSgemmStridedBatched (attention context)");
      }
    }
  }

  void reduce(float* data, size_t count, const collective& c) {
    if (shard.op_size <= 1) return;
    if (c.device) {  // stays on the stream: no host round trip, no sync
      c.device->enqueue(data, count, stream);
      return;
    }
    if (c.host == nullptr || !*c.host)
      throw std::invalid_argument("op_size > 1 needs an all-reduce function");
    const allreduce_fn& allreduce = *c.host;
    host_stage.resize(count);
    cuda_check(cudaMemcpyAsync(host_stage.data(), data, count * sizeof(float),
                               cudaMemcpyDeviceToHost, stream),
               "all-reduce download");
    cuda_check(cudaStreamSynchronize(stream), "all-reduce sync");
    allreduce(host_stage.data(), count);
    cuda_check(cudaMemcpyAsync(data, host_stage.data(), count * sizeof(float),
                               cudaMemcpyHostToDevice, stream),
               "all-reduce upload");
    cuda_check(cudaStreamSynchronize(stream), "all-reduce sync");
  }

  // Waits for the stream. With a device all-reduce in flight the collective's own wait is used:
  // it gives up (and throws) when a peer rank never joins, where cudaStreamSynchronize would
  // block forever.
  void sync(const char* what, const collective& c) {
    const bool device_allreduce = c.device != nullptr && shard.op_size > 1;
    const bool linked = c.link != nullptr && c.link->active() && c.link->synchronize;
    if (!device_allreduce && !linked) {
      cuda_check(cudaStreamSynchronize(stream), what);
      return;
    }
    try {
      if (device_allreduce)
        c.device->synchronize(stream);
      else
        c.link->synchronize(stream);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("cuda backend: ") + what + ": " + e.what());
    }
  }
};

cuda_backend::cuda_backend() = default;
cuda_backend::~cuda_backend() = default;

size_t cuda_backend::weight_bytes() const {
  return impl_ ? impl_->weight_bytes : 0;
}
bool cuda_backend::loaded() const {
  return impl_ != nullptr;
}
std::string cuda_backend::attention_impl() const {
  return impl_ ? to_string(impl_->attention) : std::string();
}
void cuda_backend::unload() {
  impl_.reset();
}

void cuda_backend::load(const shard_spec& shard, const load_options& options) {
  unload();
  shard.validate();
  const attention_choice choice = attention_choice_from_env();  // a bad value fails first
  const int devices = cuda_device_count();
  if (options.device < 0 || options.device >= devices)
    throw std::runtime_error("cuda backend: device " + std::to_string(options.device) +
                             " not found (" + std::to_string(devices) + " CUDA devices)");
  auto st = std::make_unique<impl>();
  st->shard = shard;
  st->dtype = parse_storage(options.dtype);
  st->device = options.device;
  cuda_check(cudaSetDevice(options.device), "cudaSetDevice");

  const model_spec& m = shard.model;
  const auto descs = shard_weight_descs(shard);
  size_t wb = 0;
  for (const auto& d : descs)
    wb += shape_numel(d.local_shape()) * (is_gemm_weight(d) ? storage_bytes(st->dtype) : 4);
  for (int l = shard.layer_begin; l < shard.layer_end; ++l)
    if (m.is_moe_layer(l)) wb += static_cast<size_t>(m.num_experts) * m.hidden * 4;
  size_t act = activation_bytes(shard, options.max_batch, 4) +
               activation_bytes(shard, options.max_batch, storage_bytes(st->dtype)) / 4;
  const int local_heads = m.heads / shard.op_size;
  const int chunk = attention_chunk(std::max(1, options.max_batch), local_heads, m.seq_len);
  if (choice.path == attention_path::cudnn && chunk > 0)
    act += static_cast<size_t>(chunk) * attention_item_bytes(local_heads, m.seq_len);
  const std::string device_name = "cuda device " + std::to_string(options.device);
  check_memory_budget(shard, wb, act, options.memory_budget_bytes, device_name);
  size_t free_bytes = 0, total_bytes = 0;
  cuda_check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  check_memory_budget(shard, wb, act, free_bytes, device_name + " (free memory)");

  cuda_check(cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  blas_check(cublasCreate(&st->blas), "cublasCreate");
  blas_check(cublasSetStream(st->blas, st->stream), "cublasSetStream");
  if (choice.path == attention_path::cudnn) {
    try {
      st->softmax = std::make_unique<cudnn_softmax>(st->stream);
      st->attention = attention_path::cudnn;
    } catch (const std::exception& e) {
      if (choice.required) throw;  // ALPASERVE_CUDA_SOFTMAX=cudnn: no silent fallback
      spdlog::warn("{}; attention uses the fused kernel", e.what());
    }
  }

  const std::shared_ptr<weight_source> source =
      options.weights ? options.weights : make_weight_source(m, options.weights_path);
  std::vector<uint16_t> packed;
  std::map<std::string, tensor> moe_biases;  // layer prefix -> [experts, hidden]
  for (const auto& d : descs) {
    const tensor t = source->fetch(d);
    if (is_gemm_weight(d) && st->dtype != storage::fp32) {
      packed.resize(t.numel());
      for (size_t i = 0; i < t.numel(); ++i)
        packed[i] =
            st->dtype == storage::fp16 ? float_to_half(t.data[i]) : float_to_bf16(t.data[i]);
      st->weights[d.name] = st->upload(packed.data(), packed.size() * 2);
    } else {
      st->weights[d.name] = st->upload(t.ptr(), t.numel() * 4);
    }
    const auto experts_at = d.name.find(".moe.experts.");
    if (experts_at != std::string::npos && d.name.size() > 9 &&
        d.name.compare(d.name.size() - 9, 9, ".fc2.bias") == 0) {
      const std::string layer = d.name.substr(0, experts_at);
      const int e = std::stoi(d.name.substr(experts_at + 13));
      auto& all = moe_biases[layer];
      if (all.numel() == 0) all = tensor({m.num_experts, m.hidden});
      std::copy(t.data.begin(), t.data.end(), all.data.begin() + static_cast<size_t>(e) * m.hidden);
    }
  }
  for (int l = shard.layer_begin; l < shard.layer_end; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    auto w = [&](const std::string& n) { return st->weights.at(p + n); };
    auto f = [&](const std::string& n) { return static_cast<const float*>(w(n)); };
    auto ffn = [&](const std::string& q) {
      return dev_ffn{w(q + "fc1.weight"), f(q + "fc1.bias"), w(q + "fc2.weight"),
                     f(q + "fc2.bias")};
    };
    dev_layer dl;
    dl.qkv_w = w("attn.qkv.weight");
    dl.qkv_b = f("attn.qkv.bias");
    dl.out_w = w("attn.out.weight");
    dl.out_b = f("attn.out.bias");
    dl.norm1_g = f("norm1.weight");
    dl.norm1_b = f("norm1.bias");
    dl.moe = m.is_moe_layer(l);
    if (dl.moe) {
      dl.gate_w = w("moe.gate.weight");
      for (int e = 0; e < m.num_experts; ++e)
        dl.experts.push_back(ffn("moe.experts." + std::to_string(e) + "."));
      const tensor& biases = moe_biases.at("layers." + std::to_string(l));
      dl.expert_fc2_b = static_cast<const float*>(st->upload(biases.ptr(), biases.numel() * 4));
    } else {
      dl.ffn = ffn("ffn.");
    }
    dl.norm2_g = f("norm2.weight");
    dl.norm2_b = f("norm2.bias");
    st->layers.push_back(std::move(dl));
  }
  st->weight_bytes = wb;
  impl_ = std::move(st);
}

tensor cuda_backend::run(const tensor& input, const allreduce_fn& allreduce) {
  collective c;
  c.host = &allreduce;
  return run_with(input, c);
}

tensor cuda_backend::run_device(const tensor& input, const device_allreduce& allreduce) {
  if (!allreduce.enqueue || !allreduce.synchronize)
    throw std::logic_error("cuda backend: run_device needs enqueue and synchronize");
  collective c;
  c.device = &allreduce;
  return run_with(input, c);
}

tensor cuda_backend::run_linked(const tensor& input, const allreduce_fn& allreduce,
                                const device_allreduce* device, const device_link& link) {
  if (device != nullptr && (!device->enqueue || !device->synchronize))
    throw std::logic_error("cuda backend: run_linked needs enqueue and synchronize");
  if (link.active() && !link.synchronize)
    throw std::logic_error("cuda backend: a device link needs synchronize");
  collective c;
  c.host = &allreduce;
  c.device = device;
  c.link = &link;
  return run_with(input, c);
}

tensor cuda_backend::run_with(const tensor& input, const collective& c) {
  if (!impl_) throw std::logic_error("cuda backend: run before load");
  impl& s = *impl_;
  const shard_spec& shard = s.shard;
  const model_spec& m = shard.model;
  const int rank = shard.has_embedding ? 2 : 3;
  if (c.receives()) {
    // The previous stage has sent (or will send) exactly this many floats: take them first,
    // whatever follows, or its stream would wait for this receive forever.
    if (shard.has_embedding)
      throw std::logic_error("model '" + m.name + "' cuda stage: the embedding stage's input " +
                             "comes from the client, not over a device link");
    const size_t count = shape_numel(input.shape);
    cuda_check(cudaSetDevice(s.device), "cudaSetDevice");
    auto* in = static_cast<float*>(s.scratch_get("x", count * 4));
    c.link->recv(in, count, s.stream);
  }
  if (input.rank() != rank || input.dim(0) < 1 || input.dim(1) < 1 || input.dim(1) > m.seq_len ||
      (rank == 3 && input.dim(2) != m.hidden)) {
    if (c.receives()) s.sync("drop a mis-shaped input", c);  // take the message all the same
    throw std::invalid_argument(
        "model '" + m.name + "' cuda stage: input shape " + shape_string(input.shape) +
        " does not match " +
        (shard.has_embedding ? "[batch, seq] token ids" : "[batch, seq, hidden]") +
        " with seq <= " + std::to_string(m.seq_len));
  }
  cuda_check(cudaSetDevice(s.device), "cudaSetDevice");
  const int batch = static_cast<int>(input.dim(0)), seq = static_cast<int>(input.dim(1));
  const int tokens = batch * seq, h = m.hidden;
  const int width = h / shard.op_size, fl = m.ffn_dim() / shard.op_size;
  const int experts = m.num_experts, k = m.kind == model_kind::moe ? m.top_k : 0;
  const size_t T = static_cast<size_t>(tokens);
  const size_t widest = static_cast<size_t>(std::max({h, width, fl}));

  // Every scratch pointer up front (growing a buffer frees the old one).
  auto* x = static_cast<float*>(s.scratch_get("x", T * h * 4));
  auto* qkv = static_cast<float*>(s.scratch_get("qkv", T * 3 * width * 4));
  auto* ctx = static_cast<float*>(s.scratch_get("ctx", T * width * 4));
  auto* proj = static_cast<float*>(s.scratch_get("proj", T * h * 4));
  auto* hid = static_cast<float*>(s.scratch_get("hid", T * fl * 4));
  void* cast = s.scratch_get("cast", T * widest * 4);
  auto* ids = static_cast<int*>(s.scratch_get("ids", T * 4));
  float *logits = nullptr, *gate_w = nullptr, *routed = nullptr, *gathered = nullptr,
        *expert_out = nullptr;
  int *expert = nullptr, *token_rows = nullptr, *slot_rows = nullptr;
  if (k > 0) {
    logits = static_cast<float*>(s.scratch_get("logits", T * experts * 4));
    expert = static_cast<int*>(s.scratch_get("expert", T * k * 4));
    gate_w = static_cast<float*>(s.scratch_get("gate_weight", T * k * 4));
    routed = static_cast<float*>(s.scratch_get("routed", T * k * h * 4));
    gathered = static_cast<float*>(s.scratch_get("gathered", T * h * 4));
    expert_out = static_cast<float*>(s.scratch_get("expert_out", T * h * 4));
    token_rows = static_cast<int*>(s.scratch_get("token_rows", T * k * 4));
    slot_rows = static_cast<int*>(s.scratch_get("slot_rows", T * k * 4));
  }
  float *cls = nullptr, *out_logits = nullptr;
  int* cls_rows = nullptr;
  if (shard.has_head) {
    cls = static_cast<float*>(s.scratch_get("cls", static_cast<size_t>(batch) * h * 4));
    out_logits =
        static_cast<float*>(s.scratch_get("out_logits", static_cast<size_t>(batch) * m.vocab * 4));
    cls_rows = static_cast<int*>(s.scratch_get("cls_rows", static_cast<size_t>(batch) * 4));
  }
  // Attention: cuDNN's softmax between two cuBLAS GEMMs, or the fused kernel (also when one batch
  // item's scores would be over attention_scratch_limit).
  const int heads = m.heads / shard.op_size;
  const int chunk = s.attention == attention_path::cudnn ? attention_chunk(batch, heads, seq) : 0;
  float *scores = nullptr, *probs = nullptr;
  if (chunk > 0) {
    const size_t bytes = static_cast<size_t>(chunk) * attention_item_bytes(heads, seq) / 2;
    scores = static_cast<float*>(s.scratch_get("scores", bytes));
    probs = static_cast<float*>(s.scratch_get("probs", bytes));
  }
  cudaStream_t st = s.stream;

  if (shard.has_embedding) {
    std::vector<int> host_ids(T);
    for (size_t i = 0; i < T; ++i) {
      const float id = input.data[i];
      if (!(id >= 0.0f && id < static_cast<float>(m.vocab)) || id != std::floor(id))
        throw std::invalid_argument("token id " + std::to_string(id) + " at flat index " +
                                    std::to_string(i) + " is not an integer in [0, " +
                                    std::to_string(m.vocab) + ")");
      host_ids[i] = static_cast<int>(id);
    }
    cuda_check(cudaMemcpyAsync(ids, host_ids.data(), T * 4, cudaMemcpyHostToDevice, st),
               "upload ids");
    embed(ids, s.f32("embed.tokens.weight"), s.f32("embed.positions.weight"), x, tokens, seq, h,
          st);
    layer_norm(x, nullptr, nullptr, s.f32("embed.norm.weight"), s.f32("embed.norm.bias"), x, tokens,
               h, static_cast<float>(m.norm_eps), st);
    s.sync("embedding", c);    // host_ids goes out of scope
  } else if (!c.receives()) {  // else already received into x (same size, same buffer)
    cuda_check(cudaMemcpyAsync(x, input.ptr(), T * h * 4, cudaMemcpyHostToDevice, st),
               "upload input");
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(m.head_dim()));
  std::vector<int> host_expert, host_token_rows, host_slot_rows;
  for (const dev_layer& l : s.layers) {
    s.gemm(x, tokens, h, l.qkv_w, 3 * width, qkv, cast);
    add_bias(qkv, l.qkv_b, tokens, 3 * width, st);
    if (chunk > 0)
      s.attention_cudnn(qkv, ctx, batch, seq, heads, m.head_dim(), scale, chunk, scores, probs);
    else
      attention(qkv, ctx, batch, seq, heads, m.head_dim(), scale, st);
    s.gemm(ctx, tokens, width, l.out_w, h, proj, cast);
    s.reduce(proj, T * h, c);
    layer_norm(x, proj, l.out_b, l.norm1_g, l.norm1_b, x, tokens, h, static_cast<float>(m.norm_eps),
               st);
    if (!l.moe) {
      s.gemm(x, tokens, h, l.ffn.fc1_w, fl, hid, cast);
      add_bias_gelu(hid, l.ffn.fc1_b, tokens, fl, st, m.activation == activation_kind::gelu_erf);
      s.gemm(hid, tokens, fl, l.ffn.fc2_w, h, proj, cast);
      s.reduce(proj, T * h, c);
      layer_norm(x, proj, l.ffn.fc2_b, l.norm2_g, l.norm2_b, x, tokens, h,
                 static_cast<float>(m.norm_eps), st);
      continue;
    }
    s.gemm(x, tokens, h, l.gate_w, experts, logits, cast);
    moe_gate(logits, tokens, experts, k, expert, gate_w, st);
    host_expert.resize(T * k);
    // A copy to pageable host memory blocks until the stream is done, outside the collective's
    // watchdog: wait through the watchdog first.
    if (c.device) s.sync("moe gate", c);
    cuda_check(cudaMemcpyAsync(host_expert.data(), expert, T * k * 4, cudaMemcpyDeviceToHost, st),
               "download routing");
    s.sync("routing", c);
    // Slots grouped by expert: token row to gather from, slot row to scatter to.
    host_token_rows.clear();
    host_slot_rows.clear();
    std::vector<int> offset(experts + 1, 0);
    for (int e = 0; e < experts; ++e) {
      for (size_t i = 0; i < T * k; ++i)
        if (host_expert[i] == e) {
          host_token_rows.push_back(static_cast<int>(i / k));
          host_slot_rows.push_back(static_cast<int>(i));
        }
      offset[e + 1] = static_cast<int>(host_slot_rows.size());
    }
    cuda_check(
        cudaMemcpyAsync(token_rows, host_token_rows.data(), T * k * 4, cudaMemcpyHostToDevice, st),
        "upload routing");
    cuda_check(
        cudaMemcpyAsync(slot_rows, host_slot_rows.data(), T * k * 4, cudaMemcpyHostToDevice, st),
        "upload routing");
    for (int e = 0; e < experts; ++e) {
      const int n = offset[e + 1] - offset[e];
      if (n == 0) continue;
      const dev_ffn& f = l.experts[e];
      gather_rows(x, token_rows + offset[e], n, h, gathered, st);
      s.gemm(gathered, n, h, f.fc1_w, fl, hid, cast);
      add_bias_gelu(hid, f.fc1_b, n, fl, st, m.activation == activation_kind::gelu_erf);
      s.gemm(hid, n, fl, f.fc2_w, h, expert_out, cast);
      scatter_rows(expert_out, slot_rows + offset[e], n, h, routed, st);
    }
    moe_combine(routed, gate_w, tokens, k, h, proj, st);
    s.reduce(proj, T * h, c);
    moe_add_expert_bias(proj, expert, gate_w, l.expert_fc2_b, tokens, k, h, st);
    layer_norm(x, proj, nullptr, l.norm2_g, l.norm2_b, x, tokens, h, static_cast<float>(m.norm_eps),
               st);
    s.sync("moe layer", c);  // host routing vectors are reused
  }

  if (c.device) s.sync("layers", c);  // as before the routing download above
  tensor out;
  if (shard.has_head) {
    std::vector<int> rows(batch);
    for (int b = 0; b < batch; ++b) rows[b] = b * seq;
    cuda_check(cudaMemcpyAsync(cls_rows, rows.data(), batch * 4, cudaMemcpyHostToDevice, st),
               "upload");
    gather_rows(x, cls_rows, batch, h, cls, st);
    s.gemm(cls, batch, h, s.weights.at("head.weight"), m.vocab, out_logits, cast);
    add_bias(out_logits, s.f32("head.bias"), batch, m.vocab, st);
    out = tensor({batch, m.vocab});
    cuda_check(cudaMemcpyAsync(out.ptr(), out_logits, out.numel() * 4, cudaMemcpyDeviceToHost, st),
               "download logits");
  } else if (c.sends()) {
    // Compute errors belong to this request: wait for the layers, then queue the send and
    // return at once (the receivers post their receives only once told, after this returns).
    cuda_check(cudaGetLastError(), "kernel launch");
    s.sync("layers", c);
    c.link->send(x, T * h, st);
    out.shape = {batch, seq, h};
    return out;
  } else {
    out = tensor({batch, seq, h});
    cuda_check(cudaMemcpyAsync(out.ptr(), x, out.numel() * 4, cudaMemcpyDeviceToHost, st),
               "download activations");
  }
  cuda_check(cudaGetLastError(), "kernel launch");
  s.sync("run", c);
  return out;
}

}  // namespace alpaserve::kernels::cuda
