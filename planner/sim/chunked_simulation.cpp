#include "planner/sim/chunked_simulation.hpp"

#include <algorithm>
#include <cstring>

namespace alpaserve::planner {
namespace {

// One chunk's lane and the memory it writes.
struct chunk_run {
  size_t begin = 0;
  size_t end = 0;
  std::vector<double> clock;
  std::vector<double> start_clock;  // the guessed clocks it started from (k > 0)
  std::vector<double> stage_end;
  std::vector<int64_t> counts;  // per model its good requests, then per group its dispatches
  component_lane lane;

  void reset(const component_lane& layout, const std::vector<double>& from, size_t first,
             size_t last, size_t num_groups, size_t num_models) {
    clock = from;
    stage_end.assign(from.size(), 0.0);
    counts.assign(num_models + num_groups, 0);
    lane = layout;
    lane.arrival = layout.arrival + first;
    lane.local_model = layout.local_model + first;
    lane.n = last - first;
    lane.clock = clock.data();
    lane.stage_end = stage_end.data();
    lane.counts = counts.data();
    lane.latency_sum = 0;
  }
};

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

chunked_totals run_chunked(const component_lane& layout, size_t n,
                           const std::vector<double>& initial, size_t num_groups, size_t num_models,
                           int pp, const chunking& options, uint8_t* good, double* finish) {
  const bool record = good != nullptr && finish != nullptr;
  // The main run of a chunk (not its warm-up) writes its outcomes when recording.
  auto outputs = [&](chunk_run& c) {
    c.lane.good = record ? good + c.begin : nullptr;
    c.lane.finish = record ? finish + c.begin : nullptr;
  };
  auto run = [&](component_lane* const* lanes, size_t count) {
    if (record)
      run_components_recording(lanes, count, pp);
    else if (count == 1)
      run_component(*lanes[0], pp);
    else
      run_components(lanes, count, pp);
  };
  chunked_totals out;
  out.group_num_requests.assign(num_groups, 0);
  out.model_num_good.assign(num_models, 0);
  const size_t target = std::max<size_t>(options.chunk, 1);
  // A multiple of the lanes the kernel interleaves: a remainder would run at half the width.
  constexpr size_t width = component_lanes_at_once;
  const size_t count = n < std::max(options.min_requests, size_t{2})
                           ? 1
                           : (std::max<size_t>(n / target, 2) + width - 1) / width * width;
  const size_t warmup = std::min(options.warmup, n / count);

  std::vector<chunk_run> chunks(count);
  for (size_t k = 0; k < count; ++k) {
    chunks[k].begin = n * k / count;
    chunks[k].end = n * (k + 1) / count;
  }
  // The guesses: chunk k > 0 simulates the warm-up before its start from `initial`.
  if (count > 1) {
    std::vector<component_lane*> lanes;
    for (size_t k = 1; k < count; ++k) {
      chunks[k].reset(layout, initial, chunks[k].begin - warmup, chunks[k].begin, num_groups,
                      num_models);
      lanes.push_back(&chunks[k].lane);
    }
    run_components(lanes.data(), lanes.size(), pp);
  }
  // Every chunk at once, chunk 0 from the true initial clocks, the others from their guesses.
  std::vector<component_lane*> lanes;
  for (size_t k = 0; k < count; ++k) {
    chunk_run& c = chunks[k];
    const std::vector<double> from = k == 0 ? initial : c.clock;
    c.start_clock = from;
    c.reset(layout, from, c.begin, c.end, num_groups, num_models);
    outputs(c);
    lanes.push_back(&c.lane);
  }
  run(lanes.data(), lanes.size());

  // In order: keep a chunk whose guess was the truth, run it again from the truth otherwise.
  for (size_t k = 0; k < count; ++k) {
    chunk_run& c = chunks[k];
    if (k > 0 && !same_bits(c.start_clock, chunks[k - 1].clock)) {
      const std::vector<double> truth = chunks[k - 1].clock;
      c.reset(layout, truth, c.begin, c.end, num_groups, num_models);
      outputs(c);
      component_lane* again = &c.lane;
      run(&again, 1);
      ++out.fixups;
    }
    for (size_t m = 0; m < num_models; ++m) {
      out.model_num_good[m] += c.counts[m];
      out.num_good += c.counts[m];
    }
    for (size_t g = 0; g < num_groups; ++g) out.group_num_requests[g] += c.counts[num_models + g];
    out.latency_sum += c.lane.latency_sum;
  }
  out.chunks = static_cast<int64_t>(count);
  return out;
}

}  // namespace alpaserve::planner
