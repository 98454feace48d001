#pragma once
// The simulation loops behind planner/sim/component_kernel.hpp, compiled twice: once for any x86-64
// (component_kernel_portable.cpp, SSE2) and once with AVX-512 (component_kernel_avx512.cpp),
// picked at run time by component_kernel.cpp. Include only from those two files, after defining
// ALPASERVE_KERNEL_NS (each copy lives in its own namespace).
//
// What AVX-512 changes: acceptance becomes an opmask (vcmplesd / vcmppd into k), so the stage
// clocks are committed with one masked store instead of and/max/store per pair, the accepted-count
// comes from the mask and the latency sum is a masked add. Per element these are the same values as
// the SSE2 path (a masked store writes the stage end exactly where max(clock, end & mask) = end,
// and leaves the clock where that max = clock), so the outcomes are bit-identical; a test compares
// the two.

#ifndef ALPASERVE_KERNEL_NS
#error "define ALPASERVE_KERNEL_NS before including component_kernel_loops.hpp"
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "planner/sim/component_kernel.hpp"
#include "planner/sim/component_kernel_variants.hpp"

// The mask path needs AVX-512F with 128/256-bit forms (VL).
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VL__)
#define ALPASERVE_KERNEL_MASKED 1
#else
#define ALPASERVE_KERNEL_MASKED 0
#endif

// Inline-asm spelling: VEX forms where AVX is enabled (no mixing of legacy SSE with AVX-512 code,
// which costs on some Intel cores), legacy SSE2 otherwise. The operands are in the same order.
#if defined(__AVX__)
#define ALPASERVE_V "v"
#define ALPASERVE_DST3(d) ", %[" #d "]"
#else
#define ALPASERVE_V ""
#define ALPASERVE_DST3(d) ""
#endif

