#include "planner/sim/component_kernel.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "planner/sim/component_kernel_variants.hpp"

namespace alpaserve::planner {
namespace {

bool cpu_has_avx512() {
#if defined(__x86_64__) && defined(ALPASERVE_HAVE_AVX512_KERNEL) && \
    (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

kernel_isa default_isa() {
  const char* env = std::getenv("ALPASERVE_KERNEL");
  if (env != nullptr && std::strcmp(env, "portable") == 0) return kernel_isa::portable;
  return cpu_has_avx512() ? kernel_isa::avx512 : kernel_isa::portable;
}

std::atomic<kernel_isa>& selected() {
  static std::atomic<kernel_isa> isa{default_isa()};
  return isa;
}

}  // namespace

kernel_isa active_kernel_isa() {
  return selected().load(std::memory_order_relaxed);
}

std::string kernel_isa_name(kernel_isa isa) {
  return isa == kernel_isa::avx512 ? "avx512" : "portable";
}

bool kernel_isa_supported(kernel_isa isa) {
  return isa == kernel_isa::portable || cpu_has_avx512();
}

void force_kernel_isa(kernel_isa isa) {
  if (!kernel_isa_supported(isa))
    throw std::invalid_argument("kernel " + kernel_isa_name(isa) + " is not supported here");
  selected().store(isa, std::memory_order_relaxed);
}

void run_component(component_lane& lane, int pp, const int32_t* index, uint8_t* good,
                   double* finish) {
  if (active_kernel_isa() == kernel_isa::avx512) {
    kernel_avx512::run_component(lane, pp, index, good, finish);
  } else {
    kernel_portable::run_component(lane, pp, index, good, finish);
  }
}

void run_components(component_lane* const* lanes, size_t count, int pp) {
  if (active_kernel_isa() == kernel_isa::avx512) {
    kernel_avx512::run_components(lanes, count, pp, false);
  } else {
    kernel_portable::run_components(lanes, count, pp, false);
  }
}

void run_components_recording(component_lane* const* lanes, size_t count, int pp) {
  if (active_kernel_isa() == kernel_isa::avx512) {
    kernel_avx512::run_components(lanes, count, pp, true);
  } else {
    kernel_portable::run_components(lanes, count, pp, true);
  }
}

}  // namespace alpaserve::planner
