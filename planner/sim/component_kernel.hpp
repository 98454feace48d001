#pragma once
// The simulation loop of one connected component of a placement: the reference's
// simulate_requests_mixed (../shared/reference/alpaserve.md section 4.2) over the component's
// request stream, as planner/policy/placement_evaluator.cpp lays it out.
//
// One simulation is latency bound: each request's dispatch reads the stage clocks the previous
// request wrote, a serial chain of loads, compares, max and add. Independent simulations have
// independent chains, so run_components() advances several of them in one loop (one request of
// each per iteration) and the out-of-order core overlaps their chains. Each lane's arithmetic is
// exactly that of a lone run, so the outcomes are bit-identical.

#include <cstddef>
#include <cstdint>

namespace alpaserve::planner {

// Where a model of a component can be dispatched: one hosting group.
struct host_entry {
  int32_t count_slot;  // the group's dispatched-requests counter in component_lane::counts
  int32_t offset;      // first stage clock of the group
  int32_t last;        // last stage clock (dispatch compares it)
  int32_t pp;
  const double* latency;  // pp stage latencies (+inf when the config is unprofiled)
  double latency0;        // latency[0], inline for the single-stage loop
};

// One component simulation, laid out for the loop. Results accumulate in the counters.
struct component_lane {
  const double* arrival = nullptr;       // per request of the stream
  const int32_t* local_model = nullptr;  // per request: index into slo and the host lists
  size_t n = 0;                          // requests in the stream
  // `width` entries per local model, ascending group; shorter lists are padded with entries
  // whose clock slot holds +inf, so they never win the dispatch.
  const host_entry* hosts = nullptr;
  int32_t width = 1;
  const double* slo = nullptr;  // per local model
  double* clock = nullptr;      // stage clocks, all 0 at the start
  double* stage_end = nullptr;  // scratch as long as clock (mixed stage counts only)
  // Per local model its accepted requests, then per group its dispatched requests (rejected
  // included): one array, so one pointer less per lane in the loop. The total of accepted
  // requests is not counted per request (the caller sums the per-model counts).
  int64_t* counts = nullptr;
  double latency_sum = 0;
  // run_components_recording only: per request of the stream, its good flag and finish time
  // (the arrival when rejected), in stream order.
  uint8_t* good = nullptr;
  double* finish = nullptr;
};

// Runs one lane. pp: 1, 2, 4 or 8 when every group has that many stages, 0 for any mix. When
// `good` is set, good[index[i]] and finish[index[i]] receive each request's outcome.
void run_component(component_lane& lane, int pp, const int32_t* index = nullptr,
                   uint8_t* good = nullptr, double* finish = nullptr);

// How many lanes run_components() interleaves (fewer only when fewer are left).
inline constexpr size_t component_lanes_at_once = 4;

// Runs `count` lanes whose groups all have `pp` stages (1, 2, 4 or 8), several at a time
// interleaved. Same results as run_component() on each.
void run_components(component_lane* const* lanes, size_t count, int pp);
// The same, and every lane also writes each request's outcome to its good / finish arrays;
// latency_sum is then not accumulated (it follows from the outcomes).
void run_components_recording(component_lane* const* lanes, size_t count, int pp);

}  // namespace alpaserve::planner
