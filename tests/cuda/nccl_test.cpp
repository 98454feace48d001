// NCCL all-reduce of tensor-parallel CUDA stages (net/nccl_group.hpp) and the CUDA backend's
// device all-reduce path. Built only with CUDA and NCCL. Its own main takes `--gpus N` (the GPUs
// the selected cases need) and exits 77 (CTest: skipped, never passed) when fewer are present,
// including when there is no driver at all (cuda_device_count() is then 0).
//
// No GPU: the group's constructor fails cleanly. One GPU: the CUDA backend's run_device with a
// host-staged device all-reduce (its plumbing, without NCCL), ncclCommInitAll over the devices
// there are, a one-rank nccl_group through the rendezvous store, and its timeout errors. Two
// GPUs: two ranks on two threads and devices, and op 2 over NCCL against op 1 (NCCL cannot put
// two ranks of one communicator on one GPU). Pipeline boundaries on device buffers
// (kernels::device_link): on one GPU through a host-staged link, on two over an NCCL link.

#define CATCH_CONFIG_RUNNER
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cuda_device.hpp"
#include "kernels/device_backend.hpp"
#include "kernels/local_pipeline.hpp"
#include "net/gloo_group.hpp"
#include "net/nccl_group.hpp"
#include "test_models.hpp"

using namespace alpaserve;
using namespace alpaserve::kernels;
using namespace alpaserve::kernels::testing;

