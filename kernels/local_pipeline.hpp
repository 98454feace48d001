#pragma once
// A model split into pp stages x op shards, all in this process: what a group of stage workers
// does, without actors or a network. Op ranks of a stage run on their own threads and all-reduce
// through inprocess_allreduce. Used by tests, benchmarks and the profiler.

#include <memory>
#include <string>
#include <vector>

#include "kernels/device_backend.hpp"

namespace alpaserve::kernels {

class local_pipeline {
 public:
  // boundaries: pp + 1 layer indices, 0 = b_0 < ... < b_pp = model.layers (stage i holds
  // [b_i, b_i+1)); op_size ranks per stage. Loads every shard with `options`.
  local_pipeline(const model_spec& model, std::vector<int> boundaries, int op_size,
                 const std::string& backend_kind, const load_options& options = {});
  // Runs input through every stage; returns rank 0's output of the last stage.
  [[nodiscard]] tensor run(const tensor& input);
  [[nodiscard]] int stages() const noexcept { return static_cast<int>(stages_.size()); }

 private:
  struct stage {
    std::vector<std::unique_ptr<stage_backend>> ranks;  // one backend per op rank
    std::unique_ptr<inprocess_allreduce> group;         // the op ranks' all-reduce
  };
  std::vector<stage> stages_;
};

// Equal split of `layers` into `pp` stages (earlier stages take the remainder).
[[nodiscard]] std::vector<int> even_boundaries(int layers, int pp);

}  // namespace alpaserve::kernels