namespace alpaserve::planner::ALPASERVE_KERNEL_NS {

constexpr double fixed_overhead = 0.011;  // section 4.2

// Branch-free selects, spelled out on x86-64 (with several lanes unrolled GCC turns plain ?:,
// std::min and std::max into branches, and which host wins a dispatch and whether a request is
// accepted are unpredictable).

// x < y ? a : b for 4- or 8-byte integers and pointers: a conditional move.
template <typename T>
[[gnu::always_inline]] inline T less(double x, double y, T a, T b) {
#if defined(__x86_64__)
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  // ucomisd sets CF when y < x, ZF when equal or unordered; cmova moves when y > x.
  asm(ALPASERVE_V "ucomisd %[x], %[y]\n\tcmova %[a], %[b]"
      : [b] "+r"(b)
      : [x] "x"(x), [y] "x"(y), [a] "r"(a)
      : "cc");
  return b;
#else
  return x < y ? a : b;
#endif
}

// std::min(x, y) = y < x ? y : x (minsd y, x).
[[gnu::always_inline]] inline double min_of(double x, double y) {
#if defined(__x86_64__)
  asm(ALPASERVE_V "minsd %[x], %[y]" ALPASERVE_DST3(y) : [y] "+x"(y) : [x] "x"(x));
  return y;
#else
  return std::min(x, y);
#endif
}

// std::max(x, y) = x < y ? y : x (maxsd y, x).
[[gnu::always_inline]] inline double max_of(double x, double y) {
#if defined(__x86_64__)
  asm(ALPASERVE_V "maxsd %[x], %[y]" ALPASERVE_DST3(y) : [y] "+x"(y) : [x] "x"(x));
  return y;
#else
  return std::max(x, y);
#endif
}

// Acceptance as a mask: all bits set when latency <= slo, else 0 (cmplesd; NaN gives 0).
struct accept_mask {
  double bits;
};
[[gnu::always_inline]] inline accept_mask accepted(double latency, double slo) {
#if defined(__x86_64__)
  asm(ALPASERVE_V "cmplesd %[s], %[l]" ALPASERVE_DST3(l) : [l] "+x"(latency) : [s] "x"(slo));
  return {latency};
#else
  uint64_t b = latency <= slo ? ~uint64_t{0} : 0;
  double out;
  std::memcpy(&out, &b, sizeof out);
  return {out};
#endif
}

// accepted ? 1 : 0, from the mask's low bit (movq, and: fewer instructions than a second
// compare and setcc).
[[gnu::always_inline]] inline int64_t one_if(accept_mask m) {
  uint64_t b;
  std::memcpy(&b, &m.bits, sizeof b);
  return static_cast<int64_t>(b & 1);
}

// accepted ? x : +0.0 (andpd).
[[gnu::always_inline]] inline double masked(double x, accept_mask m) {
#if defined(__x86_64__)
  asm(ALPASERVE_V "andpd %[m], %[x]" ALPASERVE_DST3(x) : [x] "+x"(x) : [m] "x"(m.bits));
  return x;
#else
  uint64_t a;
  uint64_t b;
  std::memcpy(&a, &x, sizeof a);
  std::memcpy(&b, &m.bits, sizeof b);
  a &= b;
  std::memcpy(&x, &a, sizeof x);
  return x;
#endif
}

// accepted ? end : clock, for end >= clock >= +0.0 (a stage end never precedes its clock, and
// clocks start at 0 and only take stage ends): max(clock, accepted ? end : +0.0).
[[gnu::always_inline]] inline double commit(double clock, double end, accept_mask m) {
  return max_of(clock, masked(end, m));
}

// commit() of PP stage clocks two at a time (SSE2 andpd/maxpd: per element the same operations,
// so the same bits; fewer instructions in the throughput-bound interleaved loop).
template <int PP>
[[gnu::always_inline]] inline void commit_pairs(double* ck, const double* se, accept_mask m) {
#if defined(__x86_64__)
  const __m128d mask = _mm_set1_pd(m.bits);
  for (int k = 0; k < PP; k += 2) {
    const __m128d end = _mm_and_pd(_mm_set_pd(se[k + 1], se[k]), mask);
    // maxpd a, b = a > b ? a : b per element, as max_of(clock, end) = end > clock ? end : clock.
    _mm_storeu_pd(ck + k, _mm_max_pd(end, _mm_loadu_pd(ck + k)));
  }
#else
  for (int k = 0; k < PP; ++k) ck[k] = commit(ck[k], se[k], m);
#endif
}

#if ALPASERVE_KERNEL_MASKED
// sum + (mask bit 0 ? x : nothing): a masked add. Adding +0.0 instead (the SSE2 path) leaves
// the sum's bits unchanged too (the sum is never -0.0).
[[gnu::always_inline]] inline double masked_add(double sum, double x, __mmask8 m) {
  // Inline asm on the scalar registers: the intrinsics' _mm_set_sd would zero the upper half of
  // each operand first (an extra vmovq per operand in the loop).
  asm("vaddsd %[x], %[s], %[s]%{%[m]%}" : [s] "+v"(sum) : [x] "v"(x), [m] "Yk"(m));
  return sum;
}

// latency <= slo as an opmask, bit 0 only (vcmplesd; NaN gives 0).
[[gnu::always_inline]] inline __mmask8 accepted_bit(double latency, double slo) {
  __mmask8 k;
  asm("vcmplesd %[s], %[l], %[k]" : [k] "=Yk"(k) : [l] "v"(latency), [s] "v"(slo));
  return k;
}

// *p = x where mask bit 0 is set (a masked scalar store; *p is left alone otherwise).
[[gnu::always_inline]] inline void store_if(double* p, double x, __mmask8 m) {
  asm("vmovsd %[x], %[p]%{%[m]%}" : [p] "+m"(*p) : [x] "v"(x), [m] "Yk"(m));
}

// The PP stage ends stored where accepted, in one masked store (PP = 2, 4 or 8).
template <int PP>
[[gnu::always_inline]] inline void commit_masked(double* ck, const double* se, __mmask8 m) {
  if constexpr (PP == 2) {
    _mm_mask_storeu_pd(ck, m, _mm_set_pd(se[1], se[0]));
  } else if constexpr (PP == 4) {
    _mm256_mask_storeu_pd(ck, m, _mm256_set_pd(se[3], se[2], se[1], se[0]));
  } else {
    static_assert(PP == 8);
    _mm512_mask_storeu_pd(ck, m,
                          _mm512_set_pd(se[7], se[6], se[5], se[4], se[3], se[2], se[1], se[0]));
  }
}
#endif

// One request of one lane. PP > 0: every group has PP stages (the loops unroll); PP == 0: any
// mix. Dispatch, stage recurrence and acceptance are branch-free selects; the latency sum adds
// 0.0 for rejected requests, which leaves it bit-identical to adding only accepted ones.
// W > 0: every host list has W entries (lane.width == W), so the dispatch loop unrolls fully.
// Out: also write the outcome to lane.good[i] / lane.finish[i] (stream order), and leave the
// latency sum alone (the outcomes carry it; one dependent add less per request).
template <int PP, bool Record, int W = 0, bool Out = false>
[[gnu::always_inline]] inline void step(component_lane& lane, size_t i, const int32_t* index,
                                        uint8_t* good_out, double* finish_out) {
  const double a = lane.arrival[i];
  const int32_t lm = lane.local_model[i];
  const ptrdiff_t width = W > 0 ? W : lane.width;
  const host_entry* h = lane.hosts + static_cast<ptrdiff_t>(lm) * width;
  double* const clock = lane.clock;
  const host_entry* best = h;
  double best_clock = clock[h->last];
  if constexpr (W == 4) {
    // A tree: the two pairs, then their winners. Two compares on the chain the next request
    // waits on instead of three; each keeps the left (lower) entry on a tie, so the winner and
    // its clock are the linear scan's.
    const double c1 = clock[h[1].last];
    const double c2 = clock[h[2].last];
    const double c3 = clock[h[3].last];
    const host_entry* const b01 = less(c1, best_clock, h + 1, h);
    const double m01 = min_of(best_clock, c1);
    const host_entry* const b23 = less(c3, c2, h + 3, h + 2);
    const double m23 = min_of(c2, c3);
    best = less(m23, m01, b23, b01);
    best_clock = min_of(m01, m23);
  } else if constexpr (W > 0) {
#pragma GCC unroll 8
    for (int j = 1; j < W; ++j) {
      const double c = clock[h[j].last];
      best = less(c, best_clock, h + j, best);  // strict: the lowest group index wins ties
      best_clock = min_of(best_clock, c);
    }
  } else {
    const host_entry* const end = h + width;
    for (++h; h < end; ++h) {
      const double c = clock[h->last];
      best = less(c, best_clock, h, best);  // strict: the lowest group index wins ties
      best_clock = min_of(best_clock, c);
    }
  }
  if constexpr (PP == 1 && !Record) {
    // One stage: its clock is the one the dispatch compared.
    const double t = max_of(a, best_clock) + best->latency0;
    const double done = t + fixed_overhead;
    const double latency = done - a;
    ++lane.counts[best->count_slot];
    const double slo = lane.slo[lm];
#if ALPASERVE_KERNEL_MASKED
    const __mmask8 k = accepted_bit(latency, slo);
    store_if(clock + best->offset, t, k);
    const int64_t ok = static_cast<int64_t>(_cvtmask8_u32(k));
    lane.counts[lm] += ok;
    if constexpr (!Out) lane.latency_sum = masked_add(lane.latency_sum, latency, k);
#else
    const accept_mask m = accepted(latency, slo);
    clock[best->offset] = commit(best_clock, t, m);
    const int64_t ok = one_if(m);
    lane.counts[lm] += ok;
    if constexpr (!Out) lane.latency_sum += masked(latency, m);
#endif
    if constexpr (Out) {
      lane.good[i] = static_cast<uint8_t>(ok);
      lane.finish[i] = ok ? done : a;
    }
  } else {
    double* const ck = clock + best->offset;
    // A fixed stage count keeps the stage ends in registers.
    double local_end[PP > 0 ? PP : 1];
    double* const se = PP > 0 ? local_end : lane.stage_end + best->offset;
    const double* const lat = best->latency;
    const int pp = PP > 0 ? PP : best->pp;
    double t = a;
    for (int k = 0; k < pp; ++k) {
      t = max_of(t, ck[k]) + lat[k];
      se[k] = t;
    }
    const double done = t + fixed_overhead;
    const double latency = done - a;
    ++lane.counts[best->count_slot];
    const double slo = lane.slo[lm];
#if ALPASERVE_KERNEL_MASKED
    // All 8 mask bits from one compare, so a vector store of 2, 4 or 8 stage ends can use it.
    const __mmask8 km =
        _mm512_cmp_pd_mask(_mm512_set1_pd(latency), _mm512_set1_pd(slo), _CMP_LE_OQ);
    const int64_t ok = static_cast<int64_t>(_cvtmask8_u32(km) & 1);
    if constexpr (PP >= 2) {
      commit_masked<PP>(ck, se, km);
    } else {
      for (int k = 0; k < pp; ++k) store_if(ck + k, se[k], km);
    }
    lane.counts[lm] += ok;
    if constexpr (!Out) lane.latency_sum = masked_add(lane.latency_sum, latency, km);
#else
    const accept_mask m = accepted(latency, slo);
    const int64_t ok = one_if(m);
    if constexpr (PP >= 2) {
      commit_pairs<PP>(ck, se, m);
    } else {
      for (int k = 0; k < pp; ++k) ck[k] = commit(ck[k], se[k], m);
    }
    lane.counts[lm] += ok;
    if constexpr (!Out) lane.latency_sum += masked(latency, m);
#endif
    if constexpr (Record) {
      good_out[index[i]] = ok ? 1 : 0;
      finish_out[index[i]] = ok ? done : a;
    }
    if constexpr (Out) {
      lane.good[i] = static_cast<uint8_t>(ok);
      lane.finish[i] = ok ? done : a;
    }
  }
}

template <int PP, bool Record, int W = 0, bool Out = false>
void run_one(component_lane& shared, const int32_t* index, uint8_t* good, double* finish) {
  component_lane lane = shared;  // a local copy: its counters stay in registers
  for (size_t i = 0; i < lane.n; ++i) step<PP, Record, W, Out>(lane, i, index, good, finish);
  shared.latency_sum = lane.latency_sum;
}

// K lanes at a time; a lane that finishes takes the next one from the queue. When the queue is
// empty, the unfinished lanes continue with K / 2 at a time.
template <int PP, int K, int W, bool Out = false>
void run_lanes(component_lane* const* queue, size_t count) {
  if constexpr (K == 1) {
    for (size_t j = 0; j < count; ++j)
      run_one<PP, false, W, Out>(*queue[j], nullptr, nullptr, nullptr);
  } else {
    if (count < static_cast<size_t>(K)) {
      run_lanes<PP, K / 2, W, Out>(queue, count);
      return;
    }
    component_lane lane[K];
    component_lane* source[K];
    size_t next = 0;
    for (int l = 0; l < K; ++l) {
      source[l] = queue[next];
      lane[l] = *queue[next++];
    }
    for (bool exhausted = false; !exhausted;) {
      size_t steps = lane[0].n;
      for (int l = 1; l < K; ++l) steps = std::min(steps, lane[l].n);
      for (size_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
        for (int l = 0; l < K; ++l) step<PP, false, W, Out>(lane[l], s, nullptr, nullptr, nullptr);
      }
      for (int l = 0; l < K; ++l) {
        lane[l].arrival += steps;
        lane[l].local_model += steps;
        if constexpr (Out) {
          lane[l].good += steps;
          lane[l].finish += steps;
        }
        lane[l].n -= steps;
        while (lane[l].n == 0 && source[l] != nullptr) {
          source[l]->latency_sum = lane[l].latency_sum;
          if (next < count) {
            source[l] = queue[next];
            lane[l] = *queue[next++];
          } else {
            source[l] = nullptr;
            exhausted = true;
          }
        }
      }
    }
    // Unfinished lanes carry on from where they are, counters included.
    component_lane rest[K];
    component_lane* rest_queue[K] = {};
    size_t r = 0;
    for (int l = 0; l < K; ++l) {
      if (source[l] == nullptr) continue;
      rest[r] = lane[l];
      rest_queue[r] = &rest[r];
      ++r;
    }
    run_lanes<PP, K / 2, W, Out>(rest_queue, r);
    r = 0;
    for (int l = 0; l < K; ++l) {
      if (source[l] == nullptr) continue;
      source[l]->latency_sum = rest[r].latency_sum;
      ++r;
    }
  }
}

constexpr int lanes_at_once = static_cast<int>(component_lanes_at_once);

// Lanes of one stage count, by host-list width: 1 to 6 (96 % of mp-search-sep's requests) get a
// fully unrolled dispatch, wider lists the loop.
template <int PP, bool Out = false>
void run_by_width(component_lane* const* lanes, size_t count) {
  std::vector<component_lane*> batch;
  batch.reserve(count);
  auto run = [&](auto width) {
    constexpr int W = decltype(width)::value;
    batch.clear();
    for (size_t j = 0; j < count; ++j) {
      const int32_t w = lanes[j]->width;
      if (W > 0 ? w == W : (w < 1 || w > 6)) batch.push_back(lanes[j]);
    }
    if (!batch.empty()) run_lanes<PP, lanes_at_once, W, Out>(batch.data(), batch.size());
  };
  run(std::integral_constant<int, 1>{});
  run(std::integral_constant<int, 2>{});
  run(std::integral_constant<int, 3>{});
  run(std::integral_constant<int, 4>{});
  run(std::integral_constant<int, 5>{});
  run(std::integral_constant<int, 6>{});
  run(std::integral_constant<int, 0>{});
}

template <bool Out>
void run_sorted(component_lane* const* given, size_t count, int pp) {
  // Longest first: the lanes still running when the queue runs dry are then short ones.
  std::vector<component_lane*> order(given, given + count);
  std::stable_sort(order.begin(), order.end(),
                   [](const component_lane* x, const component_lane* y) { return x->n > y->n; });
  component_lane* const* lanes = order.data();
  switch (pp) {
    case 1:
      run_by_width<1, Out>(lanes, count);
      break;
    case 2:
      run_by_width<2, Out>(lanes, count);
      break;
    case 4:
      run_by_width<4, Out>(lanes, count);
      break;
    case 8:
      run_by_width<8, Out>(lanes, count);
      break;
    default:
      for (size_t j = 0; j < count; ++j)
        run_one<0, false, 0, Out>(*lanes[j], nullptr, nullptr, nullptr);
      break;
  }
}

void run_component(component_lane& lane, int pp, const int32_t* index, uint8_t* good,
                   double* finish) {
  if (good != nullptr) {
    run_one<0, true>(lane, index, good, finish);
    return;
  }
  switch (pp) {
    case 1:
      run_one<1, false>(lane, nullptr, nullptr, nullptr);
      break;
    case 2:
      run_one<2, false>(lane, nullptr, nullptr, nullptr);
      break;
    case 4:
      run_one<4, false>(lane, nullptr, nullptr, nullptr);
      break;
    case 8:
      run_one<8, false>(lane, nullptr, nullptr, nullptr);
      break;
    default:
      run_one<0, false>(lane, nullptr, nullptr, nullptr);
      break;
  }
}

void run_components(component_lane* const* lanes, size_t count, int pp, bool record) {
  if (record) {
    run_sorted<true>(lanes, count, pp);
  } else {
    run_sorted<false>(lanes, count, pp);
  }
}

}  // namespace alpaserve::planner::ALPASERVE_KERNEL_NS

#undef ALPASERVE_V
#undef ALPASERVE_DST3
