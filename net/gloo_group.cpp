#include "net/gloo_group.hpp"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <gloo/allreduce_ring.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

namespace alpaserve::net {
namespace {

// Gloo's Store interface over our two functions.
class store_adapter final : public gloo::rendezvous::Store {
 public:
  store_adapter(const rendezvous_store& store, std::chrono::milliseconds timeout)
      : store_(store), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override {
    store_.set(key, std::string(data.begin(), data.end()));
  }
  std::vector<char> get(const std::string& key) override {
    const std::string v = store_.get(key, timeout_);
    return {v.begin(), v.end()};
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& t) override {
    for (const auto& k : keys) (void)store_.get(k, t);
  }

 private:
  const rendezvous_store& store_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

rendezvous_store make_local_store() {
  struct shared {
    std::mutex mutex;
    std::condition_variable cv;
    std::map<std::string, std::string> values;
  };
  auto s = std::make_shared<shared>();
  rendezvous_store out;
  out.set = [s](const std::string& key, const std::string& value) {
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->values[key] = value;
    }
    s->cv.notify_all();
  };
  out.get = [s](const std::string& key, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(s->mutex);
    if (!s->cv.wait_for(lock, timeout, [&] { return s->values.count(key) > 0; }))
      throw std::runtime_error(
          fmt::format("rendezvous: key '{}' not set within {} ms", key, timeout.count()));
    return s->values.at(key);
  };
  return out;
}

struct gloo_group::impl {
  std::shared_ptr<gloo::transport::Device> device;
  std::shared_ptr<gloo::rendezvous::Context> context;
  // Ring all-reduces over bound buffers, one per element count, each over its own staging
  // buffer (the callers' pointers differ per rank and may change). Every rank meets the counts
  // in the same order, so they create, and evict, the same rings in the same order and their
  // slots match. Most recently used first.
  struct ring {
    size_t count = 0;
    std::vector<float> staging;
    std::unique_ptr<gloo::AllreduceRing<float>> algorithm;
  };
  std::list<ring> rings;
  static constexpr size_t max_rings = 32;  // distinct (batch, seq) shapes kept ready

  ring& ring_for(size_t count) {
    auto it =
        std::find_if(rings.begin(), rings.end(), [&](const ring& r) { return r.count == count; });
    if (it != rings.end()) {
      rings.splice(rings.begin(), rings, it);
      return rings.front();
    }
    if (rings.size() >= max_rings) rings.pop_back();
    ring r;
    r.count = count;
    r.staging.resize(count);
    r.algorithm = std::make_unique<gloo::AllreduceRing<float>>(
        context, std::vector<float*>{r.staging.data()}, static_cast<int>(count));
    rings.push_front(std::move(r));
    return rings.front();
  }
};

gloo_group::gloo_group(int rank, int size, const std::string& host, const rendezvous_store& store,
                       const std::string& prefix, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()), rank_(rank), size_(size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument(fmt::format("gloo group: rank {} of {}", rank, size));
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = host;
    impl_->device = gloo::transport::tcp::CreateDevice(attr);
    impl_->context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    impl_->context->setTimeout(timeout);
    store_adapter adapter(store, timeout);
    gloo::rendezvous::PrefixStore prefixed(prefix, adapter);
    impl_->context->connectFullMesh(prefixed, impl_->device);
    // Sync sockets: the rank's own thread reads and writes its sockets and sleeps in recv(2)
    // until the peer's data is there. Gloo's default (its device loop thread reads, then wakes
    // the rank) costs two wake-ups per message and a third thread competing for the cores,
    // which on a small machine made tensor-parallel stages slower than one rank and their
    // times several-fold noisy (docs/real-execution.md). No busy polling: the cores stay free
    // for the compute of other stages.
    for (int peer = 0; peer < size; ++peer)
      if (peer != rank) impl_->context->getPair(peer)->setSync(true, false);
  } catch (const std::exception& e) {
    throw std::runtime_error(
        fmt::format("gloo group '{}' rank {}/{} on {}: {}", prefix, rank, size, host, e.what()));
  }
}

gloo_group::~gloo_group() = default;

void gloo_group::allreduce(float* data, size_t count) {
  if (size_ == 1 || count == 0) return;
  if (count > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw std::invalid_argument(fmt::format("gloo all-reduce of {} floats", count));
  impl::ring& r = impl_->ring_for(count);
  std::copy(data, data + count, r.staging.data());
  r.algorithm->run();
  std::copy(r.staging.begin(), r.staging.end(), data);
}

kernels::allreduce_fn gloo_group::as_allreduce_fn() {
  return [this](float* data, size_t count) { allreduce(data, count); };
}

}  // namespace alpaserve::net
