#pragma once
// The batch rule, shared by the event simulator (planner/sim/event_simulator.cpp) and the runtime's
// group manager (actors/batch_queue.hpp), so that both form the same batches
// (docs/event-simulator.md "Batching", docs/runtime.md "Batching").
//
// When stage 0 of a group is free and requests wait, the batch is the FIFO head and the requests
// directly behind it that belong with it (same model; the runtime also needs tensors that
// concatenate), at most the model's max batch size: a request that does not belong ends the run,
// so FCFS order is never broken. The batch size is the largest supported size (1, 2, 4, 8, 16)
// that fits in the run, that the model's profile has for the group's config, at which batching
// pays (the batch frees no stage later than the same requests sent one by one at batch 1 would:
// planner::batch_no_later, dispatch_rule.hpp), and with which the head (the earliest deadline of
// the batch) would still finish by its deadline if no later stage made it wait: now + sum of the
// stage latencies at that size + hops + reply.
//
// Concurrency: plain functions of their arguments.

#include <array>
#include <cstddef>
#include <vector>

#include "planner/profile/profile.hpp"
#include "planner/sim/dispatch_rule.hpp"

namespace alpaserve::planner {

// batch_latency_table, batch_slot: planner/sim/dispatch_rule.hpp (admission uses them too).

// How many of the `available` requests at the FIFO head form the run the batch is chosen from:
// 1 + the consecutive requests behind the head for which belongs(i) (i = 1, 2, ...) holds, at
// most max_batch (>= 1).
template <class BelongsFn>
[[nodiscard]] int fcfs_run(size_t available, int max_batch, const BelongsFn& belongs) {
  if (available == 0) return 0;
  int run = 1;
  while (run < max_batch && static_cast<size_t>(run) < available &&
         belongs(static_cast<size_t>(run)))
    ++run;
  return run;
}

// Predicted finish of a batch entering stage 0 at `now` with per-stage latencies `stage_latency`
// when no later stage makes it wait: now + sum of latencies + hops + reply.
[[nodiscard]] double batch_finish(double now, const std::vector<double>& stage_latency,
                                  const dispatch_overheads& overheads) noexcept;

// The batch size for a run of `run` (>= 1) requests starting at stage 0 at `now`: the largest
// supported size <= run that is profiled, at which batching pays (lat.pays(slot): the batch's
// last member, and every request behind it, finishes no later than sent one by one), and whose
// batch_finish meets earliest_deadline(size), the
// earliest deadline among the first `size` requests of the run (the head's when they share an
// SLO, as in the simulator). 1 when no larger size qualifies (the head runs alone, even when it
// will be late).
template <class EarliestDeadlineFn>
[[nodiscard]] int choose_batch_size(double now, int run, const batch_latency_table& lat,
                                    const dispatch_overheads& overheads,
                                    const EarliestDeadlineFn& earliest_deadline) {
  for (int slot = batch_slot(run); slot > 0; --slot) {
    const std::vector<double>* l = lat.by_slot[static_cast<size_t>(slot)];
    if (l == nullptr || !lat.pays(slot)) continue;
    const int size = supported_batch_sizes[slot];
    if (batch_finish(now, *l, overheads) <= earliest_deadline(size)) return size;
  }
  return 1;
}

// The same when the head holds the earliest deadline of every candidate batch.
[[nodiscard]] inline int choose_batch_size(double now, int run, double head_deadline,
                                           const batch_latency_table& lat,
                                           const dispatch_overheads& overheads) {
  return choose_batch_size(now, run, lat, overheads,
                           [head_deadline](int) { return head_deadline; });
}

}  // namespace alpaserve::planner