namespace {

#define CUDA_REQUIRE(call) REQUIRE((call) == cudaSuccess)
#define NCCL_REQUIRE(call) REQUIRE((call) == ncclSuccess)

// A device buffer and a stream on one device, freed at scope exit.
struct device_vector {
  float* data = nullptr;
  cudaStream_t stream = nullptr;
  size_t count = 0;
  device_vector(int device, const std::vector<float>& host) : count(host.size()) {
    if (cudaSetDevice(device) != cudaSuccess ||
        cudaMalloc(&data, count * sizeof(float)) != cudaSuccess ||
        cudaMemcpy(data, host.data(), count * sizeof(float), cudaMemcpyHostToDevice) !=
            cudaSuccess ||
        cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess)
      throw std::runtime_error("device_vector: CUDA allocation failed");
  }
  ~device_vector() {
    if (stream) cudaStreamDestroy(stream);
    if (data) cudaFree(data);
  }
  std::vector<float> download() const {
    std::vector<float> out(count);
    if (cudaMemcpy(out.data(), data, count * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess)
      throw std::runtime_error("device_vector: download failed");
    return out;
  }
};

// Small integers, so every sum is exact in fp32.
std::vector<float> pattern(size_t n, int rank) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((rank + 1) * static_cast<int>(i % 7));
  return v;
}

// Runs f(rank) on one thread per rank; returns each rank's exception message ("" = none).
template <class F>
std::vector<std::string> on_threads(int ranks, F f) {
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        f(r);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

void cuda_or_throw(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// A device_allreduce without NCCL, for ranks sharing one GPU: download, a host all-reduce,
// upload. It checks the CUDA backend's run_device plumbing on a one-GPU machine; `calls` counts
// the all-reduces.
kernels::device_allreduce host_staged_device_allreduce(kernels::allreduce_fn host,
                                                       std::atomic<int>* calls) {
  auto buf = std::make_shared<std::vector<float>>();
  kernels::device_allreduce d;
  d.enqueue = [host, buf, calls](float* data, size_t n, void* stream) {
    const auto st = static_cast<cudaStream_t>(stream);
    buf->resize(n);
    cuda_or_throw(cudaMemcpyAsync(buf->data(), data, n * 4, cudaMemcpyDeviceToHost, st), "down");
    cuda_or_throw(cudaStreamSynchronize(st), "sync");
    host(buf->data(), n);
    cuda_or_throw(cudaMemcpyAsync(data, buf->data(), n * 4, cudaMemcpyHostToDevice, st), "up");
    cuda_or_throw(cudaStreamSynchronize(st), "sync");
    ++*calls;
  };
  d.synchronize = [](void* stream) {
    cuda_or_throw(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "sync");
  };
  return d;
}

// A device_link without NCCL, for two stages on one GPU driven from one thread: send
// downloads into `box`, recv uploads from it. It checks the CUDA backend's run_linked plumbing
// (input taken from the link, output handed to it, shapes only on the host) on a one-GPU
// machine; `calls` counts sends and receives.
struct host_box {
  std::vector<float> data;
  int sends = 0;
  int recvs = 0;
};
kernels::device_link host_staged_link(std::shared_ptr<host_box> box, bool sender) {
  kernels::device_link l;
  if (sender) {
    l.send = [box](const float* data, size_t n, void* stream) {
      const auto st = static_cast<cudaStream_t>(stream);
      box->data.resize(n);
      cuda_or_throw(cudaMemcpyAsync(box->data.data(), data, n * 4, cudaMemcpyDeviceToHost, st),
                    "down");
      cuda_or_throw(cudaStreamSynchronize(st), "sync");
      ++box->sends;
    };
  } else {
    l.recv = [box](float* data, size_t n, void* stream) {
      if (box->data.size() != n) throw std::runtime_error("host_staged_link: count mismatch");
      const auto st = static_cast<cudaStream_t>(stream);
      cuda_or_throw(cudaMemcpyAsync(data, box->data.data(), n * 4, cudaMemcpyHostToDevice, st),
                    "up");
      cuda_or_throw(cudaStreamSynchronize(st), "sync");
      ++box->recvs;
    };
  }
  l.synchronize = [](void* stream) {
    cuda_or_throw(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "sync");
  };
  return l;
}

}  // namespace

TEST_CASE("cuda backend run_device on one GPU: same output as run, two all-reduces per layer",
          "[1gpu]") {
  for (const model_spec& m : {small_bert(), small_moe()}) {
    CAPTURE(m.name);
    const tensor input = token_ids(2, 12, m.vocab);
    load_options opts;
    opts.dtype = "fp32";
    const tensor staged = local_pipeline(m, {0, m.layers}, 2, "cuda", opts).run(input);
    inprocess_allreduce group(2);
    std::atomic<int> calls{0};
    std::vector<tensor> out(2);
    const auto errors = on_threads(2, [&](int r) {
      auto backend = make_backend("cuda");
      backend->load(make_shard(m, 0, m.layers, r, 2), opts);
      out[r] = backend->run_device(input, host_staged_device_allreduce(group.for_rank(r), &calls));
    });
    for (int r = 0; r < 2; ++r) {
      INFO("rank " << r << ": " << errors[r]);
      REQUIRE(errors[r].empty());
      REQUIRE(out[r].shape == staged.shape);
      CHECK(relative_error(out[r], staged) < 1e-6);
    }
    CHECK(calls.load() == 2 * 2 * m.layers);  // two ranks, two per layer
  }
}

TEST_CASE("ncclCommInitAll over every device sums device buffers", "[1gpu]") {
  const int n = cuda_device_count();
  const size_t count = 4099;  // not a multiple of anything NCCL likes
  std::vector<ncclComm_t> comms(n, nullptr);
  NCCL_REQUIRE(ncclCommInitAll(comms.data(), n, nullptr));
  {
    std::vector<std::unique_ptr<device_vector>> bufs;
    for (int d = 0; d < n; ++d)
      bufs.push_back(std::make_unique<device_vector>(d, pattern(count, d)));
    // One thread drives several ranks: the calls must be grouped.
    NCCL_REQUIRE(ncclGroupStart());
    for (int d = 0; d < n; ++d)
      NCCL_REQUIRE(ncclAllReduce(bufs[d]->data, bufs[d]->data, count, ncclFloat32, ncclSum,
                                 comms[d], bufs[d]->stream));
    NCCL_REQUIRE(ncclGroupEnd());
    const float ranks_sum = static_cast<float>(n * (n + 1) / 2);
    for (int d = 0; d < n; ++d) {
      CUDA_REQUIRE(cudaSetDevice(d));
      CUDA_REQUIRE(cudaStreamSynchronize(bufs[d]->stream));
      const auto got = bufs[d]->download();
      for (size_t i = 0; i < count; ++i) REQUIRE(got[i] == ranks_sum * static_cast<float>(i % 7));
    }
  }
  for (auto c : comms) ncclCommDestroy(c);
}

TEST_CASE("nccl_group of one rank: id through the rendezvous store, all-reduce on the stream",
          "[1gpu]") {
  const auto store = net::make_local_store();
  net::nccl_group g(0, 1, 0, store, "test/one");
  CHECK(store.get("test/one/nccl-id", std::chrono::milliseconds(10)).size() ==
        2 * NCCL_UNIQUE_ID_BYTES);
  CHECK(net::nccl_group::library_version().rfind("2.", 0) == 0);
  const auto host = pattern(1000, 2);
  device_vector buf(0, host);
  const kernels::device_allreduce ar = g.as_device_allreduce();
  ar.enqueue(buf.data, buf.count, buf.stream);
  ar.enqueue(buf.data, buf.count, buf.stream);
  ar.synchronize(buf.stream);
  CHECK(buf.download() == host);  // the sum over one rank is the identity
}

TEST_CASE("nccl_group: a missing rank 0 ends in an error naming the id's key", "[1gpu]") {
  const auto store = net::make_local_store();
  CHECK_THROWS_WITH(net::nccl_group(1, 2, 0, store, "test/no-root", std::chrono::milliseconds(200)),
                    Catch::Contains("test/no-root/nccl-id"));
}

// Runs everywhere, also without a driver (then cudaGetDeviceCount fails with error 35): a stage
// placed on a missing GPU fails at load with this error, never a crash or hang.
TEST_CASE("nccl_group: a device that does not exist is an error, with or without a driver",
          "[nogpu]") {
  const auto store = net::make_local_store();
  CHECK_THROWS_WITH(
      net::nccl_group(0, 1, cuda_device_count(), store, "test/no-device"),
      Catch::Contains("device not found") || Catch::Contains("no CUDA device usable"));
}

// Its own CTest entry with a short timeout: if ncclCommAbort could not end a pending init, this
// would hang rather than fail.
TEST_CASE("nccl_group: a peer that never joins ends init with a timeout, not a hang", "[abort]") {
  const auto store = net::make_local_store();
  CHECK_THROWS_WITH(net::nccl_group(0, 2, 0, store, "test/alone", std::chrono::seconds(3)),
                    Catch::Contains("not done within"));
}

TEST_CASE("nccl_group sums over two ranks on two threads and devices", "[2gpu]") {
  const auto store = net::make_local_store();
  std::vector<std::vector<float>> got(2);
  const size_t small = 1000, large = size_t{1} << 20;
  const auto errors = on_threads(2, [&](int r) {
    net::nccl_group g(r, 2, r, store, "test/two");
    device_vector a(r, pattern(small, r)), b(r, pattern(large, r));
    g.enqueue_allreduce(a.data, a.count, a.stream);
    g.synchronize(a.stream);
    g.enqueue_allreduce(b.data, b.count, b.stream);  // another stream of the same device
    g.enqueue_allreduce(b.data, b.count, b.stream);  // twice: (1 + 2) * 2 times the pattern
    g.synchronize(b.stream);
    const auto ga = a.download(), gb = b.download();
    for (size_t i = 0; i < small; ++i)
      if (ga[i] != 3.0f * static_cast<float>(i % 7)) throw std::runtime_error("small sum wrong");
    for (size_t i = 0; i < large; ++i)
      if (gb[i] != 9.0f * static_cast<float>(i % 7)) throw std::runtime_error("large sum wrong");
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": " << errors[r]);
    CHECK(errors[r].empty());
  }
}

TEST_CASE("cuda backend: op 2 over NCCL equals op 1 and the host-staged op 2", "[2gpu]") {
  int group = 0;
  for (const model_spec& m : {small_bert(), small_moe()})
    for (const std::string dtype : {"fp32", "fp16"}) {
      CAPTURE(m.name, dtype);
      const tensor input = token_ids(2, 12, m.vocab);
      load_options opts;
      opts.dtype = dtype;
      const tensor op1 = local_pipeline(m, {0, m.layers}, 1, "cuda", opts).run(input);
      // op 2 with the all-reduce staged through host memory, both ranks on device 0.
      const tensor staged = local_pipeline(m, {0, m.layers}, 2, "cuda", opts).run(input);
      const auto store = net::make_local_store();
      const std::string prefix = "test/equiv/" + std::to_string(group++);
      std::vector<tensor> out(2), again(2);
      const auto errors = on_threads(2, [&](int r) {
        net::nccl_group g(r, 2, r, store, prefix);
        load_options ro = opts;
        ro.device = r;
        auto backend = make_backend("cuda");
        backend->load(make_shard(m, 0, m.layers, r, 2), ro);
        if (!backend->takes_device_allreduce()) throw std::logic_error("no device all-reduce");
        out[r] = backend->run_device(input, g.as_device_allreduce());
        again[r] = backend->run_device(input, g.as_device_allreduce());
      });
      for (int r = 0; r < 2; ++r) {
        INFO("rank " << r << ": " << errors[r]);
        REQUIRE(errors[r].empty());
        REQUIRE(out[r].shape == op1.shape);
        // Only the summation order differs from op 1; fp16 storage is the same on both.
        CHECK(relative_error(out[r], op1) < (dtype == "fp32" ? 1e-3 : 3e-2));
        CHECK(relative_error(out[r], staged) < 1e-4);    // a two-rank sum is a + b either way
        CHECK(relative_error(again[r], out[r]) < 1e-6);  // the communicator is reusable
      }
      CHECK(relative_error(out[1], out[0]) < 1e-5);
    }
}

TEST_CASE(
    "cuda backend run_linked on one GPU: a device link between two stages equals the host path",
    "[1gpu]") {
  for (const model_spec& m : {small_bert(), small_moe()}) {
    CAPTURE(m.name);
    const int mid = m.layers / 2;
    const tensor input = token_ids(2, 12, m.vocab);
    load_options opts;
    opts.dtype = "fp32";
    const tensor host_path = local_pipeline(m, {0, mid, m.layers}, 1, "cuda", opts).run(input);
    auto first = make_backend("cuda"), second = make_backend("cuda");
    first->load(make_shard(m, 0, mid), opts);
    second->load(make_shard(m, mid, m.layers), opts);
    auto box = std::make_shared<host_box>();
    const device_link send = host_staged_link(box, true), recv = host_staged_link(box, false);
    const tensor handed = first->run_linked(input, {}, nullptr, send);
    CHECK(handed.data.empty());  // went over the link, not to the host
    REQUIRE(handed.shape == std::vector<int64_t>{2, 12, m.hidden});
    tensor announced;
    announced.shape = handed.shape;
    const tensor out = second->run_linked(announced, {}, nullptr, recv);
    CHECK(box->sends == 1);
    CHECK(box->recvs == 1);
    REQUIRE(out.shape == host_path.shape);
    CHECK(relative_error(out, host_path) < 1e-6);
    // A mis-shaped announcement is an error, and the message is still taken off the link.
    (void)first->run_linked(input, {}, nullptr, send);
    tensor wrong;
    wrong.shape = {2 * 12, m.hidden};  // same count, wrong rank
    CHECK_THROWS_AS(second->run_linked(wrong, {}, nullptr, recv), std::invalid_argument);
    CHECK(box->recvs == 2);
  }
}

TEST_CASE("nccl link: stage 0 on GPU 0 sends activations to stage 1 on GPU 1 (ncclSend/ncclRecv)",
          "[2gpu]") {
  const model_spec m = small_bert();
  const int mid = m.layers / 2;
  const tensor input = token_ids(2, 12, m.vocab);
  load_options opts;
  opts.dtype = "fp32";
  const tensor host_path = local_pipeline(m, {0, mid, m.layers}, 1, "cuda", opts).run(input);
  const auto store = net::make_local_store();
  std::vector<tensor> out(2);
  std::atomic<bool> received{false};
  const auto errors = on_threads(2, [&](int r) {
    net::nccl_group link(r, 2, r, store, "test/link");
    load_options ro = opts;
    ro.device = r;
    auto backend = make_backend("cuda");
    backend->load(r == 0 ? make_shard(m, 0, mid) : make_shard(m, mid, m.layers), ro);
    const device_link l = link.as_device_link();
    if (r == 0) {
      // Three messages: the second is one the receiver drops (a shard it does not hold).
      for (int i = 0; i < 3; ++i) out[0] = backend->run_linked(input, {}, nullptr, l);
      // The sends are still queued on the backend's stream: keep the communicator until the
      // receiver has them all (destroying it aborts them).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!received.load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      tensor announced;
      announced.shape = {2, 12, m.hidden};
      out[1] = backend->run_linked(announced, {}, nullptr, l);
      link.discard_from_root(kernels::shape_numel(announced.shape));
      const tensor third = backend->run_linked(announced, {}, nullptr, l);
      received = true;
      if (relative_error(third, out[1]) > 1e-6) throw std::runtime_error("third message differs");
    }
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": " << errors[r]);
    REQUIRE(errors[r].empty());
  }
  CHECK(out[0].data.empty());
  CHECK(out[0].shape == std::vector<int64_t>{2, 12, m.hidden});
  REQUIRE(out[1].shape == host_path.shape);
  CHECK(relative_error(out[1], host_path) < 1e-5);
}

int main(int argc, char** argv) {
  // `--gpus N`: devices the selected cases need; the rest goes to Catch.
  int need = 1;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--gpus" && i + 1 < argc) {
      need = std::atoi(argv[++i]);
      continue;
    }
    args.push_back(argv[i]);
  }
  const int have = cuda_device_count();  // 0 without a driver (error 35) or a GPU (100)
  if (have < need) {
    std::printf("test_cuda_nccl: %d CUDA device(s), these cases need %d: skipping (exit 77)\n",
                have, need);
    return 77;
  }
  return Catch::Session().run(static_cast<int>(args.size()), args.data());
}
