#pragma once
// One long simulation (planner/sim/component_kernel.hpp) cut into chunks that run interleaved as
// independent lanes, with exactly the outcome of one sequential run.
//
// A simulation is one serial dependency chain (each request's dispatch reads the clocks the
// previous one wrote), so one run is latency bound. Chunk k > 0 cannot know the clocks it starts
// from until chunk k - 1 is done; it guesses them instead: it simulates the `warmup` requests
// before its start from zero clocks and starts from the clocks that gives. In a serving
// workload, load is light enough between bursts that a few thousand requests wash out the
// initial state, and the guess is exactly the true state. Then all chunks run at once, one
// request of several lanes per loop iteration, and the out-of-order core overlaps their chains.
//
// Verification keeps it exact: in chunk order, the clocks a chunk started from are compared
// bit for bit with the true clocks at its start (the previous chunk's end, itself verified).
// A chunk whose guess differs is simulated again from the true clocks, alone. The outcome
// (dispatch counts, good counts) is then per request the sequential one. The latency sum is
// added per chunk and then across chunks in order, so it can differ from one sequential sum in
// the last bits, as the evaluator's per-component sums do.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "planner/sim/component_kernel.hpp"

namespace alpaserve::planner {

struct chunking {
  size_t min_requests = size_t{1} << 19;  // shorter runs stay one sequential lane
  size_t chunk = size_t{1} << 18;         // target requests per chunk
  size_t warmup = 4096;                   // requests simulated before a chunk to guess its clocks
};

struct chunked_totals {
  std::vector<int64_t> group_num_requests;  // num_groups entries
  std::vector<int64_t> model_num_good;      // num_models entries
  int64_t num_good = 0;
  double latency_sum = 0;  // 0 when recording outcomes (they carry it)
  int64_t chunks = 0;      // lanes the run was cut into (1: sequential)
  int64_t fixups = 0;      // chunks whose guessed clocks were wrong and ran again
};

// Simulates `n` requests laid out as `layout` describes (arrival, local_model, hosts, width and
// slo; its n, clock, counters and sums are ignored) from the clocks `initial` (every group's
// stage clocks, then whatever slots the host lists point at, e.g. a +inf sentinel). `pp`: the
// fixed stage count of every group (1, 2, 4 or 8). The lanes' counts arrays hold num_models
// good counters, then num_groups dispatch counters: a host entry's count_slot is num_models plus
// its group.
// With `good` and `finish` set, each request's outcome is written there too (n entries, stream
// order; a re-run chunk overwrites its guessed outcomes).
[[nodiscard]] chunked_totals run_chunked(const component_lane& layout, size_t n,
                                         const std::vector<double>& initial, size_t num_groups,
                                         size_t num_models, int pp, const chunking& options,
                                         uint8_t* good = nullptr, double* finish = nullptr);

}  // namespace alpaserve::planner
