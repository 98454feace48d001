#include "net/nccl_group.hpp"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <climits>  // INT_MIN in NCCL_CONFIG_INITIALIZER
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace alpaserve::net {
namespace {

using steady = std::chrono::steady_clock;

std::string to_hex(const ncclUniqueId& id) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof(id.internal));
  for (char c : id.internal) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Throws std::runtime_error unless `hex` is exactly one id.
ncclUniqueId from_hex(const std::string& hex) {
  ncclUniqueId id;
  if (hex.size() != 2 * sizeof(id.internal))
    throw std::runtime_error(
        fmt::format("nccl id of {} hex digits (expected {})", hex.size(), 2 * sizeof(id.internal)));
  for (size_t i = 0; i < sizeof(id.internal); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error("nccl id is not lower-case hex");
    id.internal[i] = static_cast<char>((hi << 4) | lo);
  }
  return id;
}

// NCCL's detail on the last error ("" when it has none).
std::string last_error(ncclComm_t comm) {
  const char* text = ncclGetLastError(comm);
  return text != nullptr ? text : "";
}

// Busy for the first polls (the common case is done at once), then sleeps a little so a long
// wait does not burn a core.
void backoff(int& polls) {
  if (++polls < 1000)
    std::this_thread::yield();
  else
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

}  // namespace

struct nccl_group::impl {
  ncclComm_t comm = nullptr;
  std::string label;  // "nccl group 'prefix' rank r/n on cuda device d"
  std::chrono::milliseconds timeout{0};
  std::string failed;  // first error; the communicator is aborted once set

  ~impl() { abort(); }

  void abort() noexcept {
    if (comm != nullptr) {
      (void)ncclCommAbort(comm);
      comm = nullptr;
    }
  }

  // Aborts the communicator and throws; later calls throw the same error.
  [[noreturn]] void fail(const std::string& what) {
    abort();
    failed = label + ": " + what;
    throw std::runtime_error(failed);
  }

  void check_usable() const {
    if (!failed.empty()) throw std::runtime_error(failed + " (communicator aborted)");
    if (comm == nullptr) throw std::runtime_error(label + ": no communicator");
  }

  // NCCL enqueues on the current device's stream: a call from another device is a bug.
  void check_device(int device, const char* what) const {
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current != device)
      throw std::logic_error(
          fmt::format("{}: {} issued with cuda device {} current", label, what, current));
  }

  // A non-blocking call returns ncclSuccess or ncclInProgress; anything else is an error.
  void check_call(ncclResult_t r, const char* what) {
    if (r != ncclSuccess && r != ncclInProgress)
      fail(fmt::format("{}: {} ({})", what, ncclGetErrorString(r), last_error(comm)));
  }

  // Polls the communicator until its last call has completed (state leaves ncclInProgress).
  void wait_ready(const char* what) {
    const auto deadline = steady::now() + timeout;
    int polls = 0;
    for (;;) {
      ncclResult_t state = ncclSuccess;
      const ncclResult_t q = ncclCommGetAsyncError(comm, &state);
      if (q != ncclSuccess)
        fail(fmt::format("{}: ncclCommGetAsyncError: {}", what, ncclGetErrorString(q)));
      if (state == ncclSuccess) return;
      if (state != ncclInProgress)
        fail(fmt::format("{}: {} ({})", what, ncclGetErrorString(state), last_error(comm)));
      if (steady::now() > deadline)
        fail(fmt::format("{}: not done within {} ms (a peer rank may be missing)", what,
                         timeout.count()));
      backoff(polls);
    }
  }
};

