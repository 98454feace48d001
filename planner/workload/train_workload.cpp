#include "planner/workload/train_workload.hpp"

#include <algorithm>

#include "planner/workload/arrival_process.hpp"
#include "planner/workload/workload_gen.hpp"

namespace alpaserve::planner {

double train_duration(const std::vector<model_data>& models,
                      const train_workload_options& options) {
  double total_rate = 0;
  for (const auto& m : models) total_rate += m.rate;
  if (!(total_rate > 0)) return options.min_duration;
  return std::max(options.min_duration, options.min_samples / total_rate);
}

workload gen_train_workload(const std::vector<model_data>& models,
                            const train_workload_options& options) {
  std::vector<std::string> names;
  std::vector<arrival_process_ptr> processes;
  for (const auto& m : models) {
    names.push_back(m.name);
    processes.push_back(std::make_unique<gamma_process>(m.rate, m.cv));
  }
  return generate_workload(names, processes, 0.0, train_duration(models, options),
                           options.base_seed);
}

}  // namespace alpaserve::planner
