#include "net/gloo_group.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <gloo/allreduce.h>
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
  } catch (const std::exception& e) {
    throw std::runtime_error(
        fmt::format("gloo group '{}' rank {}/{} on {}: {}", prefix, rank, size, host, e.what()));
  }
}

gloo_group::~gloo_group() = default;

void gloo_group::allreduce(float* data, size_t count) {
  if (size_ == 1 || count == 0) return;
  gloo::AllreduceOptions opts(impl_->context);
  opts.setOutput(data, count);
  opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
  opts.setReduceFunction(
      static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
  gloo::allreduce(opts);
}

kernels::allreduce_fn gloo_group::as_allreduce_fn() {
  return [this](float* data, size_t count) { allreduce(data, count); };
}

}  // namespace alpaserve::net