nccl_group::nccl_group(int rank, int size, int device, const rendezvous_store& store,
                       const std::string& prefix, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()), rank_(rank), size_(size), device_(device) {
  impl& s = *impl_;
  s.label = fmt::format("nccl group '{}' rank {}/{} on cuda device {}", prefix, rank, size, device);
  s.timeout = timeout;
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument(fmt::format("nccl group: rank {} of {}", rank, size));
  int devices = 0;
  const cudaError_t count_err = cudaGetDeviceCount(&devices);
  if (count_err != cudaSuccess) {
    (void)cudaGetLastError();
    throw std::runtime_error(
        fmt::format("{}: no CUDA device usable ({})", s.label, cudaGetErrorString(count_err)));
  }
  if (device < 0 || device >= devices)
    throw std::runtime_error(
        fmt::format("{}: device not found ({} CUDA devices)", s.label, devices));
  const cudaError_t set_err = cudaSetDevice(device);
  if (set_err != cudaSuccess)
    throw std::runtime_error(
        fmt::format("{}: cudaSetDevice: {}", s.label, cudaGetErrorString(set_err)));

  // The id travels through the store: rank 0 creates it, the others wait for it (with the
  // store's timeout, so a missing rank 0 ends in an error naming the key).
  const std::string key = prefix + "/nccl-id";
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  try {
    if (rank == 0) {
      const ncclResult_t r = ncclGetUniqueId(&id);
      if (r != ncclSuccess)
        throw std::runtime_error(fmt::format("ncclGetUniqueId: {}", ncclGetErrorString(r)));
      store.set(key, to_hex(id));
    } else {
      id = from_hex(store.get(key, timeout));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", s.label, e.what()));
  }

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every call returns at once; wait_ready enforces the timeout
  s.check_call(ncclCommInitRankConfig(&s.comm, size, id, rank, &config), "ncclCommInitRankConfig");
  if (s.comm == nullptr) s.fail("ncclCommInitRankConfig returned no communicator");
  s.wait_ready("ncclCommInitRankConfig");
}

nccl_group::~nccl_group() = default;

void nccl_group::enqueue_allreduce(float* data, size_t count, void* stream) {
  impl& s = *impl_;
  s.check_usable();
  if (count == 0) return;
  s.check_device(device_, "all-reduce");
  s.check_call(ncclAllReduce(data, data, count, ncclFloat32, ncclSum, s.comm,
                             static_cast<cudaStream_t>(stream)),
               "ncclAllReduce");
  s.wait_ready("ncclAllReduce");  // enqueued on the stream once the state is ncclSuccess
}

void nccl_group::synchronize(void* stream) {
  impl& s = *impl_;
  s.check_usable();
  const auto st = static_cast<cudaStream_t>(stream);
  const auto deadline = steady::now() + s.timeout;
  int polls = 0;
  for (;;) {
    const cudaError_t q = cudaStreamQuery(st);
    ncclResult_t state = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(s.comm, &state);
    if (r != ncclSuccess) s.fail(fmt::format("ncclCommGetAsyncError: {}", ncclGetErrorString(r)));
    if (state != ncclSuccess && state != ncclInProgress)
      s.fail(fmt::format("collective: {} ({})", ncclGetErrorString(state), last_error(s.comm)));
    if (q == cudaSuccess) return;
    if (q != cudaErrorNotReady) {
      (void)cudaGetLastError();
      s.fail(fmt::format("stream: {} ({})", cudaGetErrorName(q), cudaGetErrorString(q)));
    }
    if (steady::now() > deadline)
      s.fail(fmt::format("stream not done within {} ms (a peer rank may be missing)",
                         s.timeout.count()));
    backoff(polls);
  }
}

kernels::device_allreduce nccl_group::as_device_allreduce() {
  kernels::device_allreduce out;
  out.enqueue = [this](float* data, size_t count, void* stream) {
    enqueue_allreduce(data, count, stream);
  };
  out.synchronize = [this](void* stream) { synchronize(stream); };
  return out;
}

void nccl_group::enqueue_send_to_all(const float* data, size_t count, void* stream) {
  impl& s = *impl_;
  s.check_usable();
  if (rank_ != 0) throw std::logic_error(s.label + ": only rank 0 sends");
  if (count == 0 || size_ < 2) return;
  s.check_device(device_, "send");
  const auto st = static_cast<cudaStream_t>(stream);
  // One group call: the sends to the next stage's ranks go out together (no ordering among
  // them that a receiver could wait on).
  s.check_call(ncclGroupStart(), "ncclGroupStart");
  for (int peer = 1; peer < size_; ++peer)
    s.check_call(ncclSend(data, count, ncclFloat32, peer, s.comm, st), "ncclSend");
  s.check_call(ncclGroupEnd(), "ncclGroupEnd (send)");
  s.wait_ready("ncclSend");
}

void nccl_group::enqueue_recv_from_root(float* data, size_t count, void* stream) {
  impl& s = *impl_;
  s.check_usable();
  if (rank_ == 0) throw std::logic_error(s.label + ": rank 0 does not receive");
  if (count == 0) return;
  s.check_device(device_, "receive");
  s.check_call(ncclRecv(data, count, ncclFloat32, 0, s.comm, static_cast<cudaStream_t>(stream)),
               "ncclRecv");
  s.wait_ready("ncclRecv");
}

void nccl_group::discard_from_root(size_t count) {
  impl& s = *impl_;
  s.check_usable();
  if (count == 0) return;
  if (cudaSetDevice(device_) != cudaSuccess) s.fail("cudaSetDevice (discard)");
  void* buffer = nullptr;
  cudaStream_t stream = nullptr;
  if (cudaMalloc(&buffer, count * sizeof(float)) != cudaSuccess) {
    (void)cudaGetLastError();
    s.fail(fmt::format("cudaMalloc of {} floats to drop a message", count));
  }
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
    (void)cudaGetLastError();
    cudaFree(buffer);
    s.fail("cudaStreamCreate (discard)");
  }
  try {
    enqueue_recv_from_root(static_cast<float*>(buffer), count, stream);
    synchronize(stream);
  } catch (...) {
    cudaStreamDestroy(stream);
    cudaFree(buffer);
    throw;
  }
  cudaStreamDestroy(stream);
  cudaFree(buffer);
}

kernels::device_link nccl_group::as_device_link() {
  kernels::device_link out;
  if (rank_ == 0) {
    out.send = [this](const float* data, size_t count, void* stream) {
      enqueue_send_to_all(data, count, stream);
    };
  } else {
    out.recv = [this](float* data, size_t count, void* stream) {
      enqueue_recv_from_root(data, count, stream);
    };
  }
  out.synchronize = [this](void* stream) { synchronize(stream); };
  return out;
}

std::string nccl_group::library_version() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  // NCCL_VERSION: X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z from 2.9 on.
  if (v >= 10000) return fmt::format("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100);
  return fmt::format("{}.{}.{}", v / 1000, (v / 100) % 10, v % 100);
}

}  // namespace alpaserve::net
