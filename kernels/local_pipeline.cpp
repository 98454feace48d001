#include "kernels/local_pipeline.hpp"

#include <exception>
#include <stdexcept>
#include <thread>

namespace alpaserve::kernels {

std::vector<int> even_boundaries(int layers, int pp) {
  if (pp < 1 || pp > std::max(layers, 1))
    throw std::invalid_argument("cannot split " + std::to_string(layers) + " layers into " +
                                std::to_string(pp) + " stages");
  std::vector<int> b{0};
  for (int i = 0; i < pp; ++i) b.push_back(b.back() + layers / pp + (i < layers % pp ? 1 : 0));
  return b;
}

local_pipeline::local_pipeline(const model_spec& model, std::vector<int> boundaries, int op_size,
                               const std::string& backend_kind, const load_options& options) {
  if (boundaries.size() < 2 || boundaries.front() != 0 || boundaries.back() != model.layers)
    throw std::invalid_argument("stage boundaries must run from 0 to the number of layers");
  for (size_t i = 0; i + 1 < boundaries.size(); ++i) {
    stage s;
    s.group = std::make_unique<inprocess_allreduce>(op_size);
    for (int r = 0; r < op_size; ++r) {
      auto backend = make_backend(backend_kind);
      backend->load(make_shard(model, boundaries[i], boundaries[i + 1], r, op_size), options);
      s.ranks.push_back(std::move(backend));
    }
    stages_.push_back(std::move(s));
  }
}

tensor local_pipeline::run(const tensor& input) {
  tensor x = input;
  for (auto& s : stages_) {
    const int n = static_cast<int>(s.ranks.size());
    if (n == 1) {
      x = s.ranks[0]->run(x, {});
      continue;
    }
    std::vector<tensor> out(n);
    std::vector<std::exception_ptr> errors(n);
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r)
      threads.emplace_back([&, r] {
        try {
          out[r] = s.ranks[r]->run(x, s.group->for_rank(r));
        } catch (...) {
          errors[r] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    x = std::move(out[0]);
  }
  return x;
}

}  // namespace alpaserve::kernels
